"""The partner scorecard: a partner's pipeline, win rate, offer acceptance and answer time,
protections, won value and certified people, against its tier's requirements and the
programme's average."""


def init_app(app) -> None:
    """Pages, navigation, the organisation page's link to a partner's scorecard, and the demo's
    proposed tier changes (seeded here, the channel's last part, so that the standing they come
    from counts the demo's registrations and offers)."""
    from partners.program import seed as program_seed
    from partners.scorecards import org_panels, views
    from portal import navigation, panels
    from portal import seed as demo

    app.register_blueprint(views.bp)
    navigation.add(*views.NAVIGATION)
    panels.add("organization", *org_panels.PANELS)
    demo.add_seeder(program_seed.seed_tier_proposals)
