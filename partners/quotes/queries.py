"""Read side of quotes, through the tenant wall."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from partners.deals.models import DealRegistration
from partners.quotes.models import (
    OPEN_STATUSES,
    QUOTE_STATUSES,
    Quote,
    QuoteRequest,
    QuoteRequestStatus,
)
from portal import access
from portal.db import db, read_across
from portal.identity.models import Organization
from portal.keyset import KeysetPage, keyset_page

# sort name -> the columns of the order (the last one unique), descending or not
QUOTE_SORTS = {"newest": ((Quote.id,), True)}
REQUEST_SORTS = {"oldest": ((QuoteRequest.id,), False)}


def vendor() -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.kind == access.VENDOR))


def quote_filters(args) -> dict:
    """The quote list's filters from its query string (the list page and its CSV export both
    read them here): ``status`` (a status, or "open") and ``search``."""
    return {
        "status": args.get("status") or None,
        "search": (args.get("q") or "").strip() or None,
    }


def quote_page(
    status: str | None = None,
    search: str | None = None,
    *,
    after: str | None = None,
    before: str | None = None,
) -> KeysetPage:
    """A page of the quote versions the principal may see (a recipient: its own, once sent),
    newest first; keyset-paged, no COUNT. Raises InvalidCursor for a cursor the portal did not
    give."""
    return keyset_page(quotes(status, search), QUOTE_SORTS, "newest", after=after, before=before)


def quotes(status: str | None = None, search: str | None = None) -> Select:
    """The quote versions the principal may see, with their recipient, unordered (the list's
    order is ``QUOTE_SORTS["newest"]``)."""
    stmt = select(Quote).options(joinedload(Quote.recipient))
    if status in QUOTE_STATUSES:
        stmt = stmt.where(Quote.status == status)
    elif status == "open":  # waiting for the recipient's answer (sent or viewed)
        stmt = stmt.where(Quote.status.in_(OPEN_STATUSES))
    if search:
        text = search.strip()
        stmt = stmt.where(
            Quote.number.icontains(text, autoescape=True)
            | Quote.title.icontains(text, autoescape=True)
        )
    return stmt


def versions_of(quote: Quote) -> list[Quote]:
    """Every version of the quote the principal may see, oldest first."""
    return list(
        db.session.scalars(
            select(Quote).where(Quote.number == quote.number).order_by(Quote.revision)
        )
    )


def latest_revision(number: str) -> int:
    """The highest revision of a quote number among the versions the principal may see."""
    return db.session.scalar(select(func.max(Quote.revision)).where(Quote.number == number)) or 0


def request_page(*, after: str | None = None, before: str | None = None) -> KeysetPage:
    """A page of the open quote requests, the longest-waiting first (keyset-paged)."""
    stmt = (
        select(QuoteRequest)
        .options(joinedload(QuoteRequest.partner))
        .where(QuoteRequest.status == QuoteRequestStatus.open)
    )
    return keyset_page(stmt, REQUEST_SORTS, "oldest", after=after, before=before)


def via_name(quote: Quote) -> str | None:
    """The name of the distributor a quote goes through, if any. Read past the wall (reviewed):
    its reseller, the recipient, does not see the distributor's organisation row, and only the
    name of the one organisation named on a quote the caller sees is read."""
    if quote.via_org_id is None:
        return None
    with read_across() as reader:
        return reader.scalar(select(Organization.name).where(Organization.id == quote.via_org_id))


def recipients() -> list[Organization]:
    """The active organisations a quote may be addressed to (all but the vendor), by name."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(Organization.kind != access.VENDOR, Organization.active.is_(True))
            .order_by(Organization.name)
        )
    )


def deal(deal_id: int) -> DealRegistration | None:
    """The deal registration ``deal_id``, if the principal may see it."""
    return db.session.get(DealRegistration, deal_id)


def deal_by_number(number: str) -> DealRegistration | None:
    """The deal registration numbered ``number``, if the principal may see it."""
    return db.session.scalar(select(DealRegistration).where(DealRegistration.number == number))


def deals_by_id(ids: list[int]) -> dict[int, DealRegistration]:
    """The deal registrations of ``ids`` the principal may see, by id."""
    return {
        d.id: d
        for d in db.session.scalars(select(DealRegistration).where(DealRegistration.id.in_(ids)))
    }


# The home page: counts in one statement, the first few items with what they show.


def waiting_counts(with_requests: bool) -> tuple[int, int]:
    """Quote versions waiting for an answer (for a recipient: its own), and, for vendor staff,
    the open quote requests; one statement."""
    quotes = (
        select(func.count())
        .select_from(Quote)
        .where(Quote.status.in_(OPEN_STATUSES))
        .scalar_subquery()
    )
    if not with_requests:
        return db.session.scalar(select(quotes)) or 0, 0
    requests = (
        select(func.count())
        .select_from(QuoteRequest)
        .where(QuoteRequest.status == QuoteRequestStatus.open)
        .scalar_subquery()
    )
    row = db.session.execute(select(quotes, requests)).one()
    return row[0], row[1]


def waiting_quotes(limit: int = 5) -> list[Quote]:
    """The quote versions waiting for an answer whose validity ends first, with the recipient."""
    return list(
        db.session.scalars(
            select(Quote)
            .options(joinedload(Quote.recipient))
            .where(Quote.status.in_(OPEN_STATUSES))
            .order_by(Quote.valid_until, Quote.id)
            .limit(limit)
        )
    )
