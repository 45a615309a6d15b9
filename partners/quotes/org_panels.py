"""The organisation page's quotes section: what waits for an answer, what was accepted."""

from __future__ import annotations

from sqlalchemy import func, select

from partners.quotes.models import OPEN_STATUSES, Quote, QuoteStatus
from portal.db import db
from portal.panels import Panel


def quotes(principal, *, org_id: int) -> dict | None:
    """Two statements: totals by state and currency, and the five latest quotes addressed to the
    organisation (a recipient sees its own once sent; vendor staff see drafts too)."""
    totals = db.session.execute(
        select(Quote.status, Quote.currency, func.sum(Quote.total), func.count())
        .where(Quote.org_id == org_id, Quote.status != QuoteStatus.superseded)
        .group_by(Quote.status, Quote.currency)
    ).all()
    if not totals:
        return None
    waiting: dict[str, object] = {}
    accepted: dict[str, object] = {}
    for status, currency, total, _count in totals:
        if status in OPEN_STATUSES:
            waiting[currency] = waiting.get(currency, 0) + total
        elif status == QuoteStatus.accepted:
            accepted[currency] = accepted.get(currency, 0) + total
    latest = db.session.scalars(
        select(Quote).where(Quote.org_id == org_id).order_by(Quote.id.desc()).limit(5)
    ).all()
    return {"waiting": waiting, "accepted": accepted, "latest": latest}


PANELS = (
    Panel("quotes", "partners/quotes/_org_quotes.html", quotes, action="quotes.view", order=30),
)
