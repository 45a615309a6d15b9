"""Home panels of sourcing: for a supplier, the requests for quotation waiting for its offer;
for the vendor's sourcing staff, the offers waiting for a decision."""

from __future__ import annotations

from partners.sourcing import queries
from portal.panels import Panel


def waiting_for_offer(principal) -> dict:
    count, offers = queries.waiting_for_supplier()
    return {"count": count, "offers": offers}


def offers_to_decide(principal) -> dict:
    count, offers = queries.to_decide()
    return {"count": count, "offers": offers}


PANELS = [
    Panel(
        "sourcing_to_answer",
        "partners/sourcing/_home_to_answer.html",
        waiting_for_offer,
        action="sourcing.respond",
        audiences=("partner",),
        order=14,
    ),
    Panel(
        "sourcing_to_decide",
        "partners/sourcing/_home_to_decide.html",
        offers_to_decide,
        action="sourcing.manage",
        audiences=("vendor",),
        order=35,
    ),
]
