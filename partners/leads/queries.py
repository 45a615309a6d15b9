"""Read side of leads: the lead list with filters and keyset pagination, the shared-lead lists,
and what the distribution rule reads (fitting partners, open-lead counts, offer history).

Every query goes through the tenant-scoped session, so a partner's lists hold only what it may
see. Lists page by keyset (a cursor naming the last row's sort key), never by OFFSET and never
with a COUNT over the table, so a page costs the same at row 100 and at row 100,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import ColumnElement

from partners.leads.models import (
    LEAD_INDEX,
    OPEN_OFFER_STATUSES,
    Lead,
    LeadOffer,
    LeadStatus,
    OfferStatus,
    SharedLead,
    SharedLeadStatus,
)
from partners.program.models import Specialisation, Territory, Tier
from portal import search as full_text
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.db import db, session_principal
from portal.identity.models import Organization, User
from portal.keyset import PER_PAGE, KeysetPage, keyset_page

# Leads are offered to these kinds of partner only (suppliers share leads but are not offered).
OFFER_KINDS = ("reseller", "distributor")
# A lead counts against a partner's cap while it is offered to it or accepted and not closed.
OPEN_LEAD_STATUSES = (LeadStatus.offered.value, LeadStatus.accepted.value)

# An offer is "about to expire" when it is unanswered and its respond-by is this close (or past,
# before the tick expires it): the channel team's home panel and the lead list's filter
# ``expiring=soon`` both read it, so the panel's count is the list's length.
EXPIRING_WITHIN = timedelta(hours=48)

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


# The lead list.


@dataclass(frozen=True)
class LeadFilters:
    status: str | None = None
    country: str | None = None
    product_line: str | None = None
    q: str | None = None
    sort: str = "newest"
    expiring_before: datetime | None = None  # leads whose offer is unanswered and due by then


def lead_filters(form) -> LeadFilters:
    """The filters of the lead list from its validated ``LeadFilterForm`` (the list page and its
    CSV export both read them here)."""
    return LeadFilters(
        status=form.status.data or None,
        country=form.country.data or None,
        product_line=form.product_line.data or None,
        q=form.q.data or None,
        sort=form.sort.data or "newest",
        expiring_before=expiring_deadline() if form.expiring.data == "soon" else None,
    )


def expiring_deadline() -> datetime:
    """The respond-by up to which an unanswered offer is about to expire, from now."""
    return utcnow() + EXPIRING_WITHIN


def unanswered(before: datetime | None = None):
    """The condition on ``LeadOffer``: still unanswered, due by ``before`` if given."""
    condition = LeadOffer.status == OfferStatus.offered
    if before is not None:
        condition = and_(condition, LeadOffer.respond_by <= before)
    return condition


def filter_leads(stmt: Select, filters: LeadFilters, *, among_few: bool = False) -> Select:
    if filters.status:
        stmt = stmt.where(Lead.status == filters.status)
    if filters.country:
        stmt = stmt.where(Lead.country == filters.country)
    if filters.product_line:
        stmt = stmt.where(Lead.product_line == filters.product_line)
    if filters.expiring_before is not None:
        due = select(LeadOffer.lead_id).where(unanswered(filters.expiring_before))
        stmt = stmt.where(Lead.id.in_(due))
    if filters.q:
        # Every word, in company, contact or e-mail, through the full-text index: a rare word
        # reads its few rows instead of scanning every lead for a substring. A partner's list
        # starts from its offers (``among_few``), and tests each against the matches.
        found = full_text.matches(LEAD_INDEX, filters.q, among_few=among_few)
        stmt = stmt.where(found if found is not None else false())
    return stmt


def partner_leads(stmt: Select) -> Select:
    """``stmt`` joined to the open offers the caller can see. For a partner that is its own,
    so the database starts from its few offers (indexed by organisation) instead of testing
    every lead against the visibility rule; vendor staff never need it. A distributor also sees
    its resellers' offers: those the vendor made them, not those it passed down itself (the
    lead is on its list already, with its own offer), so each lead is one row."""
    return stmt.join(
        LeadOffer,
        and_(
            LeadOffer.lead_id == Lead.id,
            LeadOffer.status.in_(OPEN_OFFER_STATUSES),
            or_(LeadOffer.org_id == _viewer_org_id(), LeadOffer.passed_down_from_id.is_(None)),
        ),
    )


def _viewer_org_id() -> int | None:
    """The organisation of the session's principal (None: the system)."""
    principal = session_principal(db.session)
    return principal.org_id if principal is not None else None


def _is_partner_viewer() -> bool:
    principal = session_principal(db.session)
    return principal is not None and principal.is_partner


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
            filter_leads(stmt, filters, among_few=True),
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


def lead_rows(filters: LeadFilters, *, partner_view: bool) -> Select:
    """Every row of the lead list, unordered (the sort is ``LEAD_SORTS[filters.sort]``), as
    (Lead, its open offer or None) with the offer's partner: the list's rows without paging,
    for its CSV export. A partner's are its own offers, as on its page."""
    if partner_view:
        return filter_leads(partner_leads(select(Lead, LeadOffer)), filters, among_few=True)
    stmt = select(Lead, LeadOffer).outerjoin(
        LeadOffer, and_(LeadOffer.lead_id == Lead.id, LeadOffer.status.in_(OPEN_OFFER_STATUSES))
    )
    return filter_leads(stmt, filters).options(joinedload(LeadOffer.partner))


def open_offers_of(lead_ids: list[int]) -> dict[int, LeadOffer]:
    """The open offer of each lead (with its partner), by lead id: the first one the caller sees
    (the vendor's offer to the distributor rather than what it passed down to a reseller)."""
    if not lead_ids:
        return {}
    offers = db.session.scalars(
        select(LeadOffer)
        .options(joinedload(LeadOffer.partner))
        .where(LeadOffer.lead_id.in_(lead_ids), LeadOffer.status.in_(OPEN_OFFER_STATUSES))
        .order_by(LeadOffer.id)
    ).all()
    found: dict[int, LeadOffer] = {}
    for offer in offers:
        found.setdefault(offer.lead_id, offer)
    return found


# One lead.


def open_offer(lead_id: int) -> LeadOffer | None:
    """The lead's open offer (offered or accepted): for a partner its own (a distributor sees
    its resellers' too, but answers only its own); for vendor staff and the system the vendor's
    offer, not what a distributor passed down from it."""
    stmt = select(LeadOffer).where(
        LeadOffer.lead_id == lead_id, LeadOffer.status.in_(OPEN_OFFER_STATUSES)
    )
    if _is_partner_viewer():
        stmt = stmt.where(LeadOffer.org_id == _viewer_org_id())
    else:
        stmt = stmt.where(LeadOffer.passed_down_from_id.is_(None))
    return db.session.scalars(stmt.order_by(LeadOffer.id.desc()).limit(1)).first()


def passed_down_from(offer_id: int) -> list[LeadOffer]:
    """The offers a distributor passed down from its ``offer_id`` to its resellers, newest
    first, with their reseller."""
    return list(
        db.session.scalars(
            select(LeadOffer)
            .options(joinedload(LeadOffer.partner))
            .where(LeadOffer.passed_down_from_id == offer_id)
            .order_by(LeadOffer.id.desc())
        )
    )


def open_pass_down(offer_id: int) -> LeadOffer | None:
    """The open offer passed down from ``offer_id``, if any (one at a time)."""
    return db.session.scalars(
        select(LeadOffer).where(
            LeadOffer.passed_down_from_id == offer_id,
            LeadOffer.status.in_(OPEN_OFFER_STATUSES),
        )
    ).first()


def resellers_of(distributor_id: int) -> list[Organization]:
    """The active resellers attached to a distributor, by name (through the wall: the
    distributor sees the organisations it manages)."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(
                Organization.managed_by_id == distributor_id,
                Organization.kind == "reseller",
                Organization.active.is_(True),
            )
            .order_by(Organization.name)
        )
    )


def resellers_offers(lead_id: int) -> list[LeadOffer]:
    """A distributor's view of its resellers' offers of a lead (read-only), oldest first."""
    principal = session_principal(db.session)
    if principal is None or not principal.is_partner:
        return []
    return list(
        db.session.scalars(
            select(LeadOffer)
            .options(joinedload(LeadOffer.partner))
            .where(LeadOffer.lead_id == lead_id, LeadOffer.org_id != principal.org_id)
            .order_by(LeadOffer.id)
        )
    )


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


def people_by_id(user_ids: list[int]) -> dict[int, User]:
    """The users of ``user_ids`` the caller may see (through the wall: a partner sees its own
    people only), by id."""
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}


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


def fitting_partners(
    country: str, product_line: str, within: ColumnElement[bool] | None = None
) -> list[Organization]:
    """Active resellers and distributors with ``country`` as a territory and ``product_line``
    as a specialisation (and, given ``within``, meeting it: a segment's membership)."""
    stmt = select(Organization).where(
        Organization.kind.in_(OFFER_KINDS),
        Organization.active.is_(True),
        exists().where(Territory.org_id == Organization.id, Territory.country == country),
        exists().where(
            Specialisation.org_id == Organization.id,
            Specialisation.product_line == product_line,
        ),
    )
    if within is not None:
        stmt = stmt.where(within)
    return list(db.session.scalars(stmt.order_by(Organization.id)))


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


# The home page: a count in one statement, the first few items with what they show.


def shared_waiting(limit: int = 5) -> tuple[int, list[SharedLead]]:
    """Shared leads waiting for the vendor's decision: how many, and the oldest few."""
    waiting = SharedLead.status == SharedLeadStatus.submitted
    count = db.session.scalar(select(func.count()).select_from(SharedLead).where(waiting))
    if not count:
        return 0, []
    first = db.session.scalars(
        select(SharedLead)
        .options(joinedload(SharedLead.partner))
        .where(waiting)
        .order_by(SharedLead.id)
        .limit(limit)
    )
    return count, list(first)


def offers_unanswered(before: datetime | None = None, limit: int = 5) -> tuple[int, list]:
    """Offers still unanswered (for a partner: its own, not its resellers'; for vendor staff
    their own offers, not what distributors passed down), those whose respond-by is before
    ``before`` if given: how many, and the soonest few with their lead and partner."""
    waiting = unanswered(before)
    if _is_partner_viewer():
        waiting = and_(waiting, LeadOffer.org_id == _viewer_org_id())
    else:
        waiting = and_(waiting, LeadOffer.passed_down_from_id.is_(None))
    count = db.session.scalar(select(func.count()).select_from(LeadOffer).where(waiting))
    if not count:
        return 0, []
    first = db.session.scalars(
        select(LeadOffer)
        .options(joinedload(LeadOffer.lead), joinedload(LeadOffer.partner))
        .where(waiting)
        .order_by(LeadOffer.respond_by, LeadOffer.id)
        .limit(limit)
    )
    return count, list(first)


def last_offer_segment(lead_id: int) -> int | None:
    """The segment the lead's latest offer (the vendor's, not a distributor's pass-down) was made
    within by rule; None if by hand, from the whole pool, or the segment is gone."""
    return db.session.scalar(
        select(LeadOffer.segment_id)
        .where(LeadOffer.lead_id == lead_id, LeadOffer.passed_down_from_id.is_(None))
        .order_by(LeadOffer.offered_at.desc(), LeadOffer.id.desc())
        .limit(1)
    )
