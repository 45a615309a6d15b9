"""The organisation page's registrations section: open pipeline and won value, the latest."""

from __future__ import annotations

from sqlalchemy import func, select

from partners.deals.models import OPEN_DEAL_STATUSES, DealRegistration, DealStatus
from portal.db import db
from portal.panels import Panel


def registrations(principal, *, org_id: int) -> dict | None:
    """Two statements: the totals by state and currency, and the five latest registrations."""
    totals = db.session.execute(
        select(DealRegistration.status, DealRegistration.currency, func.sum(DealRegistration.value))
        .where(DealRegistration.org_id == org_id)
        .group_by(DealRegistration.status, DealRegistration.currency)
    ).all()
    if not totals:
        return None
    pipeline: dict[str, object] = {}
    won: dict[str, object] = {}
    for status, currency, value in totals:
        if status in OPEN_DEAL_STATUSES:
            pipeline[currency] = pipeline.get(currency, 0) + value
        elif status == DealStatus.won:
            won[currency] = won.get(currency, 0) + value
    latest = db.session.scalars(
        select(DealRegistration)
        .where(DealRegistration.org_id == org_id)
        .order_by(DealRegistration.id.desc())
        .limit(5)
    ).all()
    return {"pipeline": pipeline, "won": won, "latest": latest}


PANELS = (
    Panel(
        "registrations",
        "partners/deals/_org_registrations.html",
        registrations,
        action="deals.view",
        audiences=("vendor", "partner"),
        order=20,
    ),
)
