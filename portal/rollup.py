"""Daily rollups the tick keeps: what the support and channel dashboards read instead of grouping
a year of rows on every request (``selfservice.analytics.rollup``, ``partners.analytics.rollup``).

A package's rollup has a table of figures per day and a table of dirty days (a ``day`` column;
no day means every day). A ``before_flush`` listener marks the days a changed record's moments
fall on, before and after the change (``moment_days``); the package's tick calls ``refresh``,
which computes the marked days again, a run of consecutive days at a time, and removes the
marks it read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, timedelta
from itertools import chain

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm import Session

from portal.db import db


def moment_days(record, names: Iterable[str]) -> set[date]:
    """The UTC days of ``record``'s moments ``names``, before and after what this flush
    changes (an expired moment is read again)."""
    state = inspect(record)
    days = set()
    for name in names:
        history = state.attrs[name].load_history()
        for value in chain(history.added, history.unchanged, history.deleted):
            if value is not None:
                days.add(value.astimezone(UTC).date())
    return days


def watch(mark: Callable) -> None:
    """Call ``mark(session, flush_context, instances)`` before every session's flushes (once,
    however many apps are made)."""
    if not event.contains(Session, "before_flush", mark):
        event.listen(Session, "before_flush", mark)


def refresh(dirty, rebuild: Callable[[date, date], None], rebuild_all: Callable[[], None]) -> int:
    """Compute the days marked in ``dirty`` again (``rebuild(first, last)`` per run of
    consecutive days, or ``rebuild_all()`` for a mark without a day) and remove the marks read;
    returns how many days (every day: -1)."""
    marks = db.session.execute(select(dirty.id, dirty.day)).all()
    if not marks:
        return 0
    days = {day for _id, day in marks}
    if None in days:
        rebuild_all()
        done = -1
    else:
        for first, last in runs(sorted(days)):
            rebuild(first, last)
        done = len(days)
    # Marks made meanwhile (a later id, or not yet committed) are left for the next run.
    db.session.execute(delete(dirty).where(dirty.id <= max(i for i, _d in marks)))
    db.session.flush()
    return done


def runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs."""
    found: list[list[date]] = []
    for day in days:
        if found and day == found[-1][1] + timedelta(days=1):
            found[-1][1] = day
        else:
            found.append([day, day])
    return [(first, last) for first, last in found]
