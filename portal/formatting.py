"""Formatting every page may use, registered as template filters by ``create_app``: dates,
times, durations, money and percentages in the reader's locale and time zone (Babel), and
markdown as safe HTML.

One format for each kind of value, everywhere (pages, the quote PDF, the history):

- ``date``: the medium date ("31 Mar 2027" in en_GB, "31.03.2027" in de); a moment is first
  moved to the reader's time zone, so the date is the reader's day.
- ``datetime``: the medium date and the short time in the reader's zone ("31 Mar 2027, 17:25").
- ``duration``: a rounded length of time in words ("3 hours", "2 days").
- ``money(amount, currency)``: the amount rounded half up to the currency's minor unit, written
  with its symbol the locale's way ("€58,000.00" in en, "58.000,00 €" in de).
- ``percent``: a fraction as a percentage, at most one decimal ("12.5%"); ``reduction``: a
  discount in percentage points as a reduction ("−10%").
- ``browser``: a user-agent string as a browser and system ("Chrome 131 on Windows").

Machine-readable attributes (``<time datetime="...">``, data attributes) stay ISO 8601.

Money is ``Decimal`` throughout; rounding is half up to the currency's minor unit (ISO 4217).
Markdown is CommonMark (with tables) and raw HTML off: tags a writer types are shown as text,
never interpreted; markdown-it's link validation refuses javascript:, vbscript:, file: and data:
URLs; and nh3 (Ammonia) then keeps only harmless tags and http, https and mailto links.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import nh3
from babel import Locale, dates, numbers
from markdown_it import MarkdownIt
from markupsafe import Markup

# ISO 4217 minor units where they are not 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}
DEFAULT_LOCALE = "en"
UTC_ZONE = ZoneInfo("UTC")
MINUS = "\N{MINUS SIGN}"

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
MARKDOWN_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 for EUR, 1 for JPY, 0.001 for KWD."""
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency.upper(), 2))


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    """Every IANA time zone name this machine knows (a browser may report an old alias)."""
    return frozenset(available_timezones())


@lru_cache(maxsize=1)
def zone_choices() -> tuple[str, ...]:
    """The zones to offer a person: the canonical Area/City names and UTC, sorted."""
    areas = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
             "Europe", "Indian", "Pacific")  # fmt: skip
    return ("UTC", *sorted(z for z in known_zones() if z.split("/", 1)[0] in areas))


def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The IANA time zone ``name`` ("Europe/Berlin"), or None when it is empty or unknown."""
    if not name or not isinstance(name, str) or name not in known_zones():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _reader_locale(locale: str | Locale | None) -> Locale:
    if locale is not None:
        return Locale.parse(locale)
    from flask_babel import get_locale

    return get_locale() or Locale.parse(DEFAULT_LOCALE)


def _reader_zone(zone: str | dt.tzinfo | None) -> dt.tzinfo:
    if isinstance(zone, dt.tzinfo):
        return zone
    if zone is not None:
        return zone_or_none(zone) or UTC_ZONE
    from flask import has_app_context
    from flask_babel import get_timezone

    return (get_timezone() if has_app_context() else None) or UTC_ZONE


def _moment(value: dt.datetime, zone) -> dt.datetime:
    """A stored moment (UTC; naive means UTC) in the reader's zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(_reader_zone(zone))


def date(value, format: str = "medium", *, locale=None, zone=None) -> str:
    """A day: a ``date`` as it is, a moment as the reader's day. "" for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = _moment(value, zone).date()
    return _day_text(value, format, _reader_locale(locale))


def datetime(value, *, with_zone: bool = False, locale=None, zone=None) -> str:
    """A moment as the medium date and the short time in the reader's zone ("31 Mar 2027,
    17:25"), followed by the zone's name with ``with_zone`` (a record that others read, such as
    an acceptance certificate). "" for None."""
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.datetime):
        return date(value, locale=locale)
    moment = _moment(value, zone)
    # The text shows the reader's wall clock to the minute: that, not the moment, is the key.
    wall_clock = moment.replace(second=0, microsecond=0, tzinfo=None)
    text = _moment_text(wall_clock, _reader_locale(locale))
    return f"{text} ({moment.tzinfo})" if with_zone else text


# Babel formats a date in some 80 Python calls; a list page shows the same few days and minutes
# again and again, so each text is kept (per day or minute, format and language).


@lru_cache(maxsize=4096)
def _day_text(day: dt.date, format: str, reader: Locale) -> str:
    return dates.format_date(day, format, locale=reader)


@lru_cache(maxsize=4096)
def _moment_text(wall_clock: dt.datetime, reader: Locale) -> str:
    pattern = reader.datetime_formats.get("medium") or "{1} {0}"
    return pattern.replace("{1}", dates.format_date(wall_clock, "medium", locale=reader)).replace(
        "{0}", dates.format_time(wall_clock, "short", locale=reader)
    )


def duration(value, *, locale=None) -> str:
    """A length of time (a ``timedelta`` or seconds) in words, rounded: "3 hours"."""
    if value is None or value == "":
        return ""
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    return dates.format_timedelta(seconds, locale=_reader_locale(locale))


def money(amount, currency: str, *, locale=None) -> str:
    """An amount rounded half up to the currency's minor unit, with the currency's symbol the
    reader's way: "€1,234.50" (en), "1.234,50 €" (de), "¥1,235". "" for None."""
    if amount is None or amount == "":
        return ""
    value = round_money(Decimal(amount), currency)
    return numbers.format_currency(value, currency.upper(), locale=_reader_locale(locale))


def number(value, *, locale=None) -> str:
    """A count or measure the reader's way: "1,234" (en), "1.234" (de), "12.5". "" for None."""
    if value is None or value == "":
        return ""
    return numbers.format_decimal(value, locale=_reader_locale(locale))


@lru_cache(maxsize=32)
def _percent_pattern(locale: Locale) -> numbers.NumberPattern:
    pattern = numbers.parse_pattern(locale.percent_formats[None].pattern)
    pattern.frac_prec = (0, 1)  # "12.5%", "10%": at most one decimal
    return pattern


def percent(value, *, locale=None) -> str:
    """A fraction (0.125) as a percentage with at most one decimal: "12.5%" (en), "12,5 %"
    (de). "" for None."""
    if value is None or value == "":
        return ""
    reader = _reader_locale(locale)
    return _percent_pattern(reader).apply(Decimal(str(value)), reader)


def reduction(points, *, locale=None) -> str:
    """A discount in percentage points (10.00) as the reduction it is: "−10%". "" for none."""
    if not points:
        return ""
    return MINUS + percent(Decimal(str(points)) / 100, locale=locale)


@lru_cache(maxsize=256)
def _agent(user_agent: str) -> tuple[str, str]:
    from ua_parser import parse

    found = parse(user_agent)
    agent, system = found.user_agent, found.os
    name = " ".join(p for p in (agent.family, agent.major) if p) if agent else ""
    platform = " ".join(p for p in (system.family, system.major) if p) if system else ""
    return name, platform


def browser(user_agent: str | None) -> str:
    """A user-agent string as a person reads it: "Chrome 131 on Windows 10", "Mobile Safari 17
    on iOS 17" (ua-parser, the Browserscope rules). The raw string stays the record; "" for
    none."""
    from flask_babel import gettext as _

    if not user_agent:
        return ""
    name, platform = _agent(user_agent)
    if name and platform:
        return _("%(browser)s on %(system)s", browser=name, system=platform)
    return name or platform or _("Unknown browser")


def markdown(text: str | None) -> Markup:
    """Markdown people write (proposal sections, case descriptions, replies, articles) as safe
    HTML: no scripts, no event handlers, no images, no javascript: links."""
    clean = nh3.clean(
        _markdown.render(text or ""),
        tags=MARKDOWN_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 - html off, then sanitised by nh3


FILTERS = {
    "date": date,
    "datetime": datetime,
    "duration": duration,
    "money": money,
    "number": number,
    "percent": percent,
    "reduction": reduction,
    "browser": browser,
    "markdown": markdown,
}
