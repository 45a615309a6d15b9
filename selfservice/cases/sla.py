"""SLA clocks, computed from a case's status history: pure functions, no database.

A target (first response, next response, resolution) has a number of business hours. Its clock
runs while the case is in an open status, and in a paused status unless the target's pause rule
names that status (pending stops resolution but, by default, not first response). Resolved
statuses stop every clock. The first-response clock stops for good at the first public reply by
an agent, the resolution clock when the case is solved (and runs on if it is reopened). The
next-response clock is one per wait: it starts at a public comment of the customer's side on a
case an agent had answered (``history_from`` that moment) and stops at the agent's next public
reply. A target whose clock reached its hours is breached, and stays breached whatever happens
afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from portal.business_hours import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
    calendar_from_config,
    parse_calendar,
)
from selfservice.cases.models import RESOLVED_STATUSES


@dataclass(frozen=True)
class TargetClock:
    target: str  # first_response | next_response | resolution
    limit: timedelta
    elapsed: timedelta
    state: str  # running | paused | met | breached
    due_at: datetime | None  # while running: when it breaches

    @property
    def breached(self) -> bool:
        return self.state == "breached"

    @property
    def remaining(self) -> timedelta:
        return max(self.limit - self.elapsed, timedelta(0))


def calendar_for(policy, config: Mapping) -> BusinessCalendar:
    """The policy's own calendar, or the vendor's from the settings."""
    if policy is not None and (policy.timezone or policy.business_hours or policy.holidays):
        return parse_calendar(
            policy.timezone or config.get("BUSINESS_TIMEZONE", "UTC"),
            policy.business_hours or config.get("BUSINESS_HOURS", "09:00-17:00"),
            policy.holidays if policy.holidays is not None else "",
        )
    return calendar_from_config(config)


def running_time(
    history: Sequence[tuple[str, datetime]],
    pauses: frozenset[str],
    calendar: BusinessCalendar,
    until: datetime,
) -> timedelta:
    """Business time before ``until`` spent in statuses that do not stop this clock.

    ``history`` is (status, since) in time order: each status lasts until the next one starts.
    """
    total = timedelta(0)
    for index, (status, start) in enumerate(history):
        end = history[index + 1][1] if index + 1 < len(history) else until
        end = min(end, until)
        if start >= until:
            break
        if status in pauses or status in RESOLVED_STATUSES or end <= start:
            continue
        total += business_hours_between(start, end, calendar)
    return total


def history_from(
    history: Sequence[tuple[str, datetime]], start: datetime
) -> list[tuple[str, datetime]]:
    """The status history as seen by a clock that starts at ``start``: the status in effect
    then, from ``start``, and every later change."""
    current = history[0][0] if history else "new"
    later = []
    for status, since in history:
        if since <= start:
            current = status
        else:
            later.append((status, since))
    return [(current, start), *later]


def clock(
    target: str,
    hours: Decimal | float,
    pauses: frozenset[str],
    history: Sequence[tuple[str, datetime]],
    *,
    stopped_at: datetime | None,
    now: datetime,
    calendar: BusinessCalendar,
    breached_before: bool = False,
) -> TargetClock:
    """The state of one target's clock at ``now``. ``stopped_at``: when the target was met
    (first public reply, solved); ``breached_before``: recorded earlier, never undone."""
    limit = timedelta(hours=float(hours))
    until = min(stopped_at, now) if stopped_at else now
    spent = running_time(history, pauses, calendar, until)
    if breached_before or spent >= limit:
        return TargetClock(target, limit, spent, "breached", None)
    if stopped_at is not None:
        return TargetClock(target, limit, spent, "met", None)
    current = history[-1][0] if history else "new"
    if current in pauses or current in RESOLVED_STATUSES:
        return TargetClock(target, limit, spent, "paused", None)
    return TargetClock(
        target, limit, spent, "running", add_business_hours(now, limit - spent, calendar)
    )
