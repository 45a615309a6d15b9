"""Home panels of leads: the channel team's shared leads to approve and offers about to run
out unanswered; a partner's offers to answer before their respond-by."""

from __future__ import annotations

from partners.leads import queries
from portal.panels import Panel


def shared_to_approve(principal) -> dict:
    count, first = queries.shared_waiting()
    return {"count": count, "waiting": count, "shared": first}


def offers_expiring(principal) -> dict:
    count, first = queries.offers_unanswered(before=queries.expiring_deadline())
    return {"count": count, "waiting": count, "offers": first}


def offers_to_answer(principal) -> dict:
    count, first = queries.offers_unanswered()
    return {
        "count": count,
        "waiting": count,
        "offers": first,
        "may_share": principal.can("leads.share"),
    }


PANELS = [
    Panel(
        "leads_shared",
        "partners/leads/_home_shared.html",
        shared_to_approve,
        action="leads.review",
        audiences=("vendor",),
        order=12,
    ),
    Panel(
        "leads_expiring",
        "partners/leads/_home_expiring.html",
        offers_expiring,
        action="leads.manage",
        audiences=("vendor",),
        order=14,
    ),
    Panel(
        "leads_offers",
        "partners/leads/_home_offers.html",
        offers_to_answer,
        action="leads.respond",
        audiences=("partner",),
        order=10,
    ),
]
