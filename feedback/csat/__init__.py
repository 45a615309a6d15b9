"""CSAT: a one-question survey (1 to 5, optional comment) after a case is solved."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """The survey after ``case.solved``, the results and answer pages, navigation, the kind of
    notification a low rating sends."""
    from feedback.csat import services, views
    from portal import events, navigation
    from portal.notify import register_kind

    events.subscribe("case.solved", services.on_case_solved)
    app.register_blueprint(views.bp)
    app.register_blueprint(views.public)
    navigation.add(*views.NAVIGATION)
    register_kind("feedback.csat_low", _l("Low satisfaction ratings of cases"))
