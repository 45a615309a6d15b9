"""The organisation page's programme section: a partner's countries (its territories) and the
product lines it is qualified for."""

from __future__ import annotations

from partners.program import queries
from portal.panels import Panel


def coverage(principal, *, org_id: int) -> dict | None:
    """Two statements (``queries.coverage_of``); None for an organisation that covers nothing
    the principal may see (customers, a partner's view of another organisation)."""
    found = queries.coverage_of([org_id])[org_id]
    if not found.countries and not found.product_lines:
        return None
    return {
        "countries": [(code, queries.country_name(code)) for code in found.countries],
        "product_lines": found.product_lines,
    }


PANELS = (
    Panel(
        "coverage",
        "partners/program/_org_coverage.html",
        coverage,
        audiences=("vendor", "partner"),
        order=5,
    ),
)
