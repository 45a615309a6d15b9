"""What quotes add to segments: an accepted quote counts as buying, for the criterion "no won
registration or accepted quote in the last N days" (``portal.segments``)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from partners.quotes.models import Quote, QuoteStatus
from portal import segments


def accepted_since(moment: datetime) -> Select:
    """The recipients (partners and customers) of a quote accepted at or after ``moment``."""
    return select(Quote.org_id).where(
        Quote.status == QuoteStatus.accepted, Quote.decided_at >= moment
    )


ACTIVITY = segments.Activity("accepted_quote", _l("accepted quote"), accepted_since)


def register() -> None:
    segments.add_activity(ACTIVITY)
