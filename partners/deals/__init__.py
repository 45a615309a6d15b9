"""Deal registration: partners' claims on deals, conflicts, the review queue and protection."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Pages and API resources, navigation, notification kinds, the expiry tick, the demo."""
    from partners.deals import (
        api,
        conflicts_api,
        exports,
        home,
        models,
        search_source,
        seed,
        segment_criteria,
        services,
        views,
    )
    from portal import api as portal_api
    from portal import badges, export, jobs, navigation, panels, search
    from portal import seed as demo
    from portal.notify import register_kind

    app.register_blueprint(views.bp)
    badges.add(models.DealRegistration, views.STATUS_COLOURS)
    portal_api.add_routes(api.routes)
    portal_api.add_routes(conflicts_api.routes)
    navigation.add(*views.NAVIGATION)
    panels.add("home", *home.PANELS)
    search.add_source(search_source.SOURCE)
    export.add(exports.SOURCE)
    register_kind("deals.decided", _l("Decisions on my deal registrations"))
    register_kind("deals.submitted", _l("Deal registrations to review"))
    jobs.add_periodic("expire_deal_protection", services.expire_protection)
    demo.add_seeder(seed.seed_deals)
    segment_criteria.register()

    from partners.deals import org_panels

    panels.add("organization", *org_panels.PANELS)
