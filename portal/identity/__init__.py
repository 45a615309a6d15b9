"""Organisations, users, roles, invitations, sign-in and password reset.

``bp`` is the blueprint; ``init_app`` adds the routes of ``views`` (sign-in, account) and
``admin_views`` (people and organisations) to it, so importing the models alone pulls in no
views, and registers the invitations' expiry tick.
"""

from flask import Blueprint

bp = Blueprint("identity", __name__)


def init_app(app) -> None:
    from portal import jobs
    from portal.identity import admin_views, services, views

    views.routes.add_to(bp)
    admin_views.routes.add_to(bp)
    app.register_blueprint(bp)
    jobs.add_periodic("expire_invitations", services.expire_invitations)
