"""Home panels of market development funds: what waits for the channel team (requests to
decide, claims to approve or pay); a partner's balance this quarter and its open requests."""

from __future__ import annotations

from partners.funds import queries, services
from portal.db import db
from portal.identity.models import Organization
from portal.panels import Panel


def channel_team(principal) -> dict:
    counts = queries.waiting_counts()
    return {**counts, "waiting": counts["requests"] + counts["claims"]}


def partner(principal) -> dict:
    """The partner's balance this quarter (its budget, or its tier's default) in one or two
    statements."""
    org = db.session.get(Organization, principal.org_id)
    year, quarter = services.current_quarter()
    return {
        "label": f"{year} Q{quarter}",
        "balance": services.balance_of(org, year, quarter),
        "currency": services.CURRENCY,
        "may_request": principal.can("funds.request"),
    }


PANELS = [
    Panel(
        "funds_review",
        "partners/funds/_home_review.html",
        channel_team,
        action="funds.manage",
        audiences=("vendor",),
        order=45,
    ),
    Panel(
        "funds_partner",
        "partners/funds/_home_partner.html",
        partner,
        action="funds.view",
        audiences=("partner",),
        order=45,
    ),
]
