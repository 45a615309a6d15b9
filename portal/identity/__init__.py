"""Organisations, users, roles, invitations, sign-in and password reset.

``bp`` is the blueprint; ``init_app`` adds the routes of ``views`` (sign-in, account) and
``admin_views`` (people and organisations) and ``org_views`` (the organisation page) to it, so
importing the models alone pulls in no views, registers the invitations' expiry tick and the
home page's account-manager panel.
"""

from flask import Blueprint

bp = Blueprint("identity", __name__)


def init_app(app) -> None:
    from portal import export, jobs, panels, search
    from portal.identity import (
        admin_views,
        exports,
        home,
        org_views,
        queries,
        search_source,
        services,
        views,
    )

    views.routes.add_to(bp)
    admin_views.routes.add_to(bp)
    org_views.routes.add_to(bp)
    from portal.identity import security

    security.init_app(app, bp)  # the Security pages and the second step of a sign-in
    from portal.identity import personal_data

    personal_data.init_app(app, bp)  # My data; a member's export and erasure
    app.register_blueprint(bp)
    search.add_source(*search_source.SOURCES)
    export.add(*exports.SOURCES)
    jobs.add_periodic("expire_invitations", services.expire_invitations)
    panels.add("home", *home.PANELS)
    # One line on cases and quotes (templates/identity/_account_manager.html) asks for it.
    app.add_template_global(queries.account_manager_for, "account_manager")
    from portal import seed as demo
    from portal.identity import seed

    demo.add_seeder(seed.seed_account_managers)
