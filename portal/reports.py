"""What every dashboard shares: the period a page reports on, SQL for months, durations and
medians on both databases, and the chart a template draws with its table of figures.

Dashboards aggregate in SQL (a grouped statement per chart, on indexed columns) and hand the
template plain numbers; nothing here loads rows to count them. A chart is drawn in the browser by
Chart.js (served from ``static/vendor/chartjs``) from the JSON the ``chart`` macro writes beside
its canvas, and the same numbers are in the table beneath it, which is what a screen reader or a
keyboard reads (templates/reports/_macros.html).

Percentages are fractions (0.125 is 12.5 %), as ``portal.formatting.percent`` takes them.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, DateTime, Float, String, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement, Select

from portal import formatting
from portal.clock import utcnow
from portal.db import db

PERIODS: dict[str, object] = {
    "month": _l("This month"),
    "quarter": _l("This quarter"),
    "12m": _l("Last 12 months"),
    "custom": _l("Custom range"),
}
DEFAULT_PERIOD = "12m"
MAX_CUSTOM_DAYS = 5 * 366  # a custom range of at most about five years


@dataclass(frozen=True)
class Period:
    """Whole days from ``start`` to ``end``, both included, in UTC."""

    key: str
    start: date
    end: date
    error: str | None = None  # why the asked-for range was not used

    @property
    def label(self):
        return PERIODS[self.key]

    @property
    def choices(self) -> dict[str, object]:
        return PERIODS

    @property
    def starts_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        """The first moment after the period: filter with ``column < period.ends_at``."""
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC) + timedelta(1)

    def months(self) -> list[str]:
        """The month keys ('2026-01') the period touches, in order."""
        keys, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            keys.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return keys

    def year_before(self) -> Period:
        return Period(self.key, _years_earlier(self.start, 1), _years_earlier(self.end, 1))


def _years_earlier(day: date, years: int) -> date:
    year = day.year - years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _months_back(day: date, months: int) -> date:
    """The first day of the month ``months`` before ``day``'s."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def period_of(key: str, today: date) -> Period:
    """A named period around ``today``: its whole calendar month, quarter, or the twelve
    calendar months ending with this one."""
    if key == "month":
        return Period(key, today.replace(day=1), _month_end(today.year, today.month))
    if key == "quarter":
        first = (today.month - 1) // 3 * 3 + 1
        return Period(key, date(today.year, first, 1), _month_end(today.year, first + 2))
    return Period("12m", _months_back(today, 11), _month_end(today.year, today.month))


def period_from(args: Mapping[str, str], today: date | None = None) -> Period:
    """The period a request asks for (``?period=month|quarter|12m|custom&start=&end=``, dates
    as YYYY-MM-DD). Never fails: an unknown period is the last 12 months, and a custom range
    that cannot be used is too, with ``error`` saying why, for the page to show."""
    today = today or utcnow().date()
    key = args.get("period") or DEFAULT_PERIOD
    if key != "custom":
        return period_of(key if key in PERIODS else DEFAULT_PERIOD, today)
    try:
        start = date.fromisoformat(args.get("start") or "")
        end = date.fromisoformat(args.get("end") or "")
    except ValueError:
        error = _("A custom range needs a start and an end date (YYYY-MM-DD).")
    else:
        if start > end:
            error = _("The start of the range is after its end.")
        elif (end - start).days > MAX_CUSTOM_DAYS:
            error = _("A custom range can be at most five years long.")
        else:
            return Period("custom", start, end)
    fallback = period_of(DEFAULT_PERIOD, today)
    return Period(fallback.key, fallback.start, fallback.end, error=error)


def month_labels(period: Period) -> list[str]:
    """The period's months as readers name them ("Jan 2026")."""
    return [format_date(date(int(k[:4]), int(k[5:]), 1), "MMM y") for k in period.months()]


def by_month(period: Period, rows: Iterable[tuple[str, object]], missing=0) -> list:
    """Values of ``(month_key, value)`` rows in the order of ``period.months()``, ``missing``
    where a month has no row."""
    found = {key: value for key, value in rows}
    return [found.get(key, missing) for key in period.months()]


# --- SQL that differs between SQLite and PostgreSQL -------------------------------------------


def _is_timestamp(column) -> bool:
    kind = getattr(column.type, "impl", column.type)
    return isinstance(kind, DateTime) or not isinstance(kind, Date)


class month_key(FunctionElement):  # noqa: N801 - reads as the SQL function it renders
    """'YYYY-MM' of a UTC timestamp or of a date column: GROUP BY it."""

    type = String()
    inherit_cache = True
    name = "month_key"


@compiles(month_key)
def _month_key_default(element, compiler, **kw):
    (column,) = element.clauses
    text = compiler.process(column, **kw)
    # timestamptz in the UTC day, whatever the session's time zone
    value = f"({text} AT TIME ZONE 'UTC')" if _is_timestamp(column) else text
    return f"to_char({value}, 'YYYY-MM')"


@compiles(month_key, "sqlite")
def _month_key_sqlite(element, compiler, **kw):
    (column,) = element.clauses
    return f"strftime('%Y-%m', {compiler.process(column, **kw)})"


class day_key(FunctionElement):  # noqa: N801 - reads as the SQL function it renders
    """The UTC date of a timestamp column (a date column as it is): GROUP BY it, or store it in
    a date column."""

    type = Date()
    inherit_cache = True
    name = "day_key"


@compiles(day_key)
def _day_key_default(element, compiler, **kw):
    (column,) = element.clauses
    text = compiler.process(column, **kw)
    value = f"({text} AT TIME ZONE 'UTC')" if _is_timestamp(column) else text
    return f"CAST({value} AS DATE)"


@compiles(day_key, "sqlite")
def _day_key_sqlite(element, compiler, **kw):
    (column,) = element.clauses
    return f"date({compiler.process(column, **kw)})"


class hours_between(FunctionElement):  # noqa: N801
    """Hours from one timestamp to another, as a float (NULL if either is)."""

    type = Float()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between)
def _hours_default(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_sqlite(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


def days_between(start, end) -> ColumnElement[float]:
    return hours_between(start, end) / 24.0


def _ranked(values, partition=None):
    """Each value with its rank and its group's count, NULLs left out (a median's inputs)."""
    over = {"partition_by": partition} if partition is not None else {}
    columns = [] if partition is None else [partition.label("g")]
    return (
        select(
            *columns,
            values.label("v"),
            func.row_number().over(order_by=values, **over).label("rn"),
            func.count().over(**over).label("n"),
        )
        .where(values.is_not(None))
        .subquery()
    )


def _middle(ranked):
    # the middle row, or the two middle rows of an even count (integer division on both)
    return ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])


def median(stmt: Select, session: Session | None = None) -> float | None:
    """The median of a select of one numeric column, in SQL (None for no values), on the
    request's session or on ``session`` (a ``read_across`` reader)."""
    source = stmt.subquery()
    ranked = _ranked(source.c[0])
    value = (
        (session or db.session)
        .execute(select(func.avg(ranked.c.v)).where(_middle(ranked)))
        .scalar()
    )
    return None if value is None else float(value)


def median_by(stmt: Select, session: Session | None = None) -> dict:
    """``{group: median}`` of a select of (group, numeric value), in SQL."""
    source = stmt.subquery()
    ranked = _ranked(source.c[1], partition=source.c[0])
    rows = (session or db.session).execute(
        select(ranked.c.g, func.avg(ranked.c.v)).where(_middle(ranked)).group_by(ranked.c.g)
    )
    return {group: float(value) for group, value in rows}


def rate(part, whole) -> float | None:
    """``part / whole`` as a fraction, None when there is nothing to divide by."""
    return float(part) / float(whole) if whole else None


# --- charts -----------------------------------------------------------------------------------

CHART_KINDS = ("bar", "stacked", "line", "hbar")
UNITS = ("count", "money", "percent", "hours", "days")


@dataclass(frozen=True)
class Series:
    label: object
    values: list


@dataclass(frozen=True)
class Chart:
    """A chart and the table of its figures: one row per label, one column per series."""

    key: str
    title: object
    labels: list
    series: list[Series]
    kind: str = "bar"
    unit: str = "count"
    currency: str | None = None
    label_header: object = field(default_factory=lambda: _l("Month"))

    def __post_init__(self) -> None:
        if self.kind not in CHART_KINDS or self.unit not in UNITS:
            raise ValueError(f"chart {self.key}: kind {self.kind!r}, unit {self.unit!r}")
        if any(len(s.values) != len(self.labels) for s in self.series):
            raise ValueError(f"chart {self.key}: a series has not one value per label")

    @property
    def rows(self) -> list[tuple[object, list[str]]]:
        """The table: each label with its figures, formatted for the reader."""
        return [
            (label, [self.display(s.values[i]) for s in self.series])
            for i, label in enumerate(self.labels)
        ]

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)

    def display(self, value) -> str:
        if value is None:
            return "—"
        if self.unit == "money":
            return formatting.money(value, self.currency or "EUR")
        if self.unit == "percent":
            return formatting.percent(value)
        if self.unit in ("hours", "days"):
            number = formatting.number(round(float(value), 1))
            return _("%(n)s h", n=number) if self.unit == "hours" else _("%(n)s d", n=number)
        return formatting.number(value)

    @property
    def data(self) -> dict:
        """What static/reports/charts.js draws."""
        return {
            "kind": self.kind,
            "unit": self.unit,
            "currency": self.currency,
            "labels": [str(label) for label in self.labels],
            "series": [
                {"label": str(s.label), "values": [_plain(v) for v in s.values]}
                for s in self.series
            ],
        }


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    return value
