"""SLA clocks from a status history: business hours, weekends, holidays, time zones and each
target's pause rule. Pure functions: no database, no clock but the ones given."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from portal.business_hours import BusinessCalendar
from selfservice.cases.sla import calendar_for, clock, running_time

UTC_CAL = BusinessCalendar()  # Monday to Friday, 09:00-17:00 UTC
BERLIN = BusinessCalendar(timezone="Europe/Berlin", holiday_country="DE")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY_10 = at(2027, 3, 1, 10)


def test_running_time_counts_only_business_hours_across_a_weekend():
    history = [("new", at(2027, 3, 5, 15))]  # Friday 15:00
    assert running_time(history, frozenset(), UTC_CAL, at(2027, 3, 8, 11)) == timedelta(hours=4)


def test_a_target_breaches_on_the_next_working_day_not_over_the_weekend():
    history = [("new", at(2027, 3, 5, 15))]
    state = clock(
        "first_response", 4, frozenset(), history, stopped_at=None, now=at(2027, 3, 5, 15),
        calendar=UTC_CAL,
    )  # fmt: skip
    assert state.state == "running"
    assert state.due_at == at(2027, 3, 8, 11)  # Fri 2h + Mon 2h
    later = clock(
        "first_response", 4, frozenset(), history, stopped_at=None, now=at(2027, 3, 8, 11),
        calendar=UTC_CAL,
    )  # fmt: skip
    assert later.breached


def test_holidays_do_not_count():
    # Good Friday 2027 is 26 March, Easter Monday 29 March (Germany).
    history = [("new", at(2027, 3, 25, 15))]  # Thursday 16:00 in Berlin (UTC+1)
    state = clock(
        "resolution", 4, frozenset(), history, stopped_at=None, now=at(2027, 3, 25, 15),
        calendar=BERLIN,
    )  # fmt: skip
    # Thursday 16:00-17:00 Berlin = 1h; next working day Tuesday 30 March (CEST, UTC+2).
    assert state.due_at == at(2027, 3, 30, 10)  # 09:00+3h Berlin = 12:00 CEST = 10:00 UTC


def test_time_zone_decides_the_working_day():
    history = [("new", at(2027, 3, 1, 7))]  # 08:00 in Berlin: work starts at 08:00 UTC
    assert running_time(history, frozenset(), BERLIN, at(2027, 3, 1, 9)) == timedelta(hours=1)
    assert running_time(history, frozenset(), UTC_CAL, at(2027, 3, 1, 9)) == timedelta(0)


def test_pending_stops_resolution_but_not_first_response():
    history = [
        ("new", MONDAY_10),
        ("pending", MONDAY_10 + timedelta(hours=1)),
        ("open", MONDAY_10 + timedelta(hours=4)),
    ]
    now = MONDAY_10 + timedelta(hours=5)
    resolution = clock(
        "resolution", 8, frozenset({"pending", "on_hold"}), history, stopped_at=None, now=now,
        calendar=UTC_CAL,
    )  # fmt: skip
    first = clock(
        "first_response", 8, frozenset({"on_hold"}), history, stopped_at=None, now=now,
        calendar=UTC_CAL,
    )  # fmt: skip
    assert resolution.elapsed == timedelta(hours=2)
    assert first.elapsed == timedelta(hours=5)


def test_a_paused_clock_has_no_due_time_and_resolved_stops_every_clock():
    history = [("new", MONDAY_10), ("on_hold", MONDAY_10 + timedelta(hours=1))]
    state = clock(
        "resolution", 8, frozenset({"on_hold"}), history, stopped_at=None,
        now=MONDAY_10 + timedelta(hours=3), calendar=UTC_CAL,
    )  # fmt: skip
    assert state.state == "paused" and state.due_at is None
    assert state.elapsed == timedelta(hours=1)
    solved = [("new", MONDAY_10), ("solved", MONDAY_10 + timedelta(hours=2))]
    assert running_time(solved, frozenset(), UTC_CAL, MONDAY_10 + timedelta(hours=6)) == timedelta(
        hours=2
    )


def test_met_target_and_breached_stays_breached():
    history = [("new", MONDAY_10)]
    met = clock(
        "first_response", 2, frozenset(), history, stopped_at=MONDAY_10 + timedelta(hours=1),
        now=MONDAY_10 + timedelta(hours=6), calendar=UTC_CAL,
    )  # fmt: skip
    assert met.state == "met"
    late = clock(
        "first_response", 2, frozenset(), history, stopped_at=MONDAY_10 + timedelta(hours=3),
        now=MONDAY_10 + timedelta(hours=6), calendar=UTC_CAL,
    )  # fmt: skip
    assert late.breached
    # A breach recorded earlier stays, even once the clock is paused or stopped.
    again = clock(
        "resolution", 40, frozenset(), history, stopped_at=MONDAY_10, now=MONDAY_10,
        calendar=UTC_CAL, breached_before=True,
    )  # fmt: skip
    assert again.breached


def test_policy_calendar_or_vendor_default():
    class Policy:
        timezone, business_hours, holidays = "America/New_York", "08:00-16:00", "US"

    cal = calendar_for(Policy(), {})
    assert cal.timezone == "America/New_York" and cal.day_start == time(8)
    assert cal.holiday_country == "US"

    class Empty:
        timezone = business_hours = holidays = None

    assert calendar_for(Empty(), {"BUSINESS_TIMEZONE": "Europe/Paris"}).timezone == "Europe/Paris"
