"""One format for dates, times, durations, money and percentages (portal.formatting): Babel in the
reader's locale and time zone, the same from every template."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from portal import formatting

# 22:30 UTC on 31 March is already 1 April in Berlin (summer time, UTC+2).
LATE = datetime(2027, 3, 31, 22, 30, tzinfo=UTC)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.mark.parametrize(
    ("locale", "day", "moment"),
    [
        ("en", "Mar 31, 2027", "Apr 1, 2027, 12:30\u202fAM"),
        ("en_GB", "31 Mar 2027", "1 Apr 2027, 00:30"),
        ("de", "31.03.2027", "01.04.2027, 00:30"),
    ],
)
def test_dates_and_times_in_the_readers_locale_and_zone(locale, day, moment):
    assert formatting.date(date(2027, 3, 31), locale=locale) == day
    assert formatting.datetime(LATE, locale=locale, zone="Europe/Berlin") == moment


def test_a_moment_is_the_readers_day_and_utc_when_no_zone_is_known():
    assert formatting.date(LATE, locale="en_GB", zone="UTC") == "31 Mar 2027"
    assert formatting.date(LATE, locale="en_GB", zone="Europe/Berlin") == "1 Apr 2027"
    assert formatting.date(LATE, locale="en_GB", zone="Mars/Olympus") == "31 Mar 2027"
    naive = LATE.replace(tzinfo=None)  # a naive stored time is UTC
    assert formatting.datetime(naive, locale="en_GB", zone="Asia/Tokyo") == "1 Apr 2027, 07:30"
    assert (
        formatting.datetime(LATE, locale="en_GB", zone="Europe/Berlin", with_zone=True)
        == "1 Apr 2027, 00:30 (Europe/Berlin)"
    )


def test_nothing_reads_as_nothing():
    for filter_ in (formatting.date, formatting.datetime, formatting.duration, formatting.percent):
        assert filter_(None) == ""
    assert formatting.money(None, "EUR") == "" and formatting.reduction(D("0")) == ""
    assert formatting.browser(None) == "" and formatting.browser("") == ""


@pytest.mark.parametrize(
    ("locale", "euros", "yen", "dinars"),
    [
        ("en", "€58,000.00", "¥1,235", "KWD1.235"),
        ("de", "58.000,00\xa0€", "1.235\xa0¥", "1,235\xa0KWD"),
    ],
)
def test_money_has_its_currency_and_minor_unit_the_locales_way(locale, euros, yen, dinars):
    assert formatting.money(D("58000"), "EUR", locale=locale) == euros
    assert formatting.money(D("1234.5"), "JPY", locale=locale) == yen  # half up, no decimals
    assert formatting.money(D("1.2345"), "KWD", locale=locale) == dinars  # three decimals


def test_money_rounds_half_up_as_the_quote_arithmetic_does():
    assert formatting.money(D("0.125"), "EUR", locale="en") == "€0.13"
    assert formatting.money(D("0.135"), "EUR", locale="en") == "€0.14"  # not half even
    assert formatting.round_money(D("0.125"), "EUR") == D("0.13")  # the arithmetic is unchanged


def test_percentages_and_reductions():
    assert formatting.percent(D("0.125"), locale="en") == "12.5%"
    assert formatting.percent(0.1, locale="en") == "10%"
    assert formatting.percent(D("1") / 3, locale="en") == "33.3%"
    assert formatting.percent(D("0.125"), locale="de") == "12,5\xa0%"
    assert formatting.reduction(D("10.00"), locale="en") == "\u221210%"
    assert formatting.reduction(D("12.50"), locale="de") == "\u221212,5\xa0%"


def test_durations_in_words():
    assert formatting.duration(timedelta(hours=3), locale="en") == "3 hours"
    assert formatting.duration(timedelta(hours=3), locale="de") == "3 Stunden"
    assert formatting.duration(2 * 86400, locale="en") == "2 days"


def test_a_browser_reads_as_its_name_and_system(app):
    with app.test_request_context():
        assert formatting.browser(CHROME) == "Chrome 131 on Windows 10"
        assert formatting.browser(IPHONE) == "Mobile Safari 17 on iOS 17"
        assert formatting.browser(FIREFOX) == "Firefox 133 on Ubuntu"
        assert formatting.browser("curl/8.5.0") == "curl 8"
        assert formatting.browser("QuoteTest/1.0") == "Unknown browser"


def test_time_zones_offered_and_accepted():
    zones = formatting.zone_choices()
    assert zones[0] == "UTC" and "Europe/Berlin" in zones and "America/New_York" in zones
    assert "US/Eastern" not in zones and "posixrules" not in zones  # aliases are not offered
    assert formatting.zone_or_none("Europe/Kiev") is not None  # but a browser's alias is kept
    for bad in ("", None, "Mars/Olympus", "../etc/passwd", "Europe/Berlin\x00", "x" * 300):
        assert formatting.zone_or_none(bad) is None


def test_filters_are_registered_once(app):
    for name in ("date", "datetime", "duration", "money", "percent", "reduction", "browser"):
        assert app.jinja_env.filters[name] is formatting.FILTERS[name]
    template = app.jinja_env.from_string(
        "{{ d|date }} · {{ m|datetime }} · {{ a|money('EUR') }} · {{ p|reduction }}"
    )
    with app.test_request_context():  # no one signed in: the default locale, UTC
        assert template.render(d=date(2027, 3, 31), m=LATE, a=D("18180"), p=D("10")) == (
            "Mar 31, 2027 · Mar 31, 2027, 10:30\u202fPM · €18,180.00 · \u221210%"
        )


def test_a_kept_text_is_the_readers_wall_clock_not_the_moment():
    """Texts are kept per wall-clock minute and language: the same moment reads differently in
    two zones, two moments in the same minute read alike, and one second later in the next
    minute does not reuse the first."""
    berlin = formatting.datetime(LATE, locale="en_GB", zone="Europe/Berlin")
    york = formatting.datetime(LATE, locale="en_GB", zone="America/New_York")
    assert (berlin, york) == ("1 Apr 2027, 00:30", "31 Mar 2027, 18:30")
    assert formatting.datetime(LATE + timedelta(seconds=59), locale="en_GB", zone="UTC") == (
        "31 Mar 2027, 22:30"
    )
    assert formatting.datetime(LATE + timedelta(seconds=60), locale="en_GB", zone="UTC") == (
        "31 Mar 2027, 22:31"
    )
    assert formatting.datetime(LATE, locale="de", zone="Europe/Berlin") == "01.04.2027, 00:30"
    assert formatting.date(LATE, locale="en_GB", zone="America/New_York") == "31 Mar 2027"
    assert formatting.date(LATE, locale="en_GB", zone="Europe/Berlin") == "1 Apr 2027"
