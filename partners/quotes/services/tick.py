"""The periodic expiry of sent quotes past their validity."""

from __future__ import annotations

from sqlalchemy import select

from partners.quotes.models import OPEN_STATUSES, Quote
from portal import audit, jobs
from portal.clock import utcnow


@jobs.periodic("expire_quotes")
def expire_quotes(session) -> int:
    """Sent and viewed versions past their validity date expire (safe to run twice)."""
    today = utcnow().date()
    expired = session.scalars(
        select(Quote).where(Quote.status.in_(OPEN_STATUSES), Quote.valid_until < today)
    ).all()
    for quote in expired:
        quote.status = "expired"
        audit.record(
            "quote.expired", quote, actor=None, after={"status": "expired"}, session=session
        )
    return len(expired)
