"""Quotes and proposals: versions, PDFs, acceptance, and quote requests."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Pages (one blueprint, its routes in four modules) and API resources, navigation,
    notification kinds, the expiry tick, the demo."""
    from partners.quotes import (
        answer_views,
        api,
        draft_views,
        exports,
        home,
        models,
        request_views,
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

    for module in (views, draft_views, answer_views, request_views):
        module.routes.add_to(views.bp)
    app.register_blueprint(views.bp)
    badges.add(models.Quote, views.STATUS_COLOURS)
    portal_api.add_routes(api.routes)
    navigation.add(*views.NAVIGATION)
    panels.add("home", *home.PANELS)
    search.add_source(search_source.SOURCE)
    export.add(exports.SOURCE)
    register_kind("quotes.sent", _l("Quotes sent to my organisation"))
    register_kind("quotes.answered", _l("Answers to the quotes I own"))
    register_kind("quotes.requested", _l("Quote requests from partners"))
    register_kind("quotes.request_closed", _l("Quote requests of mine the vendor declined"))
    jobs.add_periodic("expire_quotes", services.expire_quotes)
    demo.add_seeder(seed.seed_quotes)
    demo.add_seeder(seed.seed_two_tier_quote)
    segment_criteria.register()

    from partners.quotes import org_panels

    panels.add("organization", *org_panels.PANELS)
