"""Read side of deal registration, through the tenant wall."""

from __future__ import annotations

from sqlalchemy import Select, func, select
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
    """Submitted registrations, oldest first, each with its number of possible conflicts."""
    conflicts = (
        select(func.count(DealConflict.id))
        .where(DealConflict.registration_id == DealRegistration.id)
        .correlate(DealRegistration)
        .scalar_subquery()
    )
    return (
        select(DealRegistration, conflicts.label("conflicts"))
        .options(joinedload(DealRegistration.partner))
        .where(DealRegistration.status == "submitted")
        .order_by(DealRegistration.submitted_at, DealRegistration.id)
    )


def conflicts_of(deal: DealRegistration) -> list[DealConflict]:
    """Possible conflicts of a registration (vendor staff only: the wall hides them otherwise),
    with the other side loaded to show side by side."""
    return list(
        db.session.scalars(
            select(DealConflict)
            .options(
                joinedload(DealConflict.other_registration).joinedload(DealRegistration.partner),
                joinedload(DealConflict.direct_deal),
            )
            .where(DealConflict.registration_id == deal.id)
            .order_by(DealConflict.score.desc(), DealConflict.id)
        ).unique()
    )


def direct_deals() -> Select:
    return select(DirectDeal).order_by(DirectDeal.id.desc())
