"""Read side of deal registration, through the tenant wall."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from partners.deals.models import DEAL_STATUSES, DealConflict, DealRegistration, DirectDeal
from portal.db import db
from portal.keyset import KeysetPage, keyset_page

# sort name -> the columns of the order (the last one unique), descending or not
REGISTRATION_SORTS = {
    "newest": ((DealRegistration.id,), True),
    "oldest": ((DealRegistration.id,), False),
}
REVIEW_SORTS = {"oldest": ((DealRegistration.submitted_at, DealRegistration.id), False)}


def registration_page(
    status: str | None = None,
    search: str | None = None,
    *,
    after: str | None = None,
    before: str | None = None,
) -> KeysetPage:
    """A page of the registrations the principal may see (a partner: its own), newest first.
    Raises InvalidCursor for a cursor the portal did not give."""
    stmt = select(DealRegistration).options(joinedload(DealRegistration.partner))
    if status in DEAL_STATUSES:
        stmt = stmt.where(DealRegistration.status == status)
    if search:
        stmt = stmt.where(DealRegistration.customer_name.icontains(search.strip(), autoescape=True))
    return keyset_page(stmt, REGISTRATION_SORTS, "newest", after=after, before=before)


def review_page(*, after: str | None = None, before: str | None = None) -> KeysetPage:
    """A page of the review queue: submitted registrations, oldest first, as (registration,
    number of possible conflicts) rows. One query whatever the queue's length."""
    return keyset_page(
        review_queue(),
        REVIEW_SORTS,
        "oldest",
        after=after,
        before=before,
        key=lambda row: row[0],
    )


def extension_requests(limit: int = 50) -> list[DealRegistration]:
    """Approved registrations whose partner waits for an answer to its extension request,
    the longest-waiting first."""
    return list(
        db.session.scalars(
            select(DealRegistration)
            .options(joinedload(DealRegistration.partner))
            .where(
                DealRegistration.status == "approved",
                DealRegistration.extension_requested_at.is_not(None),
                DealRegistration.extension_outcome == "",
            )
            .order_by(DealRegistration.extension_requested_at, DealRegistration.id)
            .limit(limit)
        )
    )


def review_queue() -> Select:
    """Submitted registrations (unordered: pages order them oldest first), each with its number
    of possible conflicts (found when it was submitted, or when a later one was)."""
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
