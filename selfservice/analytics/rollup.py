"""Keeping the support figures' rollup (``models``): which days changed, and computing them again.

Every flush that changes what a case's figures depend on (when it was opened, first answered,
solved, fell due; its breaches, policy, priority, team, organisation), or a wait for its next
reply (answered, fell due), marks the days they touch, before and after the change, as dirty
(``mark_changed_days``, a ``before_flush`` listener). The ``support_figures`` tick computes the
dirty days again from the cases and waits (``refresh``): one grouped INSERT ... SELECT per run
of consecutive days, reading the cases by range on indexed columns. A dirty row without a day
(the migration leaves one; so may a bulk load that bypasses the ORM) asks for every day.

The figures are therefore as fresh as the last tick; the rows are counts, exact for whole UTC
days, so any period of whole days sums exactly what a live query would count.
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import chain

from sqlalchemy import (
    String,
    case,
    delete,
    func,
    insert,
    inspect,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from portal import reports, rollup
from portal.clock import utcnow
from portal.db import db
from selfservice.analytics import sla
from selfservice.analytics.models import (
    SupportDay,
    SupportDirtyDay,
    SupportRequesterDay,
    SupportResponseTime,
)
from selfservice.cases.models import TARGETS, Case, CaseReplyWait

# What a case's figures depend on, and the moments that place it on a day.
MOMENTS = (
    "created_at",
    "first_responded_at",
    "solved_at",
    "first_response_due_at",
    "resolution_due_at",
)
# A wait for a next response settles when it is answered or falls due; it is counted in its
# case's groups, so a case's regrouping moves it.
WAIT_MOMENTS = ("answered_at", "due_at")
REGROUPING = ("priority", "team_id", "org_id", "requester_id", "sla_policy_id")
WATCHED = (
    *MOMENTS,
    "first_response_breached",
    "resolution_breached",
    "sla_policy_id",
    "priority",
    "team_id",
    "org_id",
    "requester_id",
)


# --- which days changed -------------------------------------------------------------------------


def _days_of(record: Case) -> set[date]:
    """The days a case's figures fall on, before and after what this flush changes."""
    days = rollup.moment_days(record, MOMENTS)
    if inspect(record).pending and record.created_at is None:
        days.add(utcnow().date())  # opened now: ``created_at`` is given at the INSERT
    return days


def _regrouped_wait_days(session: Session, record: Case) -> set[date]:
    """A case that changes team, priority or organisation moves its waits' figures too: the
    days they settled on (one indexed read, only for such a change)."""
    state = inspect(record)
    if state.pending or not any(state.attrs[n].history.has_changes() for n in REGROUPING):
        return set()
    rows = session.execute(
        select(*(getattr(CaseReplyWait, m) for m in WAIT_MOMENTS)).where(
            CaseReplyWait.case_id == record.id
        )
    )
    return {rollup.day_of(value) for row in rows for value in row if value is not None}


def mark_changed_days(session: Session, flush_context, instances) -> None:
    """``before_flush``: mark the days of each case, and each wait for a next response, whose
    figures may have changed."""
    days: set[date] = set()
    with session.no_autoflush:
        for record in chain(session.new, session.dirty, session.deleted):
            if isinstance(record, CaseReplyWait):
                state = inspect(record)
                if state.pending or record in session.deleted or state.modified:
                    days |= rollup.moment_days(record, WAIT_MOMENTS)
                continue
            if not isinstance(record, Case):
                continue
            state = inspect(record)
            changed = (
                state.pending
                or record in session.deleted
                or any(state.attrs[name].history.has_changes() for name in WATCHED)
            )
            if changed:
                days |= _days_of(record) | _regrouped_wait_days(session, record)
    session.add_all(SupportDirtyDay(day=day) for day in sorted(days))


def listen() -> None:
    """Mark the changed days on every session's flushes."""
    rollup.watch(mark_changed_days)


# --- computing days again -----------------------------------------------------------------------


def refresh() -> int:
    """Tick: compute the dirty days again; returns how many days (every day: -1)."""
    moments = chain(
        (getattr(Case, m) for m in MOMENTS), (getattr(CaseReplyWait, m) for m in WAIT_MOMENTS)
    )
    return rollup.refresh(SupportDirtyDay, ROLLUPS, moments, rebuild)


# Every table ``rebuild`` computes, each with a ``day`` column.
ROLLUPS = (SupportDay, SupportRequesterDay, SupportResponseTime)


def rebuild(first: date, last: date) -> None:
    """Compute the days ``first`` to ``last`` (inclusive) again from the cases."""
    start, end = rollup.span(first, last)
    for table in ROLLUPS:
        db.session.execute(delete(table).where(table.day.between(first, last)))

    def groups(moment) -> list:
        return [
            Case.org_id.label("org_id"),
            reports.day_key(moment).label("day"),
            Case.team_id.label("team_id"),
            Case.priority.label("priority"),
        ]

    opened = (
        select(
            literal("opened", String).label("target"),
            *groups(Case.created_at),
            func.count().label("met"),
            literal(0).label("breached"),
        )
        .where(sla.within(Case.created_at, start, end))
        .group_by(*groups(Case.created_at))
    )
    parts = union_all(opened, *sla.branches(groups, start, end)).subquery("parts")
    keys = [parts.c.org_id, parts.c.day, parts.c.team_id, parts.c.priority]
    db.session.execute(
        insert(SupportDay).from_select(
            [
                "org_id",
                "day",
                "team_id",
                "priority",
                "opened",
                *(f"{target}_{outcome}" for target in TARGETS for outcome in ("met", "breached")),
            ],
            select(
                *keys,
                func.sum(case((parts.c.target == "opened", parts.c.met), else_=0)),
                *sla.pivot(parts),
            ).group_by(*keys),
        )
    )
    _rebuild_requesters(start, end)
    # First replies, in tenths of an hour (the dashboard's precision), per day.
    timed = (
        select(
            reports.day_key(Case.first_responded_at).label("day"),
            func.round(reports.hours_between(Case.created_at, Case.first_responded_at) * 10).label(
                "tenths"
            ),
        )
        .where(sla.within(Case.first_responded_at, start, end))
        .subquery("timed")
    )
    db.session.execute(
        insert(SupportResponseTime).from_select(
            ["day", "tenths", "answered"],
            select(timed.c.day, timed.c.tenths, func.count()).group_by(timed.c.day, timed.c.tenths),
        )
    )
    db.session.flush()


def _rebuild_requesters(start: datetime, end: datetime) -> None:
    """The targets settled in [start, end) per organisation, requester and day."""

    def groups(moment) -> list:
        return [
            Case.org_id.label("org_id"),
            Case.requester_id.label("requester_id"),
            reports.day_key(moment).label("day"),
        ]

    parts = union_all(
        *sla.branches(groups, start, end, only=Case.requester_id.is_not(None))
    ).subquery("parts")
    keys = [parts.c.org_id, parts.c.requester_id, parts.c.day]
    db.session.execute(
        insert(SupportRequesterDay).from_select(
            [
                "org_id",
                "requester_id",
                "day",
                *(f"{target}_{outcome}" for target in TARGETS for outcome in ("met", "breached")),
            ],
            select(*keys, *sla.pivot(parts)).group_by(*keys),
        )
    )


def seed(session, orgs) -> int:
    """The demo world: compute the days its cases touch (the tick would, later)."""
    return max(refresh(), 0)
