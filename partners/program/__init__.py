"""The partner programme: tiers, territories, specialisations and partner profiles; people's
certifications and tier compliance (the tick's proposed promotions and demotions)."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Pages, navigation, the tiers identity offers, notification kinds, the standing tick, home
    and organisation panels, and the demo's coverage, requirements and certifications."""
    from partners.program import (
        compliance_views,
        home,
        org_panels,
        queries,
        seed,
        segment_criteria,
        standing,
        views,
    )
    from portal import jobs, navigation, panels
    from portal import seed as demo
    from portal.identity.models import register_tier_source
    from portal.notify import register_kind

    app.register_blueprint(views.bp)
    app.register_blueprint(compliance_views.bp)
    navigation.add(*views.NAVIGATION, *compliance_views.NAVIGATION)
    register_tier_source(lambda: [(t.code, t.name) for t in queries.tiers()])
    register_kind("program.certifications", _l("Partners' certifications to verify"))
    register_kind("program.proposals", _l("Tier changes proposed for partners"))
    register_kind("program.decided", _l("Decisions on my organisation's certifications"))
    jobs.add_periodic("propose_tier_changes", standing.propose_tier_changes)
    demo.add_seeder(seed.seed_partner_coverage)
    segment_criteria.register()
    demo.add_seeder(seed.seed_tier_requirements)
    demo.add_seeder(seed.seed_certifications)
    panels.add("home", *home.PANELS)
    panels.add("organization", *org_panels.PANELS)
