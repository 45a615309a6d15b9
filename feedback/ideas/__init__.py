"""The ideas board: ideas shared by every customer and partner, votes, comments, statuses."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """The board's pages and API resources, navigation, the news of ideas' kind, the trending
    tick."""
    from feedback.ideas import api, exports, models, search_source, services, trending, views
    from portal import api as portal_api
    from portal import badges, export, jobs, navigation, search
    from portal.mailin import targets as mail_targets
    from portal.notify import register_kind

    app.register_blueprint(views.bp)
    badges.add(models.Idea, views.STATUS_COLOURS)
    portal_api.add_routes(api.routes)
    navigation.add(*views.NAVIGATION)
    search.add_source(search_source.SOURCE)
    export.add(exports.SOURCE)
    mail_targets.add(  # a reply by email is a comment on the idea (comments keep no files)
        mail_targets.Target(
            kind="idea",
            endpoint="ideas.detail",
            param="idea_id",
            model=models.Idea,
            reply=services.add_comment,
            staff_may_reply=True,
            keeps_files=False,
            own_org_only=False,
        )
    )
    register_kind("ideas.status", _l("News of ideas I proposed, voted for or follow"))
    jobs.add_periodic("ideas_trending", trending.age_trending_votes)

    from feedback.ideas import org_panels
    from portal import panels

    panels.add("organization", *org_panels.PANELS)
