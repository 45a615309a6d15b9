"""Home panel of CSAT: the satisfaction ratings the signed-in person was asked for and has not
given, each one click from its answer page."""

from __future__ import annotations

from datetime import timedelta

from feedback import links
from feedback.csat import queries, services
from portal.clock import utcnow
from portal.panels import Panel


def ratings_to_give(principal) -> dict | None:
    if principal.user_id is None:
        return None
    since = utcnow() - timedelta(seconds=links.lifetime_seconds())
    count, surveys = queries.ratings_to_give(principal.user_id, principal.org_id, since)
    if not count:
        return None  # nothing to ask: no panel
    return {
        "count": count,
        "waiting": count,
        "surveys": [
            (s, services.survey_token(s.survey_id, principal.user_id, s.link_nonce))
            for s in surveys
        ],
    }


PANELS = [
    Panel(
        "csat_to_give",
        "feedback/csat/_home_to_give.html",
        ratings_to_give,
        action="cases.view",
        audiences=("customer", "partner"),
        order=12,
    )
]
