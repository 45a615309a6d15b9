"""The channel's dashboards for vendor staff: the channel (registrations, decisions, conflicts,
lead answers, protections) and the forecast. Read-only: figures are grouped SQL over the channel
figures' rollup (``models``, kept by ``rollup``), the deals' and leads' tables and the
transitions' audit history (``channel``, ``forecast``)."""


def init_app(app) -> None:
    """The dashboards' pages and their entries in the navigation; the rollup of the channel
    figures (its flush listener, its tick, the demo's first computation)."""
    from partners.analytics import rollup, views
    from portal import jobs, navigation
    from portal import seed as demo

    app.register_blueprint(views.bp)
    navigation.add(*views.NAVIGATION)
    rollup.listen()
    jobs.add_periodic("deal_figures", rollup.refresh)
    demo.add_seeder(rollup.seed)
