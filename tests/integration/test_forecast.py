"""The forecast (issue 14): each stage's conversion from the registrations' audit history, the
open pipeline by expected close month weighted by those rates, and what was won a year before,
all worked out by hand below and asserted exactly, from the queries and in the page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
import time_machine
from sqlalchemy import event

from partners.analytics import forecast
from portal import access, reports
from portal.audit import AuditEvent
from portal.db import db as portal_db
from portal.db import set_principal
from portal.tenancy import Principal
from tests.integration.test_channel_dashboard import tables

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
# What the page shows when no period is asked for: the twelve months from this one.
AHEAD = reports.Period("custom", date(2026, 6, 1), date(2027, 5, 31))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _history(db, deal, *moves: str) -> None:
    """The audit events ``portal.workflow.transition`` writes for these moves of ``deal``."""
    for n, to in enumerate(moves):
        db.add(
            AuditEvent(
                org_id=deal.org_id,
                action=f"deal.{to}",
                object_type="DealRegistration",
                object_id=deal.id,
                created_at=at("2025-01-01") if n == 0 else at("2025-02-01"),
                after={"status": to},
            )
        )
    db.flush()


# Finished registrations and their moves:
#   H1 submitted, approved, won        (EUR 1000, closed 2025-07-15)
#   H2 submitted, approved, lost
#   H3 submitted, approved, won        (EUR 1200, closed 2025-06-30 23:30)
#   H4 submitted, rejected
#   H5 submitted, information, submitted, rejected
#   H6 submitted, approved, expired
#   H7 submitted, information, submitted, approved, won  (EUR 900, closed 2025-05-31: too early)
# submitted: 7 finished, 3 won: 3/7; information requested: 2 finished, 1 won: 1/2;
# approved: 5 finished, 3 won: 3/5.
#
# Open registrations (EUR unless said), by expected close:
#   O1 submitted  700    2026-07-10   weighted 700 x 3/7 = 300
#   O2 approved   1000   2026-07-20   weighted 600
#   O3 info       2000   2026-08-05   weighted 1000
#   O4 approved   333.33 2026-08-31   weighted 199.998
#   O5 approved   USD 5000 2026-07-01 (another currency)
#   O6 submitted  100    2026-05-20   (before the period: overdue)
#   O7 draft      9999   2026-07-01   (not registered yet)
#   O8 approved   800    2027-06-01   (after the period)
# July: 1700 open, 900.00 weighted; August: 2333.33 open, 1199.998 -> 1200.00 weighted.
# Won a year before: June 2025 1200 (H3), July 2025 1000 (H1).


@pytest.fixture
def world(db, vendor, org_factory, deal_factory, user_factory):
    partner = org_factory("reseller", name="Alpha Partners", tier="gold")

    def deal(status, value, currency="EUR", **fields):
        return deal_factory(
            partner, status=status, value=Decimal(value), currency=currency, **fields
        )

    history = [
        (deal("won", "1000", closed_at=at("2025-07-15")), ["submitted", "approved", "won"]),
        (deal("lost", "5000", closed_at=at("2025-07-16")), ["submitted", "approved", "lost"]),
        (
            deal("won", "1200", closed_at=at("2025-06-30T23:30")),
            ["submitted", "approved", "won"],
        ),
        (deal("rejected", "50"), ["submitted", "rejected"]),
        (deal("rejected", "60"), ["submitted", "info_requested", "submitted", "rejected"]),
        (deal("expired", "70"), ["submitted", "approved", "expired"]),
        (
            deal("won", "900", closed_at=at("2025-05-31T23:00")),
            ["submitted", "info_requested", "submitted", "approved", "won"],
        ),
    ]
    for record, moves in history:
        _history(db, record, *moves)
    opened = [
        deal("submitted", "700", expected_close=date(2026, 7, 10)),
        deal("approved", "1000", expected_close=date(2026, 7, 20)),
        deal("info_requested", "2000", expected_close=date(2026, 8, 5)),
        deal("approved", "333.33", expected_close=date(2026, 8, 31)),
        deal("approved", "5000", "USD", expected_close=date(2026, 7, 1)),
        deal("submitted", "100", expected_close=date(2026, 5, 20)),
        deal("draft", "9999", expected_close=date(2026, 7, 1)),
        deal("approved", "800", expected_close=date(2027, 6, 1)),
    ]
    # Open registrations have a history too: it does not count until they finish.
    _history(db, opened[1], "submitted", "approved")
    return {
        "vendor": vendor,
        "partner": partner,
        "manager": user_factory(vendor, access.SALES_REP),
    }


def _as_vendor(world):
    return Principal(world["vendor"].id, "vendor", access.SALES_REP, None)


def test_the_rates_come_from_the_transitions_history(app, world):
    with app.test_request_context():
        set_principal(portal_db.session, _as_vendor(world))
        rates = forecast.stage_rates()
    assert {s: (r.finished, r.won, r.weight, r.borrowed_from) for s, r in rates.items()} == {
        "submitted": (7, 3, Fraction(3, 7), None),
        "info_requested": (2, 1, Fraction(1, 2), None),
        "approved": (5, 3, Fraction(3, 5), None),
    }


def test_the_weighted_forecast_beside_the_year_before(app, world):
    with app.test_request_context():
        set_principal(portal_db.session, _as_vendor(world))
        result = forecast.forecast(AHEAD, "EUR")
    zero = Decimal("0.00")
    months = AHEAD.months()
    assert months[0] == "2026-06" and months[-1] == "2027-05"
    assert result.open_count == [0, 2, 2] + [0] * 9
    assert result.pipeline == [zero, Decimal("1700.00"), Decimal("2333.33")] + [zero] * 9
    assert result.weighted == [zero, Decimal("900.00"), Decimal("1200.00")] + [zero] * 9
    assert result.won_year_before == [Decimal("1200.00"), Decimal("1000.00")] + [zero] * 10
    assert result.total_weighted == Decimal("2100.00")
    assert (result.overdue_count, result.overdue_value) == (1, Decimal("100.00"))


def test_a_stage_without_history_borrows_the_rate_of_submitted(app, db, vendor, deal_factory,
                                                               org_factory):  # fmt: skip
    partner = org_factory("reseller")
    won = deal_factory(partner, status="won")
    rejected = deal_factory(partner, status="rejected")
    _history(db, won, "submitted", "approved", "won")
    _history(db, rejected, "submitted", "rejected")
    deal_factory(
        partner, status="info_requested", value=Decimal("500"), expected_close=date(2026, 7, 1)
    )
    with app.test_request_context():
        set_principal(portal_db.session, _as_vendor({"vendor": vendor}))
        rates = forecast.stage_rates()
        result = forecast.forecast(AHEAD, "EUR")
    assert rates["submitted"].weight == Fraction(1, 2)
    assert rates["approved"].weight == 1
    borrowing = rates["info_requested"]
    assert (borrowing.finished, borrowing.won) == (0, 0)  # its own history: none
    assert (borrowing.weight, borrowing.borrowed_from) == (Fraction(1, 2), "submitted")
    assert result.weighted[1] == Decimal("250.00")


def test_without_any_finished_registration_nothing_is_weighted(app, vendor, deal_factory,
                                                               org_factory):  # fmt: skip
    deal_factory(org_factory("reseller"), status="approved", expected_close=date(2026, 7, 1))
    with app.test_request_context():
        set_principal(portal_db.session, _as_vendor({"vendor": vendor}))
        result = forecast.forecast(AHEAD, "EUR")
    assert all(r.weight is None and r.borrowed_from is None for r in result.rates.values())
    assert result.pipeline[1] == Decimal("1000.00") and result.weighted[1] == Decimal("0.00")


def test_the_page_shows_the_forecast_and_the_rates_used(client_as, world):
    with time_machine.travel(NOW, tick=False):
        response = client_as(world["manager"]).get("/reports/forecast")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = tables(response)
    assert found["table-forecast-by-month"][:4] == [
        ["Month", "Open pipeline", "Weighted forecast", "Won a year before"],
        ["Jun 2026", "€0.00", "€0.00", "€1,200.00"],
        ["Jul 2026", "€1,700.00", "€900.00", "€1,000.00"],
        ["Aug 2026", "€2,333.33", "€1,200.00", "€0.00"],
    ]
    assert found["table-forecast-by-month"][-1][0] == "May 2027"
    assert found["table-stage-rates"] == [
        ["Stage", "Reached it and finished", "Of those, won", "Rate"],
        ["Under review", "7", "3", "42.9%"],
        ["Information requested", "2", "1", "50%"],
        ["Approved", "5", "3", "60%"],
    ]
    figures = page[page.index('data-testid="forecast-figures"') :]
    assert "€4,033.33" in figures and "€2,100.00" in figures and "€2,200.00" in figures


def test_a_period_asked_for_is_used(client_as, world):
    with time_machine.travel(NOW, tick=False):
        response = client_as(world["manager"]).get(
            "/reports/forecast?period=custom&start=2026-08-01&end=2026-08-31"
        )
    assert tables(response)["table-forecast-by-month"][1:] == [
        ["Aug 2026", "€2,333.33", "€1,200.00", "€0.00"]
    ]


def test_statements_do_not_grow_with_the_data(app, db, client_as, world, deal_factory):
    engine = app.extensions["db"].engine
    statements: list[str] = []
    browser = client_as(world["manager"])

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def measure() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert browser.get("/reports/forecast").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    before = measure()
    partner = world["partner"]
    for n in range(15):
        finished = deal_factory(partner, status="lost" if n % 3 else "won")
        _history(db, finished, "submitted", "approved", finished.status)
        deal_factory(partner, status="approved", value=Decimal(100 + n))
    assert measure() == before
