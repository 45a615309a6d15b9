"""Business hours: working hours on working days in one time zone, skipping public holidays.

A ``BusinessCalendar`` says when people work (by default Monday to Friday, 09:00 to 17:00, in a
time zone, without the public holidays of a country from the ``holidays`` library).
``add_business_hours(start, hours, calendar)`` answers when a clock that runs only in those hours
has run ``hours``; ``business_hours_between(start, end, calendar)`` measures the other way. Both
take and give aware datetimes (results in UTC) and follow daylight-saving changes, because the
working day is computed in local wall-clock time and only then converted.

Lead response deadlines use it; anything with an SLA can (``calendar_from_config`` reads the
vendor's calendar from the app's settings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Ten years without a single working hour means the calendar is wrong, not that work is far off.
_MAX_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    """When people work. ``holiday_country`` is an ISO 3166 code the ``holidays`` library knows
    (None: no public holidays), ``holiday_subdivision`` its region (for example ``BY`` in ``DE``).
    """

    timezone: str = "UTC"
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    workdays: frozenset[int] = field(default=frozenset(range(5)))  # Monday is 0

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        if self.day_end <= self.day_start:
            raise ValueError("the working day must end after it starts")
        if self.holiday_country:
            _holidays(self.holiday_country, self.holiday_subdivision)  # raises if unknown

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        if day.weekday() not in self.workdays:
            return False
        if self.holiday_country:
            return day not in _holidays(self.holiday_country, self.holiday_subdivision)
        return True

    def working_interval(self, day: date) -> tuple[datetime, datetime] | None:
        """The working hours of ``day`` (local date) as UTC datetimes, or None on a day off."""
        if not self.is_working_day(day):
            return None
        zone = self.zone
        start = datetime.combine(day, self.day_start, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day, self.day_end, tzinfo=zone).astimezone(UTC)
        return start, end


@lru_cache(maxsize=32)
def _holidays(country: str, subdivision: str | None):
    # Imported when a calendar is first needed: a web worker that computes no deadline does
    # not carry every country's holidays (3 MB, issue 18).
    import holidays

    try:
        return holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        raise ValueError(
            f"the holidays library knows no country {country!r}"
            + (f" with region {subdivision!r}" if subdivision else "")
        ) from None


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} is a naive datetime; give an aware one (portal.clock.utcnow())")
    return value.astimezone(UTC)


def _duration(hours: float | int | Decimal | timedelta) -> timedelta:
    duration = hours if isinstance(hours, timedelta) else timedelta(hours=float(hours))
    if duration < timedelta(0):
        raise ValueError("business hours to add cannot be negative")
    return duration


def add_business_hours(
    start: datetime, hours: float | int | Decimal | timedelta, calendar: BusinessCalendar
) -> datetime:
    """The moment (UTC) when ``hours`` of working time have passed after ``start``.

    Time outside working hours does not count: 2 hours from Friday 16:00 (09:00–17:00) is Monday
    10:00, or Tuesday 10:00 if Monday is a public holiday. A deadline that falls exactly at the end
    of a working day stays on that day (8 hours from Monday 09:00 is Monday 17:00).
    """
    cursor = _aware(start, "start")
    remaining = _duration(hours)
    if not remaining:
        return cursor
    day = cursor.astimezone(calendar.zone).date()
    for _ in range(_MAX_DAYS):
        interval = calendar.working_interval(day)
        if interval is not None:
            begin, end = max(interval[0], cursor), interval[1]
            if begin < end:
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        day += timedelta(days=1)
    raise ValueError("the calendar has no working hours in ten years")


def business_hours_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> timedelta:
    """How much working time lies between ``start`` and ``end`` (zero if ``end`` is not later)."""
    start, end = _aware(start, "start"), _aware(end, "end")
    total = timedelta(0)
    if end <= start:
        return total
    zone = calendar.zone
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    while day <= last:
        interval = calendar.working_interval(day)
        if interval is not None:
            begin, finish = max(interval[0], start), min(interval[1], end)
            if begin < finish:
                total += finish - begin
        day += timedelta(days=1)
    return total


_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_calendar(timezone: str, hours: str, holidays_code: str) -> BusinessCalendar:
    """A calendar from the settings' spelling: ``Europe/Berlin``, ``09:00-17:00``, ``DE-BY``
    (country and optional region; empty for no public holidays). Raises ValueError."""
    match = _HOURS.match(hours or "")
    if not match:
        raise ValueError(f"business hours must look like 09:00-17:00, not {hours!r}")
    h1, m1, h2, m2 = (int(x) for x in match.groups())
    try:
        day_start, day_end = time(h1, m1), time(h2, m2)
    except ValueError:
        raise ValueError(f"business hours {hours!r} are not times of day") from None
    country, _, region = (holidays_code or "").strip().partition("-")
    return BusinessCalendar(
        timezone=timezone or "UTC",
        day_start=day_start,
        day_end=day_end,
        holiday_country=country.upper() or None,
        holiday_subdivision=region.upper() or None,
    )


def calendar_from_config(config: Mapping) -> BusinessCalendar:
    """The vendor's calendar from the app's settings (``BUSINESS_TIMEZONE``, ``BUSINESS_HOURS``,
    ``BUSINESS_HOLIDAYS``)."""
    key = (
        config.get("BUSINESS_TIMEZONE", "UTC"),
        config.get("BUSINESS_HOURS", "09:00-17:00"),
        config.get("BUSINESS_HOLIDAYS", ""),
    )
    return _cached_calendar(*key)


@lru_cache(maxsize=16)
def _cached_calendar(timezone: str, hours: str, holidays_code: str) -> BusinessCalendar:
    return parse_calendar(timezone, hours, holidays_code)
