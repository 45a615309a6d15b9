"""The channel figures' rollup: per day (UTC), partner and currency, the registrations
submitted, approved, won, lost and expired that day and their value; and the days whose figures
must be computed again. Kept by ``partners.analytics.rollup`` (the ``deal_figures`` tick); read
by the channel dashboard (``channel``), which is vendor staff's only.

The dashboard's value figures summed a year of registrations on every request: 165 ms of
database CPU at 100,000 registrations, growing with them. It reads these rows instead, at most
one per partner, day and currency.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, TenantOwned, VendorOnly, global_table

# Room for a day's sums of registrations of up to 14 digits each.
SUM = Numeric(18, 2)


class DealDay(VendorOnly, TenantOwned, Base):
    """One partner's registrations in one currency on one day: submitted to the vendor that day,
    approved (decided) that day, and won, lost or expired (closed) that day, as
    ``partners.analytics.channel`` counts them. ``org_id``: the partner."""

    __tablename__ = "deal_days"
    # One row per day, partner and currency: a second tick running at once could not add its own.
    __table_args__ = (
        Index("uq_deal_days_day_org_currency", "day", "org_id", "currency", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    registered: Mapped[int] = mapped_column(default=0)
    registered_value: Mapped[Decimal] = mapped_column(SUM, default=0)
    approved: Mapped[int] = mapped_column(default=0)
    approved_value: Mapped[Decimal] = mapped_column(SUM, default=0)
    won: Mapped[int] = mapped_column(default=0)
    won_value: Mapped[Decimal] = mapped_column(SUM, default=0)
    lost: Mapped[int] = mapped_column(default=0)
    expired: Mapped[int] = mapped_column(default=0)


@global_table("days whose channel figures are to be computed again: dates only")
class DealDirtyDay(VendorOnly, Base):
    """A day whose registrations changed since its figures were computed (no day: every day)."""

    __tablename__ = "deal_dirty_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date | None] = mapped_column(Date)
