"""Read side of deal registration, through the tenant wall."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from partners.deals.models import DEAL_STATUSES, DealConflict, DealRegistration, DirectDeal
from portal.db import db


def registrations(status: str | None = None, search: str | None = None) -> Select:
    """Registrations the principal may see (a partner: its own), newest first."""
    stmt = select(DealRegistration).options(joinedload(DealRegistration.partner))
    if status in DEAL_STATUSES:
        stmt = stmt.where(DealRegistration.status == status)
    if search:
        stmt = stmt.where(DealRegistration.customer_name.ilike(f"%{search.strip()}%"))
    return stmt.order_by(DealRegistration.id.desc())


def review_queue() -> Select:
    """Submitted registrations, oldest first, each with its number of possible conflicts (found
    when it was submitted, or when a later one was)."""
    conflicts = (
        select(func.count(DealConflict.id))
        .where(
            or_(
                DealConflict.registration_id == DealRegistration.id,
                DealConflict.other_registration_id == DealRegistration.id,
            )
        )
        .correlate(DealRegistration)
        .scalar_subquery()
    )
    return (
        select(DealRegistration, conflicts.label("conflicts"))
        .options(joinedload(DealRegistration.partner))
        .where(DealRegistration.status == "submitted")
        .order_by(DealRegistration.submitted_at, DealRegistration.id)
    )


def conflicts_of(deal: DealRegistration) -> list[tuple[DealConflict, DealRegistration | None]]:
    """Possible conflicts of a registration, found when it or the other was submitted, each with
    the other side (a registration, or None for a direct deal) to show side by side. Vendor staff
    only: the wall hides conflicts from partners."""
    rows = db.session.scalars(
        select(DealConflict)
        .options(
            joinedload(DealConflict.other_registration).joinedload(DealRegistration.partner),
            joinedload(DealConflict.registration).joinedload(DealRegistration.partner),
            joinedload(DealConflict.direct_deal),
        )
        .where(
            or_(
                DealConflict.registration_id == deal.id,
                DealConflict.other_registration_id == deal.id,
            )
        )
        .order_by(DealConflict.score.desc(), DealConflict.id)
    ).unique()
    return [
        (c, c.other_registration if c.registration_id == deal.id else c.registration) for c in rows
    ]


def direct_deals() -> Select:
    return select(DirectDeal).order_by(DirectDeal.id.desc())
