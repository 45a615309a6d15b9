"""The knowledge base: articles, categories, search and helpfulness."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Pages and API resources, navigation, the authors' notification kind, the demo help
    centre."""
    from portal import api as portal_api
    from portal import export, navigation, panels, search
    from portal import seed as demo
    from portal.notify import register_kind
    from selfservice.kb import api, exports, home, search_source, seed, views

    app.register_blueprint(views.bp)
    portal_api.add_routes(api.routes)
    navigation.add(*views.NAVIGATION)
    panels.add("home", *home.PANELS)
    search.add_source(search_source.SOURCE)
    export.add(exports.SOURCE)
    register_kind("articles.feedback", _l("Readers' comments on articles I wrote"))
    demo.add_seeder(seed.seed_help_centre)
