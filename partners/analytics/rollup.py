"""Keeping the channel figures' rollup (``models.DealDay``): which days changed, and computing
them again, the way ``portal.rollup`` keeps every daily rollup.

Every flush that changes what a registration's figures depend on (when it was submitted, decided
or closed; its status, value, currency or partner) marks the days of its moments, before and
after the change, as dirty (``mark_changed_days``, a ``before_flush`` listener). The
``deal_figures`` tick computes the dirty days again from the registrations (``refresh``): one
grouped INSERT ... SELECT per run of consecutive days, reading the registrations by range on
indexed columns. A dirty row without a day (the migration leaves one; so may a bulk load that
bypasses the ORM) asks for every day.

The figures are therefore as fresh as the last tick; the rows are sums, exact for whole UTC
days, so any period of whole days sums exactly what a live query would.
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import chain

from sqlalchemy import and_, case, delete, func, insert, inspect, literal, select, union_all
from sqlalchemy.orm import Session

from partners.analytics.channel import APPROVED_ONCE, CLOSED, SUBMITTED
from partners.analytics.models import DealDay, DealDirtyDay
from partners.deals.models import DealRegistration
from portal import reports, rollup, workflow
from portal.db import db

# The moments that place a registration's figures on a day.
MOMENTS = ("submitted_at", "decided_at", "closed_at")
WATCHED = (*MOMENTS, "status", "value", "currency", "org_id")


# --- which days changed -------------------------------------------------------------------------


def mark_changed_days(session: Session, flush_context, instances) -> None:
    """``before_flush``: mark the days of each registration whose figures may have changed."""
    days: set[date] = set()
    with session.no_autoflush:
        for record in chain(session.new, session.dirty, session.deleted):
            if not isinstance(record, DealRegistration):
                continue
            state = inspect(record)
            changed = (
                state.pending
                or record in session.deleted
                or any(state.attrs[name].history.has_changes() for name in WATCHED)
            )
            if changed:
                days |= rollup.moment_days(record, MOMENTS)
    session.add_all(DealDirtyDay(day=day) for day in sorted(days))


def mark_claimed_days(session: Session, record, changed: dict) -> None:
    """``portal.workflow.on_claim``: mark the days of a registration moved by a claim (the
    protections' expiry)."""
    if isinstance(record, DealRegistration):  # a claim moves the status, which counts
        days = rollup.claimed_days(record, MOMENTS, changed)
        session.add_all(DealDirtyDay(day=day) for day in sorted(days))


def listen() -> None:
    """Mark the changed days on every session's flushes and claimed moves."""
    rollup.watch(mark_changed_days)
    workflow.on_claim(mark_claimed_days)


# --- computing days again -----------------------------------------------------------------------


def refresh() -> int:
    """Tick: compute the dirty days again; returns how many days (every day: -1)."""
    moments = [getattr(DealRegistration, m) for m in MOMENTS]
    return rollup.refresh(DealDirtyDay, [DealDay], moments, rebuild)


def _part(kind, moment, statuses, start: datetime, end: datetime):
    """The registrations of ``statuses`` whose ``moment`` falls in [start, end), each as
    (partner, day, currency, ``kind``, value)."""
    deal = DealRegistration
    return select(
        deal.org_id.label("org_id"),
        reports.day_key(moment).label("day"),
        deal.currency.label("currency"),
        kind.label("kind"),
        deal.value.label("value"),
    ).where(deal.status.in_(statuses), and_(moment >= start, moment < end))


def rebuild(first: date, last: date) -> None:
    """Compute the days ``first`` to ``last`` (inclusive) again from the registrations."""
    start, end = rollup.span(first, last)
    db.session.execute(delete(DealDay).where(DealDay.day.between(first, last)))
    deal = DealRegistration
    parts = union_all(
        _part(literal("registered"), deal.submitted_at, SUBMITTED, start, end),
        _part(literal("approved"), deal.decided_at, APPROVED_ONCE, start, end),
        _part(deal.status, deal.closed_at, CLOSED, start, end),  # won, lost or expired
    ).subquery("parts")

    def count(kind: str):
        return func.sum(case((parts.c.kind == kind, 1), else_=0))

    def total(kind: str):
        return func.sum(case((parts.c.kind == kind, parts.c.value), else_=0))

    keys = [parts.c.org_id, parts.c.day, parts.c.currency]
    db.session.execute(
        insert(DealDay).from_select(
            [
                "org_id",
                "day",
                "currency",
                "registered",
                "registered_value",
                "approved",
                "approved_value",
                "won",
                "won_value",
                "lost",
                "expired",
            ],
            select(
                *keys,
                count("registered"),
                total("registered"),
                count("approved"),
                total("approved"),
                count("won"),
                total("won"),
                count("lost"),
                count("expired"),
            ).group_by(*keys),
        )
    )
    db.session.flush()


def seed(session, orgs) -> int:
    """The demo world: compute the days its registrations touch (the tick would, later)."""
    return max(refresh(), 0)
