"""portal.reports: periods, and the SQL every dashboard shares, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Integer, String, literal, select, union_all

from portal import reports
from portal.db import UTCDateTime

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("args", "key", "start", "end"),
    [
        ({}, "12m", date(2026, 1, 1), date(2026, 12, 31)),
        ({"period": "month"}, "month", date(2026, 12, 1), date(2026, 12, 31)),
        ({"period": "quarter"}, "quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ({"period": "nonsense"}, "12m", date(2026, 1, 1), date(2026, 12, 31)),
        (
            {"period": "custom", "start": "2025-02-10", "end": "2025-04-02"},
            "custom",
            date(2025, 2, 10),
            date(2025, 4, 2),
        ),
    ],
)
def test_a_period_is_whole_days_in_utc(args, key, start, end):
    period = reports.period_from(args, today=TODAY)
    assert (period.key, period.start, period.end, period.error) == (key, start, end, None)
    assert period.starts_at == datetime(start.year, start.month, start.day, tzinfo=UTC)
    assert period.ends_at.date() == date.fromordinal(end.toordinal() + 1)


@pytest.mark.parametrize(
    "args",
    [
        {"period": "custom"},
        {"period": "custom", "start": "2026-05-01", "end": "2026-04-01"},
        {"period": "custom", "start": "2026-13-01", "end": "2026-14-01"},
        {"period": "custom", "start": "2010-01-01", "end": "2026-01-01"},
    ],
)
def test_a_custom_range_that_cannot_be_used_says_why_and_shows_twelve_months(app, args):
    with app.test_request_context():
        period = reports.period_from(args, today=TODAY)
    assert period.key == "12m" and period.error
    assert (period.start, period.end) == (date(2026, 1, 1), date(2026, 12, 31))


def test_months_and_the_year_before():
    period = reports.period_from(
        {"period": "custom", "start": "2024-11-15", "end": "2025-02-28"}, today=TODAY
    )
    assert period.months() == ["2024-11", "2024-12", "2025-01", "2025-02"]
    before = period.year_before()
    assert (before.start, before.end) == (date(2023, 11, 15), date(2024, 2, 28))
    assert reports.by_month(period, [("2025-01", 7), ("2023-01", 9)]) == [0, 0, 7, 0]
    leap = reports.Period("custom", date(2024, 2, 29), date(2024, 2, 29)).year_before()
    assert leap.start == date(2023, 2, 28)


def _numbers(*rows):
    """A table of (group, value) rows, as a subquery (VALUES is not portable to SQLite)."""
    selects = [
        select(literal(g, String).label("g"), literal(v, Integer).label("v")) for g, v in rows
    ]
    return union_all(*selects).subquery("t")


def test_medians_in_sql(app, db):
    with app.app_context():
        _check_medians()


def _check_medians():
    odd = _numbers(("a", 5), ("a", 1), ("a", 3))
    assert reports.median(select(odd.c.v)) == 3.0
    even = _numbers(("a", 10), ("a", 1), ("a", 4), ("a", 2))
    assert reports.median(select(even.c.v)) == 3.0
    grouped = _numbers(("a", 1), ("a", 9), ("b", 4), ("b", 6), ("b", 100), ("c", None))
    assert reports.median_by(select(grouped.c.g, grouped.c.v)) == {"a": 5.0, "b": 6.0}
    nothing = _numbers(("a", None))
    assert reports.median(select(nothing.c.v)) is None


def test_month_keys_and_durations_in_utc(db):
    moments = select(
        literal(datetime(2026, 1, 31, 23, 30, tzinfo=UTC), UTCDateTime()).label("start"),
        literal(datetime(2026, 2, 2, 1, 30, tzinfo=UTC), UTCDateTime()).label("finish"),
    ).subquery("m")
    key, hours = db.execute(
        select(
            reports.month_key(moments.c.start),
            reports.hours_between(moments.c.start, moments.c.finish),
        )
    ).one()
    assert key == "2026-01"
    assert round(hours, 6) == 26.0


def test_a_chart_formats_its_table_for_the_reader(app):
    with app.test_request_context():
        chart = reports.Chart(
            key="k",
            title="T",
            labels=["Jan 2026", "Feb 2026"],
            series=[reports.Series("Won", [1234.5, None]), reports.Series("Rate", [0.5, 0])],
            unit="count",
        )
        assert chart.rows == [("Jan 2026", ["1,234.5", "0.5"]), ("Feb 2026", ["—", "0"])]
        assert chart.data["series"][0]["values"] == [1234.5, None]
        money = reports.Chart("m", "M", ["x"], [reports.Series("a", [10])], unit="money")
        assert money.rows == [("x", ["€10.00"])]
        with pytest.raises(ValueError, match="one value per label"):
            reports.Chart("bad", "B", ["x"], [reports.Series("a", [1, 2])])
