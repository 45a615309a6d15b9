"""The partner scorecard: a partner's pipeline, win rate, offer acceptance and answer time,
protections and won value, against its tier's requirements and the programme's average."""


def init_app(app) -> None:
    """Pages, navigation, and the organisation page's link to a partner's scorecard."""
    from partners.scorecards import org_panels, views
    from portal import navigation, panels

    app.register_blueprint(views.bp)
    navigation.add(*views.NAVIGATION)
    panels.add("organization", *org_panels.PANELS)
