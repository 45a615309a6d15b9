"""The channel's dashboards for vendor staff: the channel (registrations, decisions, conflicts,
lead answers, protections) and the forecast. Read-only: figures are grouped SQL over the deals'
and leads' tables and the transitions' audit history (``channel``, ``forecast``)."""


def init_app(app) -> None:
    """The dashboards' pages and their entries in the navigation."""
    from partners.analytics import views
    from portal import navigation

    app.register_blueprint(views.bp)
    navigation.add(*views.NAVIGATION)
