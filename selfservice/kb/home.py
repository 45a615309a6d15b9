"""Home panel of the help centre: a search box, the quickest way to solve a problem without a
case."""

from __future__ import annotations

from portal.panels import Panel


def search_box(principal) -> dict:
    return {}


PANELS = [
    Panel(
        "kb_search",
        "selfservice/kb/_home_search.html",
        search_box,
        audiences=("customer", "partner"),
        order=45,
    )
]
