"""What deal registration adds to segments: a won registration counts as buying, for the
criterion "no won registration or accepted quote in the last N days" (``portal.segments``)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from partners.deals.models import DealRegistration, DealStatus
from portal import segments


def won_since(moment: datetime) -> Select:
    """The partners with a registration won at or after ``moment``."""
    return select(DealRegistration.org_id).where(
        DealRegistration.status == DealStatus.won, DealRegistration.closed_at >= moment
    )


ACTIVITY = segments.Activity("won_registration", _l("won registration"), won_since)


def register() -> None:
    segments.add_activity(ACTIVITY)
