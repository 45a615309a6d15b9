"""Read side of quotes, through the tenant wall."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from partners.quotes.models import QUOTE_STATUSES, Quote, QuoteRequest
from portal import access
from portal.db import db
from portal.identity.models import Organization


def vendor() -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.kind == access.VENDOR))


def quotes(status: str | None = None, search: str | None = None) -> Select:
    """Quote versions the principal may see (a recipient: its own, once sent), newest first."""
    stmt = select(Quote).options(joinedload(Quote.recipient))
    if status in QUOTE_STATUSES:
        stmt = stmt.where(Quote.status == status)
    if search:
        stmt = stmt.where(
            Quote.number.ilike(f"%{search.strip()}%") | Quote.title.ilike(f"%{search.strip()}%")
        )
    return stmt.order_by(Quote.id.desc())


def versions_of(quote: Quote) -> list[Quote]:
    """Every version of the quote the principal may see, oldest first."""
    return list(
        db.session.scalars(
            select(Quote).where(Quote.number == quote.number).order_by(Quote.revision)
        )
    )


def latest_revision(number: str) -> int:
    """The highest revision of a quote number (seen unscoped by the caller when it must)."""
    return db.session.scalar(select(func.max(Quote.revision)).where(Quote.number == number)) or 0


def open_requests() -> Select:
    return (
        select(QuoteRequest)
        .options(joinedload(QuoteRequest.partner))
        .where(QuoteRequest.status == "open")
        .order_by(QuoteRequest.created_at, QuoteRequest.id)
    )
