"""The partner programme: tiers, territories, specialisations and partner profiles."""


def init_app(app) -> None:
    """Pages, navigation and the demo's coverage of the partners."""
    from partners.program import seed, segment_criteria, views
    from portal import navigation
    from portal import seed as demo

    app.register_blueprint(views.bp)
    navigation.add(*views.NAVIGATION)
    demo.add_seeder(seed.seed_partner_coverage)
    segment_criteria.register()
    demo.add_seeder(seed.seed_tier_requirements)

    from partners.program import org_panels
    from portal import panels

    panels.add("organization", *org_panels.PANELS)
