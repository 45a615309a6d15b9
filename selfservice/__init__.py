"""Self-service: cases with SLAs, the knowledge base and answer suggestions.

Each part is a sub-package with the same files (models, services, queries, forms, views, api) and
an ``init_app`` that registers what it brings; ``init_app`` here calls them in order.
"""


def init_app(app) -> None:
    from selfservice import analytics, cases, kb

    for part in (cases, kb, analytics):
        part.init_app(app)
