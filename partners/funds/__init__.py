"""Market development funds: a budget per partner and quarter, fund requests, claims with proof
of performance, payment."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Pages, API, navigation, notification kinds, the CSV export, home panels and the demo."""
    from partners.funds import api, exports, home, models, seed, views
    from portal import api as portal_api
    from portal import badges, export, navigation, panels
    from portal import seed as demo
    from portal.notify import register_kind

    app.register_blueprint(views.bp)
    badges.add(models.FundRequest, views.REQUEST_COLOURS)
    badges.add(models.FundClaim, views.CLAIM_COLOURS)
    portal_api.add_routes(api.routes)
    navigation.add(*views.NAVIGATION)
    panels.add("home", *home.PANELS)
    export.add(exports.SOURCE)
    register_kind("funds.decided", _l("Decisions on my fund requests and claims"))
    register_kind("funds.submitted", _l("Fund requests and claims to decide"))
    demo.add_seeder(seed.seed_funds)
