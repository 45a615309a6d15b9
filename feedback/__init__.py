"""Feedback: CSAT after a solved case and NPS campaigns through signed survey links, the ideas
board, and the analytics page.

Each part is a sub-package with an ``init_app`` that registers what it brings (the CSAT survey
subscribes to ``case.solved`` there); ``init_app`` here calls them in order, then registers the
analytics page and the demo world's feedback.
"""


def init_app(app) -> None:
    from feedback import api, csat, ideas, seed, surveys, views
    from portal import api as portal_api
    from portal import navigation
    from portal import seed as demo

    for part in (csat, surveys, ideas):
        part.init_app(app)
    app.register_blueprint(views.bp)
    portal_api.add_routes(api.routes)  # the dashboard's NPS and CSAT results
    navigation.add(*views.NAVIGATION)
    # After the cases' seeder (selfservice registers first): the surveys of solved cases exist.
    demo.add_seeder(seed.seed_csat_answers)
    demo.add_seeder(seed.seed_feedback)
