"""CSAT: a one-question survey (1 to 5, optional comment) after a case is solved."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """The survey after ``case.solved``, the results and answer pages, navigation, the kind of
    notification a low rating sends."""
    from feedback.csat import exports, home, segment_criteria, services, views
    from portal import events, export, navigation, panels
    from portal.notify import register_kind

    events.subscribe("case.solved", services.on_case_solved)
    app.register_blueprint(views.bp)
    app.register_blueprint(views.public)
    navigation.add(*views.NAVIGATION)
    panels.add("home", *home.PANELS)
    export.add(exports.SOURCE)
    register_kind("feedback.csat_low", _l("Low satisfaction ratings of cases"))
    segment_criteria.register()

    from feedback.csat import org_panels

    panels.add("organization", *org_panels.PANELS)
