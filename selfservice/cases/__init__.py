"""Cases: tickets with SLAs, support teams, and the case queue."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Pages (the case pages, their handling and the support admin's, on one blueprint) and API
    resources, navigation, notification kinds, the SLA and auto-close ticks, the demo cases,
    and the answers other packages ask for (``case.summary``, ``case.team_lead``)."""
    from portal import api as portal_api
    from portal import badges, events, export, jobs, navigation, panels, search
    from portal import seed as demo
    from portal.mailin import targets as mail_targets
    from portal.notify import register_kind
    from selfservice.cases import (
        admin_views,
        api,
        exports,
        handling_views,
        home,
        models,
        search_source,
        seed,
        segment_criteria,
        services,
        views,
    )

    for module in (views, handling_views, admin_views):
        module.routes.add_to(views.bp)
    app.register_blueprint(views.bp)
    badges.add(models.Case, views.STATUS_COLOURS)
    portal_api.add_routes(api.routes)
    navigation.add(*views.NAVIGATION)
    panels.add("home", *home.PANELS)
    search.add_source(search_source.SOURCE)
    export.add(exports.SOURCE)
    # Replies by email become public replies (never from staff: an agent answering the email of
    # an internal note must not publish it); mail to the support address opens a case.
    mail_targets.add(
        mail_targets.Target(
            kind="case",
            endpoint="cases.detail",
            param="case_id",
            model=models.Case,
            reply=services.add_comment,
            staff_may_reply=False,
            keeps_files=True,
            own_org_only=True,
        )
    )
    mail_targets.receive_new_cases(services.open_case)
    register_kind("cases.new", _l("New cases for support"))
    register_kind("cases.opened", _l("Confirmation of the cases I raise"))
    register_kind("cases.reply", _l("Replies on my cases"))
    register_kind("cases.status", _l("Status changes of my cases"))
    register_kind("cases.assigned", _l("Cases assigned to me"))
    register_kind("cases.sla", _l("SLA warnings and breaches"))
    jobs.add_periodic("case_sla", services.check_sla)
    jobs.add_periodic("close_solved_cases", services.close_solved_cases)
    demo.add_seeder(seed.seed_cases)
    segment_criteria.register()
    events.provide("case.summary", services.case_summary)
    events.provide("case.team_lead", services.team_lead)

    from selfservice.cases import org_panels

    panels.add("organization", *org_panels.PANELS)
