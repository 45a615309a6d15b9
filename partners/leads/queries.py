"""Read side of leads: the lead list with filters and keyset pagination, the shared-lead lists,
and what the distribution rule reads (fitting partners, open-lead counts, offer history).

Every query goes through the tenant-scoped session, so a partner's lists hold only what it may
see. Lists page by keyset (a cursor naming the last row's sort key), never by OFFSET and never
with a COUNT over the table, so a page costs the same at row 100 and at row 100,000.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import joinedload

from partners.leads.models import OPEN_OFFER_STATUSES, Lead, LeadOffer, SharedLead
from partners.program.models import Specialisation, Territory, Tier
from portal.audit import AuditEvent
from portal.db import db
from portal.identity.models import Organization

# Leads are offered to these kinds of partner only (suppliers share leads but are not offered).
OFFER_KINDS = ("reseller", "distributor")
# A lead counts against a partner's cap while it is offered to it or accepted and not closed.
OPEN_LEAD_STATUSES = ("offered", "accepted")
MAX_ID = 2**31 - 1
PER_PAGE = 25


class InvalidCursor(ValueError):
    """A page cursor this portal did not give (or one for another sort order)."""


# Keyset pagination.

# sort name -> the columns of the order, all in one direction, the last one unique.
LEAD_SORTS: dict[str, tuple[tuple, bool]] = {
    "newest": ((Lead.id,), True),
    "oldest": ((Lead.id,), False),
    "company": ((Lead.company, Lead.id), False),
}
SHARED_SORTS: dict[str, tuple[tuple, bool]] = {
    "oldest": ((SharedLead.id,), False),
    "newest": ((SharedLead.id,), True),
}


def encode_cursor(sort: str, values: list) -> str:
    raw = json.dumps([sort, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, sort: str, columns: tuple) -> list:
    """The key values a cursor names, checked against the sort's columns (else InvalidCursor)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor(token) from None
    if not isinstance(data, list) or len(data) != len(columns) + 1 or data[0] != sort:
        raise InvalidCursor(token)
    values = data[1:]
    for column, value in zip(columns, values, strict=True):
        if column.key == "id":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
                raise InvalidCursor(token)
        elif not isinstance(value, str) or len(value) > 200:
            raise InvalidCursor(token)
    return values


@dataclass
class KeysetPage:
    items: list
    sort: str
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def keyset_page(
    stmt: Select,
    sorts: dict,
    sort: str,
    *,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PER_PAGE,
    key=lambda row: row,
) -> KeysetPage:
    """One page of ``stmt`` in the order ``sort`` names: the rows after the cursor ``after``, or
    the rows before ``before`` (the previous page). ``key`` gives the model row of a result row.
    One query, ``per_page + 1`` rows: the extra row only says whether there is more."""
    columns, descending = sorts[sort]
    backwards = before is not None and after is None
    cursor = before if backwards else after
    if cursor:
        values = decode_cursor(cursor, sort, columns)
        # Forwards on a descending order, or backwards on an ascending one: smaller keys.
        smaller = descending != backwards
        keys, given = tuple_(*columns), tuple_(*values)
        stmt = stmt.where(keys < given if smaller else keys > given)
    reverse = descending != backwards
    stmt = stmt.order_by(*(c.desc() if reverse else c.asc() for c in columns))
    rows = list(db.session.execute(stmt.limit(per_page + 1)).unique().all())
    more = len(rows) > per_page
    rows = [r[0] if len(r) == 1 else r for r in rows[:per_page]]
    if backwards:
        rows.reverse()

    def cursor_of(row) -> str:
        model = key(row)
        return encode_cursor(sort, [getattr(model, c.key) for c in columns])

    if not rows:
        return KeysetPage([], sort, None, None)
    has_next = more if not backwards else True
    has_prev = more if backwards else bool(cursor)
    return KeysetPage(
        rows,
        sort,
        cursor_of(rows[-1]) if has_next else None,
        cursor_of(rows[0]) if has_prev else None,
    )


# The lead list.


@dataclass(frozen=True)
class LeadFilters:
    status: str | None = None
    country: str | None = None
    product_line: str | None = None
    q: str | None = None
    sort: str = "newest"


def filter_leads(stmt: Select, filters: LeadFilters) -> Select:
    if filters.status:
        stmt = stmt.where(Lead.status == filters.status)
    if filters.country:
        stmt = stmt.where(Lead.country == filters.country)
    if filters.product_line:
        stmt = stmt.where(Lead.product_line == filters.product_line)
    if filters.q:
        stmt = stmt.where(
            or_(
                Lead.company.icontains(filters.q, autoescape=True),
                Lead.contact_name.icontains(filters.q, autoescape=True),
                Lead.email.icontains(filters.q, autoescape=True),
            )
        )
    return stmt


def partner_leads(stmt: Select) -> Select:
    """``stmt`` joined to the open offers the caller can see. For a partner that is its own,
    so the database starts from its few offers (indexed by organisation) instead of testing
    every lead against the visibility rule; vendor staff never need it."""
    return stmt.join(
        LeadOffer,
        and_(LeadOffer.lead_id == Lead.id, LeadOffer.status.in_(OPEN_OFFER_STATUSES)),
    )


@dataclass
class LeadRow:
    lead: Lead
    offer: LeadOffer | None  # the open offer (for a partner: its own)


def lead_page(
    filters: LeadFilters,
    *,
    partner_view: bool,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PER_PAGE,
) -> KeysetPage:
    """A page of the lead list as ``LeadRow``s. A partner's rows are the leads offered to it or
    accepted by it, with its offer (one query); vendor staff see every lead, and the open offers
    of the page's leads come in one more query (two in all, whatever the page or the data)."""
    if partner_view:
        stmt = partner_leads(select(Lead, LeadOffer))
        page = keyset_page(
            filter_leads(stmt, filters),
            LEAD_SORTS,
            filters.sort,
            after=after,
            before=before,
            per_page=per_page,
            key=lambda row: row[0],
        )
        page.items = [LeadRow(lead, offer) for lead, offer in page.items]
        return page
    page = keyset_page(
        filter_leads(select(Lead), filters),
        LEAD_SORTS,
        filters.sort,
        after=after,
        before=before,
        per_page=per_page,
    )
    offers = open_offers_of([lead.id for lead in page.items])
    page.items = [LeadRow(lead, offers.get(lead.id)) for lead in page.items]
    return page


def open_offers_of(lead_ids: list[int]) -> dict[int, LeadOffer]:
    """The open offer of each lead (with its partner), by lead id."""
    if not lead_ids:
        return {}
    offers = db.session.scalars(
        select(LeadOffer)
        .options(joinedload(LeadOffer.partner))
        .where(LeadOffer.lead_id.in_(lead_ids), LeadOffer.status.in_(OPEN_OFFER_STATUSES))
        .order_by(LeadOffer.id)
    ).all()
    return {offer.lead_id: offer for offer in offers}


# One lead.


def open_offer(lead_id: int) -> LeadOffer | None:
    """The lead's open offer (offered or accepted) that the caller may see, if any."""
    return db.session.scalars(
        select(LeadOffer)
        .where(LeadOffer.lead_id == lead_id, LeadOffer.status.in_(OPEN_OFFER_STATUSES))
        .order_by(LeadOffer.id.desc())
        .limit(1)
    ).first()


def offers_of(lead_id: int) -> list[LeadOffer]:
    """Every offer of a lead the caller may see, oldest first, with its partner."""
    return list(
        db.session.scalars(
            select(LeadOffer)
            .options(joinedload(LeadOffer.partner))
            .where(LeadOffer.lead_id == lead_id)
            .order_by(LeadOffer.id)
        )
    )


def lead_history(lead: Lead, offer_ids: list[int], limit: int = 100) -> list[AuditEvent]:
    """The audit trail of a lead and its offers, newest first, as the caller may see it."""
    condition = and_(AuditEvent.object_type == "Lead", AuditEvent.object_id == lead.id)
    if offer_ids:
        condition = or_(
            condition,
            and_(AuditEvent.object_type == "LeadOffer", AuditEvent.object_id.in_(offer_ids)),
        )
    return list(
        db.session.scalars(
            select(AuditEvent)
            .options(joinedload(AuditEvent.actor))
            .where(condition)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )


def shared_lead_of(lead_id: int) -> SharedLead | None:
    return db.session.scalars(select(SharedLead).where(SharedLead.lead_id == lead_id)).first()


# Shared leads.


def shared_page(
    status: str | None,
    sort: str,
    *,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PER_PAGE,
) -> KeysetPage:
    stmt = select(SharedLead).options(joinedload(SharedLead.partner))
    if status:
        stmt = stmt.where(SharedLead.status == status)
    return keyset_page(stmt, SHARED_SORTS, sort, after=after, before=before, per_page=per_page)


# What the distribution rule reads (vendor staff, or the system's unscoped session).


def fitting_partners(country: str, product_line: str) -> list[Organization]:
    """Active resellers and distributors with ``country`` as a territory and ``product_line``
    as a specialisation."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(
                Organization.kind.in_(OFFER_KINDS),
                Organization.active.is_(True),
                exists().where(Territory.org_id == Organization.id, Territory.country == country),
                exists().where(
                    Specialisation.org_id == Organization.id,
                    Specialisation.product_line == product_line,
                ),
            )
            .order_by(Organization.id)
        )
    )


def tiers_by_code() -> dict[str, Tier]:
    return {t.code: t for t in db.session.scalars(select(Tier))}


def open_lead_counts(org_ids: list[int]) -> dict[int, int]:
    """How many leads each partner holds now: offered to it, or accepted and not yet closed."""
    if not org_ids:
        return {}
    rows = db.session.execute(
        select(LeadOffer.org_id, func.count())
        .join(Lead, Lead.id == LeadOffer.lead_id)
        .where(
            LeadOffer.org_id.in_(org_ids),
            LeadOffer.status.in_(OPEN_OFFER_STATUSES),
            Lead.status.in_(OPEN_LEAD_STATUSES),
        )
        .group_by(LeadOffer.org_id)
    )
    return {org_id: count for org_id, count in rows}


def offer_counts_since(org_ids: list[int], since: datetime) -> dict[int, int]:
    """How many leads were offered to each partner since ``since`` (whatever became of them)."""
    if not org_ids:
        return {}
    rows = db.session.execute(
        select(LeadOffer.org_id, func.count())
        .where(LeadOffer.org_id.in_(org_ids), LeadOffer.offered_at >= since)
        .group_by(LeadOffer.org_id)
    )
    return {org_id: count for org_id, count in rows}


def offer_history(lead_id: int) -> dict[int, set[str]]:
    """For each partner that was ever offered this lead, the statuses its offers reached."""
    history: dict[int, set[str]] = {}
    rows = db.session.execute(
        select(LeadOffer.org_id, LeadOffer.status).where(LeadOffer.lead_id == lead_id)
    )
    for org_id, status in rows:
        history.setdefault(org_id, set()).add(status)
    return history


def offerable_partners() -> list[Organization]:
    """Partners a lead may be offered to by hand: active resellers and distributors."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(Organization.kind.in_(OFFER_KINDS), Organization.active.is_(True))
            .order_by(Organization.name)
        )
    )
