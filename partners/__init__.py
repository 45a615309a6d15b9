"""The channel: the partner programme, leads and lead sharing, deal registration, the catalogue,
quotes, sourcing from suppliers and market development funds.

Each part is a sub-package with the same files (models, services, queries, forms, views, api) and
an ``init_app`` that registers what it brings; ``init_app`` here calls them in order.
"""


def init_app(app) -> None:
    from partners import (
        analytics,
        catalogue,
        deals,
        funds,
        leads,
        program,
        quotes,
        scorecards,
        sourcing,
    )

    for part in (program, leads, deals, catalogue, quotes, sourcing, funds, analytics, scorecards):
        part.init_app(app)
