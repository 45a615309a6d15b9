"""The organisation page's cases section: its open cases with their SLA state."""

from __future__ import annotations

from sqlalchemy import case, func, or_, select

from portal.db import db
from portal.panels import Panel
from selfservice.cases.models import RESOLVED_STATUSES, Case


def cases(principal, *, org_id: int) -> dict | None:
    """Two statements: counts (open, breached, in all) and the ten most urgent open cases, as the
    principal sees the organisation's cases (its own, or all if the organisation shares them)."""
    breached = or_(Case.first_response_breached, Case.resolution_breached)
    is_open = Case.status.not_in(RESOLVED_STATUSES)
    counts = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((is_open, 1), else_=0)), 0),
            func.coalesce(func.sum(case((breached & is_open, 1), else_=0)), 0),
        ).where(Case.org_id == org_id)
    ).one()
    if not counts[0]:
        return None
    urgent = db.session.scalars(
        select(Case)
        .where(Case.org_id == org_id, is_open)
        .order_by(Case.queue_rank, Case.id)
        .limit(10)
    ).all()
    return {
        "total": counts[0],
        "open": counts[1],
        "breached": counts[2],
        "cases": urgent,
    }


PANELS = (
    Panel("cases", "selfservice/cases/_org_cases.html", cases, action="cases.view", order=40),
)
