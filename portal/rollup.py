"""Daily rollups the tick keeps: what the support and channel dashboards read instead of grouping
a year of rows on every request (``selfservice.analytics.rollup``, ``partners.analytics.rollup``).

A package's rollup has a table of figures per day and a table of dirty days (a ``day`` column;
no day means every day). A ``before_flush`` listener marks the days a changed record's moments
fall on, before and after the change (``moment_days``), and so does a listener of claimed moves
(``portal.workflow.on_claim``, ``claimed_days``: a claim is an UPDATE no flush sees); the
package's tick calls ``refresh``, which computes the marked days again, a run of consecutive days
at a time, and removes the marks it read. Ticks may run at once (cron and a person's ``flask
tick``): on PostgreSQL the second waits for the first's transaction, then finds its marks gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import chain

from sqlalchemy import delete, event, func, inspect, select, text
from sqlalchemy.orm import Session

from portal.db import db


def day_of(moment: datetime) -> date:
    """The UTC day a moment falls on (the rollups' days)."""
    return moment.astimezone(UTC).date()


def span(first: date, last: date) -> tuple[datetime, datetime]:
    """The moments of the UTC days ``first`` to ``last``: [start, end)."""
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return start, datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)


def moment_days(record, names: Iterable[str]) -> set[date]:
    """The UTC days of ``record``'s moments ``names``, before and after what this flush
    changes (an expired moment is read again)."""
    state = inspect(record)
    days = set()
    for name in names:
        history = state.attrs[name].load_history()
        for value in chain(history.added, history.unchanged, history.deleted):
            if value is not None:
                days.add(day_of(value))
    return days


def claimed_days(record, names: Iterable[str], changed: dict) -> set[date]:
    """The UTC days of ``record``'s moments ``names`` before and after a claimed move that
    wrote ``changed`` (name -> (before, after))."""
    days = set()
    for name in names:
        for value in changed.get(name, (getattr(record, name),)):
            if value is not None:
                days.add(day_of(value))
    return days


def watch(mark: Callable) -> None:
    """Call ``mark(session, flush_context, instances)`` before every session's flushes (once,
    however many apps are made)."""
    if not event.contains(Session, "before_flush", mark):
        event.listen(Session, "before_flush", mark)


def refresh(
    dirty, tables: Iterable, moments: Iterable, rebuild: Callable[[date, date], None]
) -> int:
    """Compute the days marked in ``dirty`` again, ``rebuild(first, last)`` per run of
    consecutive days (a mark without a day: ``tables`` emptied and every day from the earliest
    of the ``moments``, columns, to the latest), and remove the marks read; returns how many
    days (every day: -1)."""
    if db.session.get_bind().dialect.name == "postgresql":
        # One tick at a time per rollup: two would each delete a day's rows and each insert
        # their own. The lock ends with the transaction.
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": dirty.__tablename__}
        )
    marks = db.session.execute(select(dirty.id, dirty.day)).all()
    if not marks:
        return 0
    days = {day for _id, day in marks}
    if None in days:
        _rebuild_every_day(tables, moments, rebuild)
        done = -1
    else:
        for first, last in runs(sorted(days)):
            rebuild(first, last)
        done = len(days)
    # Only the marks read: one made meanwhile (even with a lower id, committed later) is left
    # for the next run.
    ids = [i for i, _d in marks]
    for start in range(0, len(ids), 1000):
        db.session.execute(delete(dirty).where(dirty.id.in_(ids[start : start + 1000])))
    db.session.flush()
    return done


def _rebuild_every_day(tables: Iterable, moments: Iterable, rebuild) -> None:
    bounds = [db.session.execute(select(func.min(c), func.max(c))).one() for c in moments]
    found = [value for pair in bounds for value in pair if value is not None]
    for table in tables:
        db.session.execute(delete(table))
    if found:
        rebuild(day_of(min(found)), day_of(max(found)))


def runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs."""
    found: list[list[date]] = []
    for day in days:
        if found and day == found[-1][1] + timedelta(days=1):
            found[-1][1] = day
        else:
            found.append([day, day])
    return [(first, last) for first, last in found]
