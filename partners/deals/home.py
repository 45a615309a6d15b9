"""Home panels of deal registration: the channel team's review queue and extension requests;
a partner's registrations that need it (information asked for, protection ending soon)."""

from __future__ import annotations

from partners.deals import queries
from partners.deals.models import DealStatus
from portal.panels import Panel


def review(principal) -> dict:
    """Registrations to review (oldest first, possible conflicts marked) and extension
    requests: two counts in one statement, the first items in one more each."""
    counts = queries.review_counts()
    return {
        **counts,
        "waiting": counts["review"] + counts["extensions"],
        "registrations": queries.oldest_to_review() if counts["review"] else [],
        "extension_requests": queries.extension_requests(limit=5) if counts["extensions"] else [],
    }


def registrations(principal) -> dict:
    """A partner's registrations that need it: information the vendor asked for, protections
    ending soon; and its open pipeline by state."""
    before = queries.ending_soon_before()
    counts = queries.partner_counts(before)
    info = counts.get(DealStatus.info_requested, 0)
    return {
        "info": info,
        "ending": counts["ending"],
        "submitted": counts.get(DealStatus.submitted, 0),
        "approved": counts.get(DealStatus.approved, 0),
        "waiting": info + counts["ending"],
        "needing_information": queries.needing_information() if info else [],
        "protections_ending": queries.protections_ending(before) if counts["ending"] else [],
        "may_register": principal.can("deals.register"),
    }


PANELS = [
    Panel(
        "deals_review",
        "partners/deals/_home_review.html",
        review,
        action="deals.review",
        audiences=("vendor",),
        order=10,
    ),
    Panel(
        "deals_partner",
        "partners/deals/_home_partner.html",
        registrations,
        action="deals.view",
        audiences=("partner",),
        order=20,
    ),
]
