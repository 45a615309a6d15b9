"""The support figures' rollup: per day, organisation, support team and priority, the cases
opened and the SLA targets met and breached; the same targets per day and requester; per day,
how many first replies took how long; and the days whose figures must be computed again. Kept
by ``selfservice.analytics.rollup`` (the ``support_figures`` tick); read by the vendor's
support dashboard, and past the wall by a customer's dashboard for its own organisation's rows
only, or its own person's (``customer.compliance_by_month``).

A dashboard over a million cases cannot read the cases themselves within a second: grouping the
rows of a year takes several seconds per chart. It reads these rows instead, a few per day.

Also here: the indexes on other packages' tables that the rollup's rebuild and the dashboard
read by (a day's cases by when they were opened, first answered, solved; cases avoided by day).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, TenantOwned, VendorOnly, global_table
from selfservice.cases.models import Case
from selfservice.kb.models import ArticleEvent


class SupportDay(VendorOnly, TenantOwned, Base):
    """One day's figures of the cases of one organisation, team (None: no team) and priority:
    opened that day, and SLA targets settled that day (``selfservice.analytics.sla``)."""

    __tablename__ = "support_days"
    __table_args__ = (Index("ix_support_days_day", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    team_id: Mapped[int | None]  # no foreign key: a deleted team's past stays until rebuilt
    priority: Mapped[str] = mapped_column(String(10))
    opened: Mapped[int] = mapped_column(default=0)
    first_response_met: Mapped[int] = mapped_column(default=0)
    first_response_breached: Mapped[int] = mapped_column(default=0)
    next_response_met: Mapped[int] = mapped_column(default=0, server_default="0")
    next_response_breached: Mapped[int] = mapped_column(default=0, server_default="0")
    resolution_met: Mapped[int] = mapped_column(default=0)
    resolution_breached: Mapped[int] = mapped_column(default=0)


class SupportRequesterDay(VendorOnly, TenantOwned, Base):
    """One day's SLA targets settled (``selfservice.analytics.sla``) of the cases one person
    requested in one organisation: what a customer's person who sees only their own cases reads
    (a person may have raised a large share of a big customer's cases)."""

    __tablename__ = "support_requester_days"
    __table_args__ = (
        Index("ix_support_requester_days_requester_id_day", "requester_id", "day"),
        Index("ix_support_requester_days_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    requester_id: Mapped[int]  # no foreign key, as team_id: counts, rebuilt from the cases
    first_response_met: Mapped[int] = mapped_column(default=0)
    first_response_breached: Mapped[int] = mapped_column(default=0)
    next_response_met: Mapped[int] = mapped_column(default=0)
    next_response_breached: Mapped[int] = mapped_column(default=0)
    resolution_met: Mapped[int] = mapped_column(default=0)
    resolution_breached: Mapped[int] = mapped_column(default=0)


@global_table("support figures: how long first replies took, per day; counts, no organisation")
class SupportResponseTime(VendorOnly, Base):
    """How many cases got their first public reply on ``day`` after ``tenths`` tenths of an hour
    (rounded): the median of a period is read from these counts."""

    __tablename__ = "support_response_times"
    __table_args__ = (Index("ix_support_response_times_day", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    tenths: Mapped[int]
    answered: Mapped[int]


@global_table("days whose support figures are to be computed again: dates only")
class SupportDirtyDay(VendorOnly, Base):
    """A day whose cases changed since its figures were computed (no day: every day)."""

    __tablename__ = "support_dirty_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date | None] = mapped_column(Date)


# What the rebuild of a day and the dashboard read by (migration 0022; the waits for a next
# response are indexed by their model, migration 0029).
CASE_INDEXES = (
    Index("ix_cases_created_at", Case.created_at),
    Index("ix_cases_first_responded_at", Case.first_responded_at),
    Index("ix_cases_solved_at", Case.solved_at),
)
# A customer's dashboard counts its organisation's open cases by status and priority from the
# index alone (migration 0029).
CUSTOMER_CASE_INDEXES = (
    Index("ix_cases_org_id_status_priority", Case.org_id, Case.status, Case.priority),
)
ARTICLE_EVENT_INDEXES = (
    Index("ix_article_events_kind_created_at", ArticleEvent.kind, ArticleEvent.created_at),
)
