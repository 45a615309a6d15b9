"""Read side of deal registration, through the tenant wall."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from partners.deals.models import (
    AWAITING_DECISION,
    DEAL_STATUSES,
    OPEN_DEAL_STATUSES,
    DealConflict,
    DealRegistration,
    DealStatus,
    DirectDeal,
)
from portal.clock import utcnow
from portal.db import db, read_across
from portal.keyset import KeysetPage, keyset_page

# sort name -> the columns of the order (the last one unique), descending or not
REGISTRATION_SORTS = {
    "newest": ((DealRegistration.id,), True),
    "oldest": ((DealRegistration.id,), False),
}
REVIEW_SORTS = {"oldest": ((DealRegistration.submitted_at, DealRegistration.id), False)}
# A protection "ends soon" within this many days (the home page and the list's ``ending=soon``).
ENDING_SOON_DAYS = 30


def ending_soon_before(now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(days=ENDING_SOON_DAYS)


def ending_soon(before: datetime):
    """Approved registrations whose protection ends before ``before``."""
    return and_(
        DealRegistration.status == DealStatus.approved, DealRegistration.expires_at <= before
    )


def registration_filters(args) -> dict:
    """The registration list's filters from its query string (the list page and its CSV export
    both read them here): ``status``, ``search`` and ``ending`` (protections that end soon)."""
    return {
        "status": args.get("status") or None,
        "search": (args.get("q") or "").strip() or None,
        "ending": args.get("ending") == "soon",
    }


def registrations(
    status: str | None = None, search: str | None = None, *, ending: bool = False
) -> Select:
    """The registrations the principal may see (a partner: its own), with their partner,
    unordered (the list's order is ``REGISTRATION_SORTS["newest"]``); ``ending``: only
    protections that end soon."""
    stmt = select(DealRegistration).options(joinedload(DealRegistration.partner))
    if status in DEAL_STATUSES:
        stmt = stmt.where(DealRegistration.status == status)
    if ending:
        stmt = stmt.where(ending_soon(ending_soon_before()))
    if search:
        stmt = stmt.where(DealRegistration.customer_name.icontains(search.strip(), autoescape=True))
    return stmt


def registration_page(
    status: str | None = None,
    search: str | None = None,
    *,
    after: str | None = None,
    before: str | None = None,
    ending: bool = False,
) -> KeysetPage:
    """A page of the registrations the principal may see (a partner: its own), newest first;
    ``ending``: only protections that end soon. Raises InvalidCursor for a cursor the portal did
    not give."""
    stmt = registrations(status, search, ending=ending)
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


def extension_requests(limit: int | None = None) -> list[DealRegistration]:
    """Approved registrations whose partner waits for an answer to its extension request,
    the longest-waiting first, with their partner (one statement); all of them (the review
    queue) or the first ``limit`` (the home panel)."""
    stmt = (
        select(DealRegistration)
        .options(joinedload(DealRegistration.partner))
        .where(
            DealRegistration.status == "approved",
            DealRegistration.extension_requested_at.is_not(None),
            DealRegistration.extension_outcome == "",
        )
        .order_by(DealRegistration.extension_requested_at, DealRegistration.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def unsettled() -> ColumnElement[bool]:
    """A conflict still to settle: no settlement recorded and both sides still claim the
    customer (a registration open, or a direct deal the vendor still works). A side that was
    rejected, closed or expired meanwhile ends the clash without a settlement."""
    claimant = aliased(DealRegistration)

    def still_open(registration_id) -> ColumnElement[bool]:
        return (
            select(claimant.id)
            .where(claimant.id == registration_id, claimant.status.in_(OPEN_DEAL_STATUSES))
            .exists()
        )

    direct_open = (
        select(DirectDeal.id)
        .where(DirectDeal.id == DealConflict.direct_deal_id, DirectDeal.status == "open")
        .exists()
    )
    return and_(
        DealConflict.settled_at.is_(None),
        still_open(DealConflict.registration_id),
        or_(still_open(DealConflict.other_registration_id), direct_open),
    )


def review_queue() -> Select:
    """Submitted registrations (unordered: pages order them oldest first), each with its number
    of possible conflicts still to settle (found when it was submitted, or when a later one
    was)."""
    conflicts = (
        select(func.count(DealConflict.id))
        .where(
            or_(
                DealConflict.registration_id == DealRegistration.id,
                DealConflict.other_registration_id == DealRegistration.id,
            ),
            unsettled(),
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


def unsettled_conflicts(deal: DealRegistration) -> list[DealConflict]:
    """The conflicts of a registration that stop its approval (vendor staff: the wall hides
    conflicts from partners)."""
    return list(
        db.session.scalars(
            select(DealConflict)
            .where(
                or_(
                    DealConflict.registration_id == deal.id,
                    DealConflict.other_registration_id == deal.id,
                ),
                unsettled(),
            )
            .order_by(DealConflict.id)
        )
    )


def under_conflict_review(deals: Iterable[DealRegistration]) -> set[int]:
    """The ids, among ``deals`` (loaded through the wall), of those awaiting the channel team's
    decision with a possible conflict still to settle (found when they or another were
    submitted): what the review queue counts; true until the channel manager settles it. A
    partner may not read the conflicts (the vendor's review data, which name the other side);
    it learns this yes or no about its own registrations, nothing else."""
    waiting = {deal.id for deal in deals if deal.status in AWAITING_DECISION}
    if not waiting:
        return set()
    with read_across() as reader:  # the vendor's rows, reduced to yes or no on the caller's own
        rows = reader.execute(
            select(DealConflict.registration_id, DealConflict.other_registration_id).where(
                or_(
                    DealConflict.registration_id.in_(waiting),
                    DealConflict.other_registration_id.in_(waiting),
                ),
                unsettled(),
            )
        ).all()
    return {deal_id for row in rows for deal_id in row if deal_id in waiting}


def awaiting_first_review() -> list[DealRegistration]:
    """A distributor's resellers' registrations waiting for its first approval (the wall shows
    a distributor its resellers' registrations), the longest-waiting first."""
    return list(
        db.session.scalars(
            select(DealRegistration)
            .options(joinedload(DealRegistration.partner))
            .where(DealRegistration.status == DealStatus.distributor_review)
            .order_by(DealRegistration.submitted_at, DealRegistration.id)
            .limit(200)
        )
    )


def direct_deals() -> Select:
    return select(DirectDeal).order_by(DirectDeal.id.desc())


# The home page: counts in one grouped query, the first few items with what they show.


def review_counts() -> dict[str, int]:
    """Vendor staff: registrations to review, of them those with possible conflicts, and
    extension requests waiting, in one statement."""
    conflicted = (
        select(DealConflict.id)
        .where(
            or_(
                DealConflict.registration_id == DealRegistration.id,
                DealConflict.other_registration_id == DealRegistration.id,
            ),
            unsettled(),
        )
        .correlate(DealRegistration)
        .exists()
    )
    submitted = DealRegistration.status == DealStatus.submitted
    extension = and_(
        DealRegistration.status == DealStatus.approved,
        DealRegistration.extension_requested_at.is_not(None),
        DealRegistration.extension_outcome == "",
    )
    row = db.session.execute(
        select(
            func.count(case((submitted, 1))),
            func.count(case((and_(submitted, conflicted), 1))),
            func.count(case((extension, 1))),
        ).where(DealRegistration.status.in_((DealStatus.submitted, DealStatus.approved)))
    ).one()
    return {"review": row[0], "conflicts": row[1], "extensions": row[2]}


def oldest_to_review(limit: int = 5) -> list[tuple[DealRegistration, int]]:
    """The first registrations of the review queue, as (registration, conflicts) rows."""
    stmt = review_queue().order_by(DealRegistration.submitted_at, DealRegistration.id)
    return [(deal, conflicts) for deal, conflicts in db.session.execute(stmt.limit(limit))]


def partner_counts(before: datetime) -> dict[str, int]:
    """The principal's registrations per status, and ``ending``: protections ending before
    ``before``; one grouped statement."""
    rows = db.session.execute(
        select(
            DealRegistration.status,
            func.count(),
            func.count(case((ending_soon(before), 1))),
        ).group_by(DealRegistration.status)
    ).all()
    counts = {status: n for status, n, _ending in rows}
    counts["ending"] = sum(ending for _status, _n, ending in rows)
    return counts


def needing_information(limit: int = 5) -> list[DealRegistration]:
    """Registrations the vendor asked more information about, the longest-waiting first."""
    return list(
        db.session.scalars(
            select(DealRegistration)
            .where(DealRegistration.status == DealStatus.info_requested)
            .order_by(DealRegistration.decided_at, DealRegistration.id)
            .limit(limit)
        )
    )


def protections_ending(before: datetime, limit: int = 5) -> list[DealRegistration]:
    """Approved registrations whose protection ends before ``before``, the soonest first."""
    return list(
        db.session.scalars(
            select(DealRegistration)
            .where(ending_soon(before))
            .order_by(DealRegistration.expires_at, DealRegistration.id)
            .limit(limit)
        )
    )
