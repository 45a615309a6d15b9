"""Home panels of quotes: for vendor staff, quotes waiting for the recipient's answer and
partners' open requests; for a recipient (partner or customer), the quotes it has to answer."""

from __future__ import annotations

from partners.quotes import queries
from portal.panels import Panel


def waiting_for_answer(principal) -> dict:
    count, requests = queries.waiting_counts(with_requests=True)
    return {
        "count": count,
        "requests": requests,
        "waiting": count + requests,
        "quotes": queries.waiting_quotes() if count else [],
    }


def to_answer(principal) -> dict:
    count, _requests = queries.waiting_counts(with_requests=False)
    return {"count": count, "waiting": count, "quotes": queries.waiting_quotes() if count else []}


PANELS = [
    Panel(
        "quotes_waiting",
        "partners/quotes/_home_waiting.html",
        waiting_for_answer,
        action="quotes.manage",
        audiences=("vendor",),
        order=30,
    ),
    Panel(
        "quotes_to_answer",
        "partners/quotes/_home_to_answer.html",
        to_answer,
        action="quotes.accept",
        audiences=("partner", "customer"),
        order=15,
    ),
]
