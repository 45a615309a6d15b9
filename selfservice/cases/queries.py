"""Read side of cases, through the tenant wall."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from partners.catalogue.models import Product
from portal import access
from portal.db import db, read_across
from portal.identity.models import Organization, User
from portal.keyset import KeysetPage, keyset_page
from selfservice.cases.models import (
    STATUSES,
    Case,
    CaseAttachment,
    CaseComment,
    CaseStatus,
    CaseWatcher,
)

OPEN_QUEUE = (CaseStatus.new, CaseStatus.open, CaseStatus.pending, CaseStatus.on_hold)
# sort name -> (columns, descending): each ends in the unique id and has its index.
SORTS = {
    "recent": ((Case.updated_at, Case.id), True),
    "queue": ((Case.queue_rank, Case.id), False),
}


def page(
    stmt: Select, sort: str, *, after: str | None = None, before: str | None = None
) -> KeysetPage:
    """One page of a case list (keyset: no count, no OFFSET). Raises InvalidCursor."""
    return keyset_page(stmt, SORTS, sort, after=after, before=before)


def cases(
    status: str | None = None, search: str | None = None, other_than_org: int | None = None
) -> Select:
    """Cases the principal may see, most recently changed first. ``status`` "unresolved": any
    open one; ``other_than_org``: leave that organisation's out (a partner's customers' cases).
    With what the list shows of each (its organisation and product); a reader of more adds its
    own loads (the export: the requester)."""
    stmt = select(Case).options(joinedload(Case.org), joinedload(Case.catalogue_product))
    if status in STATUSES:
        stmt = stmt.where(Case.status == status)
    elif status == "unresolved":
        stmt = stmt.where(Case.status.in_(OPEN_QUEUE))
    if other_than_org is not None:
        stmt = stmt.where(Case.org_id != other_than_org)
    if search:
        term = f"%{search.strip()}%"
        stmt = stmt.where(or_(Case.subject.ilike(term), Case.number.ilike(term)))
    return stmt  # ordered by page(): SORTS["recent"]


def case_filters(args, principal) -> dict:
    """The case list's filters from its query string (the list page and its CSV export both read
    them here): ``status``, ``search``, and ``other_than_org`` (``customers``: a partner's
    customers' cases, its own left out)."""
    return {
        "status": args.get("status") or None,
        "search": (args.get("q") or "").strip() or None,
        "other_than_org": principal.org_id if args.get("customers") else None,
    }


def queue(view: str = "all", user_id: int | None = None) -> Select:
    """The agents' queue: unresolved cases, the soonest SLA deadline first (breached first)."""
    stmt = (
        select(Case)
        .options(
            joinedload(Case.org), joinedload(Case.assignee), joinedload(Case.catalogue_product)
        )
        .where(Case.status.in_(OPEN_QUEUE))
    )
    if view == "mine":
        stmt = stmt.where(Case.assignee_id == user_id)
    elif view == "unassigned":
        stmt = stmt.where(Case.assignee_id.is_(None))
    elif view == "breached":
        stmt = stmt.where(or_(Case.first_response_breached, Case.resolution_breached))
    return stmt  # ordered by page(): SORTS["queue"] (services.queue_rank, indexed)


def comments_of(case_obj: Case) -> list[CaseComment]:
    """Replies (and, for vendor staff, internal notes) oldest first: the wall drops internal
    notes for everyone else."""
    return list(
        db.session.scalars(
            select(CaseComment)
            .options(joinedload(CaseComment.author))
            .where(CaseComment.case_id == case_obj.id)
            .order_by(CaseComment.id)
        )
    )


def watchers_of(case_obj: Case) -> list[CaseWatcher]:
    return list(
        db.session.scalars(
            select(CaseWatcher)
            .options(joinedload(CaseWatcher.user))
            .where(CaseWatcher.case_id == case_obj.id)
            .order_by(CaseWatcher.id)
        )
    )


def attachments_by_comment(case_obj: Case) -> dict[int, list[CaseAttachment]]:
    """The files of each reply (internal notes' files only for vendor staff: the wall)."""
    found: dict[int, list[CaseAttachment]] = {}
    for att in db.session.scalars(
        select(CaseAttachment)
        .where(CaseAttachment.case_id == case_obj.id)
        .order_by(CaseAttachment.id)
    ):
        found.setdefault(att.comment_id or 0, []).append(att)
    return found


def organisations_to_open_for() -> list[tuple[int, str]]:
    """(id, name) of the active organisations vendor staff may open a case for, by name."""
    return [
        (row.id, row.name)
        for row in db.session.execute(
            select(Organization.id, Organization.name)
            .where(Organization.kind != access.VENDOR, Organization.active.is_(True))
            .order_by(Organization.name)
        )
    ]


def products_to_choose(keep_id: int | None = None) -> list[Product]:
    """The catalogue's active products (and ``keep_id``, a case's own product withdrawn since)
    that a case may name, by line, then name."""
    offered = Product.active.is_(True)
    if keep_id is not None:
        offered = or_(offered, Product.id == keep_id)
    return list(
        db.session.scalars(
            select(Product).where(offered).order_by(Product.product_line, Product.name, Product.id)
        )
    )


def member_by_email(org_id: int, email: str) -> User | None:
    """The person of ``org_id`` with this email (through the wall), if any."""
    return db.session.scalar(
        select(User).where(func.lower(User.email) == email.strip().lower(), User.org_id == org_id)
    )


def case_by_number(number: str) -> Case | None:
    """A case the principal sees, by its number."""
    return db.session.scalar(select(Case).where(Case.number == number.strip().upper()))


def merged_into_number(case_obj: Case) -> str | None:
    """The number of the case this one was merged into: its people keep access to the result
    as watchers, but the number is shown even where the case itself is not visible."""
    if not case_obj.merged_into_id:
        return None
    with read_across() as reader:  # the number only, of the case its people were sent to
        return reader.scalar(select(Case.number).where(Case.id == case_obj.merged_into_id))


@dataclass(frozen=True)
class WatcherCandidate:
    """Someone who may be asked to watch a case, as plain values."""

    id: int
    org_id: int
    org_kind: str
    name: str


def watcher_candidate(email: str) -> WatcherCandidate | None:
    """Whoever has this email, in any organisation: who may watch is the service's check
    (``add_watcher``: the case's organisation, its managing partner, or vendor staff)."""
    with read_across() as reader:  # one row by exact email, checked by the service before use
        row = reader.execute(
            select(User.id, User.org_id, Organization.kind, User.name)
            .join(Organization, Organization.id == User.org_id)
            .where(func.lower(User.email) == email.strip().lower())
        ).first()
    return WatcherCandidate(*row) if row is not None else None


# The home page: counts in one statement, the first few cases with what they show.

BREACHED = or_(Case.first_response_breached, Case.resolution_breached)


def agent_counts(user_id: int, soon: datetime) -> dict[str, int]:
    """An agent's open cases by SLA urgency (breached, due before ``soon``, paused, the rest),
    and the unassigned and breached open cases of everyone; one statement."""
    mine = Case.assignee_id == user_id
    due_soon = or_(Case.first_response_due_at <= soon, Case.resolution_due_at <= soon)
    paused = Case.status.in_((CaseStatus.pending, CaseStatus.on_hold))
    row = db.session.execute(
        select(
            func.count(case((mine, 1))),
            func.count(case((and_(mine, BREACHED), 1))),
            func.count(case((and_(mine, ~BREACHED, due_soon), 1))),
            func.count(case((and_(mine, ~BREACHED, paused), 1))),
            func.count(case((Case.assignee_id.is_(None), 1))),
            func.count(case((BREACHED, 1))),
        ).where(Case.status.in_(OPEN_QUEUE))
    ).one()
    keys = ("mine", "mine_breached", "mine_due_soon", "mine_paused", "unassigned", "breached")
    return dict(zip(keys, row, strict=True))


def most_urgent(user_id: int, limit: int = 5) -> list[Case]:
    """An agent's open cases in queue order (breached first, then the next deadline)."""
    stmt = queue("mine", user_id).order_by(Case.queue_rank, Case.id).limit(limit)
    return list(db.session.scalars(stmt))


def open_counts(other_than_org: int | None = None) -> dict[str, int]:
    """The open cases the principal sees, per status (``other_than_org``: without that
    organisation's); one grouped statement."""
    stmt = select(Case.status, func.count()).where(Case.status.in_(OPEN_QUEUE))
    if other_than_org is not None:
        stmt = stmt.where(Case.org_id != other_than_org)
    return dict(db.session.execute(stmt.group_by(Case.status)).all())


def recent_open(other_than_org: int | None = None, limit: int = 5) -> list[Case]:
    """The open cases the principal sees, the most recently changed first, with their
    organisation."""
    stmt = (
        select(Case)
        .options(joinedload(Case.org))
        .where(Case.status.in_(OPEN_QUEUE))
        .order_by(Case.updated_at.desc(), Case.id.desc())
        .limit(limit)
    )
    if other_than_org is not None:
        stmt = stmt.where(Case.org_id != other_than_org)
    return list(db.session.scalars(stmt))
