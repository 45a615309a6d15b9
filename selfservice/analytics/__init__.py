"""The support dashboards: the vendor's support dashboard and a customer's own dashboard.
The vendor's figures come from a rollup the tick keeps (``models``, ``rollup``); a customer's
SLA compliance too when the person sees the whole organisation's cases (its organisation's rows
only), else it is grouped live over the cases the tenant wall shows it (``customer``). What counts
as SLA compliance is defined once (``sla``)."""


def init_app(app) -> None:
    """The dashboards' pages and their entries in the navigation; the rollup of the support
    figures: the listener that marks the days whose cases changed, the tick that computes them
    again, and the demo world's first computation."""
    from portal import jobs, navigation
    from portal import seed as demo
    from selfservice.analytics import rollup, views

    app.register_blueprint(views.bp)
    navigation.add(*views.NAVIGATION)
    rollup.listen()
    jobs.add_periodic("support_figures", rollup.refresh)
    demo.add_seeder(rollup.seed)
