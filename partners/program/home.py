"""Home panel of tier compliance: what waits for the vendor's channel team (certifications to
verify, tier changes to decide)."""

from __future__ import annotations

from partners.program import queries
from portal.panels import Panel


def waiting(principal) -> dict:
    """Two counts in one statement; each shown only to those who may act on it."""
    counts = queries.waiting_counts()
    return {
        "certifications": counts["certifications"],
        "proposals": counts["proposals"],
        "may_verify": principal.can("certifications.verify"),
        "may_review": principal.can("program.review"),
    }


PANELS = [
    Panel(
        "program_review",
        "partners/program/_home_review.html",
        waiting,
        action="program.review",
        audiences=("vendor",),
        order=15,
    ),
]
