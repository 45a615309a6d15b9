"""NPS campaigns and the answers to them, reached through signed links (``feedback.links``)."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Pages (the vendor's and the public answer page), navigation, the survey emails' kind,
    the ticks that send due campaigns and remind."""
    from feedback.surveys import exports, segment_criteria, services, views
    from portal import export, jobs, navigation
    from portal.notify import register_kind

    app.register_blueprint(views.bp)
    app.register_blueprint(views.public)
    navigation.add(*views.NAVIGATION)
    export.add(exports.SOURCE)
    register_kind("feedback.survey", _l("Surveys about our products and service"))
    jobs.add_periodic("send_due_nps_campaigns", services.send_due_campaigns)
    jobs.add_periodic("remind_nps_recipients", services.remind_recipients)
    segment_criteria.register()

    from feedback.surveys import org_panels
    from portal import panels

    panels.add("organization", *org_panels.PANELS)
