"""The periodic expiry of sent quotes past their validity."""

from __future__ import annotations

from sqlalchemy import select

from partners.quotes.models import OPEN_STATUSES, Quote, QuoteStatus
from portal.clock import utcnow
from portal.db import db
from portal.workflow import transition


def expire_quotes() -> int:
    """Tick: sent and viewed versions past their validity date expire (safe to run twice, or at
    once, or racing a recipient's answer: each move is claimed, and moves the version on so an
    answer from a page loaded before is a conflict)."""
    today = utcnow().date()
    expired = db.session.scalars(
        select(Quote).where(Quote.status.in_(OPEN_STATUSES), Quote.valid_until < today)
    ).all()
    return sum(
        transition(
            quote,
            QuoteStatus.expired,
            actor=None,
            claim=True,
        )
        for quote in expired
    )
