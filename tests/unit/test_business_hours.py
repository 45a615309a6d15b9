"""The business-hours calculator: working hours on working days, in a time zone, without public
holidays, across weekends and daylight-saving changes."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from portal.business_hours import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
    calendar_from_config,
    parse_calendar,
)
from portal.config import ConfigurationError, from_environment

UTC_9_TO_5 = BusinessCalendar()
BERLIN = BusinessCalendar(timezone="Europe/Berlin", holiday_country="DE")
BERLIN_TZ = ZoneInfo("Europe/Berlin")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN_TZ)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (utc(2026, 3, 2, 9), 2, utc(2026, 3, 2, 11)),  # Monday, inside the day
        (utc(2026, 3, 2, 9), 8, utc(2026, 3, 2, 17)),  # a whole day ends that day
        (utc(2026, 3, 2, 16), 2, utc(2026, 3, 3, 10)),  # over the night
        (utc(2026, 3, 6, 16), 2, utc(2026, 3, 9, 10)),  # Friday over the weekend
        (utc(2026, 3, 7, 12), 1, utc(2026, 3, 9, 10)),  # from Saturday
        (utc(2026, 3, 2, 6), 1, utc(2026, 3, 2, 10)),  # before the day starts
        (utc(2026, 3, 2, 20), 1, utc(2026, 3, 3, 10)),  # after it ended
        (utc(2026, 3, 2, 9), 40, utc(2026, 3, 6, 17)),  # a working week
        (utc(2026, 3, 2, 9), 41, utc(2026, 3, 9, 10)),
        (utc(2026, 3, 2, 9), Decimal("0.5"), utc(2026, 3, 2, 9, 30)),
        (utc(2026, 3, 2, 9), timedelta(minutes=90), utc(2026, 3, 2, 10, 30)),
        (utc(2026, 3, 7, 12), 0, utc(2026, 3, 7, 12)),  # nothing to add
    ],
)
def test_add_business_hours_counts_only_working_time(start, hours, expected):
    assert add_business_hours(start, hours, UTC_9_TO_5) == expected


def test_public_holidays_are_days_off():
    # Good Friday and Easter Monday 2026 are public holidays in Germany.
    thursday = berlin(2026, 4, 2, 16)
    assert add_business_hours(thursday, 2, BERLIN) == berlin(2026, 4, 7, 10)
    assert add_business_hours(utc(2026, 4, 2, 16), 2, UTC_9_TO_5) == utc(
        2026, 4, 3, 10
    )  # no holidays
    assert not BERLIN.is_working_day(date(2026, 4, 3))
    assert BERLIN.is_working_day(date(2026, 4, 2))


def test_regional_holidays_follow_the_subdivision():
    epiphany = date(2026, 1, 6)  # a holiday in Bavaria, not in Berlin
    assert not parse_calendar("Europe/Berlin", "09:00-17:00", "DE-BY").is_working_day(epiphany)
    assert parse_calendar("Europe/Berlin", "09:00-17:00", "DE-BE").is_working_day(epiphany)


def test_local_working_hours_survive_daylight_saving_changes():
    # Clocks go forward on Sunday 29 March 2026 in Berlin: 09:00 local is 08:00 UTC on Friday
    # and 07:00 UTC on Monday.
    friday = berlin(2026, 3, 27, 16)
    result = add_business_hours(friday, 2, BERLIN)
    assert result == berlin(2026, 3, 30, 10)
    assert result.tzinfo == UTC and result.hour == 8
    assert business_hours_between(friday, result, BERLIN) == timedelta(hours=2)


def test_results_are_utc_and_naive_input_is_refused():
    assert add_business_hours(berlin(2026, 3, 2, 9), 1, BERLIN).tzinfo == UTC
    with pytest.raises(ValueError, match="naive"):
        add_business_hours(datetime(2026, 3, 2, 9), 1, UTC_9_TO_5)  # noqa: DTZ001
    with pytest.raises(ValueError, match="negative"):
        add_business_hours(utc(2026, 3, 2, 9), -1, UTC_9_TO_5)


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        (utc(2026, 3, 2, 9), utc(2026, 3, 2, 17), 8),
        (utc(2026, 3, 6, 16), utc(2026, 3, 9, 10), 2),  # over a weekend
        (utc(2026, 3, 7, 0), utc(2026, 3, 8, 23), 0),  # a weekend alone
        (utc(2026, 3, 2, 12), utc(2026, 3, 2, 11), 0),  # end before start
        (utc(2026, 3, 2, 0), utc(2026, 3, 9, 0), 40),
    ],
)
def test_business_hours_between(start, end, hours):
    assert business_hours_between(start, end, UTC_9_TO_5) == timedelta(hours=hours)


def test_between_is_the_inverse_of_add():
    start = berlin(2026, 12, 23, 15, 17)  # across Christmas and the weekend
    for hours in (0.25, 3, 8, 17.5, 50):
        end = add_business_hours(start, hours, BERLIN)
        assert business_hours_between(start, end, BERLIN) == timedelta(hours=hours)


def test_a_calendar_without_working_days_is_an_error_not_a_hang():
    never = BusinessCalendar(workdays=frozenset())
    with pytest.raises(ValueError, match="no working hours"):
        add_business_hours(utc(2026, 3, 2, 9), 1, never)


def test_custom_hours_and_workdays():
    calendar = BusinessCalendar(
        day_start=time(8, 30), day_end=time(12, 0), workdays=frozenset({0, 1, 2, 3, 4, 5})
    )
    assert add_business_hours(utc(2026, 3, 6, 11), 2, calendar) == utc(2026, 3, 7, 9, 30)


@pytest.mark.parametrize(
    ("timezone", "hours", "holidays", "message"),
    [
        ("Mars/Olympus", "09:00-17:00", "", "time zone"),
        ("UTC", "9-5", "", "09:00-17:00"),
        ("UTC", "17:00-09:00", "", "end after it starts"),
        ("UTC", "25:00-26:00", "", "not times of day"),
        ("UTC", "09:00-17:00", "XX", "no country"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(timezone, hours, holidays, message):
    with pytest.raises(ValueError, match=message):
        parse_calendar(timezone, hours, holidays)
    with pytest.raises(ConfigurationError, match=message):
        from_environment(
            {"BUSINESS_TIMEZONE": timezone, "BUSINESS_HOURS": hours, "BUSINESS_HOLIDAYS": holidays}
        )


def test_the_vendor_calendar_comes_from_the_settings():
    config = from_environment(
        {
            "BUSINESS_TIMEZONE": "America/New_York",
            "BUSINESS_HOURS": "08:00-16:30",
            "BUSINESS_HOLIDAYS": "us-ca",
            "LEAD_RESPONSE_HOURS": "24",
        }
    )
    calendar = calendar_from_config(config)
    assert calendar == BusinessCalendar(
        timezone="America/New_York",
        day_start=time(8),
        day_end=time(16, 30),
        holiday_country="US",
        holiday_subdivision="CA",
    )
    assert config["LEAD_RESPONSE_HOURS"] == 24.0
    defaults = from_environment({})
    assert calendar_from_config(defaults) == UTC_9_TO_5
    assert (defaults["LEAD_RESPONSE_HOURS"], defaults["LEAD_REMINDER_HOURS"]) == (16.0, 4.0)
    for bad in ("0", "-3", "soon", "nan"):
        with pytest.raises(ConfigurationError, match="LEAD_RESPONSE_HOURS"):
            from_environment({"LEAD_RESPONSE_HOURS": bad})
