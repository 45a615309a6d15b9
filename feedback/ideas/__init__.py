"""The ideas board: ideas shared by every customer and partner, votes, comments, statuses."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """The board's pages, navigation, the news of ideas' kind, the trending tick."""
    from feedback.ideas import exports, search_source, trending, views
    from portal import export, jobs, navigation, search
    from portal.notify import register_kind

    app.register_blueprint(views.bp)
    navigation.add(*views.NAVIGATION)
    search.add_source(search_source.SOURCE)
    export.add(exports.SOURCE)
    register_kind("ideas.status", _l("News of ideas I proposed, voted for or follow"))
    jobs.add_periodic("ideas_trending", trending.age_trending_votes)

    from feedback.ideas import org_panels
    from portal import panels

    panels.add("organization", *org_panels.PANELS)
