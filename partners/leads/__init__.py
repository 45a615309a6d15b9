"""Leads: the vendor's leads offered to partners, and leads partners share with the vendor."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Pages (one blueprint, its routes in four modules) and API resources, navigation,
    notification kinds, the offer ticks and the demo."""
    from partners.leads import (
        api,
        exports,
        home,
        import_views,
        offer_views,
        search_source,
        seed,
        seed_two_tier,
        services,
        shared_api,
        shared_views,
        views,
    )
    from partners.leads.models import Lead, LeadOffer, SharedLead
    from portal import api as portal_api
    from portal import badges, export, jobs, navigation, panels, search
    from portal import seed as demo
    from portal.notify import register_kind

    for module in (import_views, offer_views, shared_views):
        module.routes.add_to(views.bp)
    app.register_blueprint(views.bp)
    portal_api.add_routes(api.routes)
    portal_api.add_routes(shared_api.routes)
    navigation.add(*views.NAVIGATION)
    badges.add(Lead, views.LEAD_COLOURS)
    badges.add(LeadOffer, views.OFFER_COLOURS)
    badges.add(SharedLead, views.SHARED_LEAD_COLOURS)
    panels.add("home", *home.PANELS)
    search.add_source(search_source.SOURCE)
    export.add(exports.SOURCE)
    register_kind("leads.offered", _l("A lead is offered to my organisation"))
    register_kind("leads.reminder", _l("Reminder before a lead offer runs out"))
    register_kind(
        "leads.offer_closed", _l("A lead offer to my organisation expired or was recalled")
    )
    register_kind("leads.response", _l("A partner answered a lead offer or recorded its outcome"))
    register_kind("leads.distribution", _l("Lead distribution: expiries and leads no partner took"))
    register_kind("leads.shared_submitted", _l("A partner shared a lead"))
    register_kind(
        "leads.shared_decided", _l("A lead my organisation shared was approved or rejected")
    )
    jobs.add_periodic("expire_lead_offers", services.expire_lead_offers)
    jobs.add_periodic("remind_lead_offers", services.remind_lead_offers)
    demo.add_seeder(seed.seed_leads)
    demo.add_seeder(seed_two_tier.seed_two_tier)

    from partners.leads import org_panels

    panels.add("organization", *org_panels.PANELS)
