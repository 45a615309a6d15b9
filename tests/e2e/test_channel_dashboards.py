"""In a real browser, on the demo world: vendor admins, channel managers and sales reps open the
channel dashboard and the forecast from the navigation, see the charts drawn, and read a chart's
figures in the table beneath it; axe-core finds no serious or critical violation on either page;
a partner and a customer are offered neither and are refused both."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import blocking_violations, report
from tests.e2e.steps import chart_drawn, click, nav, nav_link, sign_in, table_rows

pytestmark = pytest.mark.browser

VENDOR_STAFF = ["admin@northwind.example", "channel@northwind.example", "sales@northwind.example"]
PAGES = {"/reports/channel": "Channel dashboard", "/reports/forecast": "Forecast"}


@pytest.mark.parametrize("email", VENDOR_STAFF)
def test_vendor_staff_open_the_channel_dashboard_and_read_a_chart(page: Page, browser_log, email):
    sign_in(page, email)
    click(nav_link(page, "Channel dashboard"))
    expect(page).to_have_url(re.compile(r"/reports/channel$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Channel dashboard")
    chart_drawn(page, "value-by-partner")

    # The demo's registrations in euros over the last 12 months: Cobalt registered Pinecrest
    # (won, 410,000) and Hawthorne (under review, 96,000); Alpine three, of which one approved
    # and still open, one rejected, one expired.
    rows = table_rows(page, "table-value-by-partner")
    assert rows[0] == ["Partner", "Registered", "Approved", "Won"]
    by_partner = {row[0]: row[1:] for row in rows[1:]}
    assert by_partner["Cobalt Networks"] == ["€506,000.00", "€410,000.00", "€410,000.00"]
    assert by_partner["Alpine IT Solutions"] == ["€313,000.00", "€236,000.00", "€0.00"]

    # The pound registrations are one click away, the period kept: Brightline's Orchid (23,500,
    # information requested), Harrow & Finch (38,000, lost) and Saltmarsh (31,000, under review).
    click(page.get_by_role("link", name="GBP", exact=True))
    expect(page).to_have_url(re.compile(r"currency=GBP"))
    rows = table_rows(page, "table-value-by-partner")
    assert {row[0] for row in rows[1:]} == {"Brightline Resellers"}
    assert rows[1][1] == "£92,500.00"
    browser_log.assert_clean()


@pytest.mark.parametrize("email", VENDOR_STAFF)
def test_vendor_staff_open_the_forecast_and_read_the_rates(page: Page, browser_log, email):
    sign_in(page, email)
    click(nav_link(page, "Forecast"))
    expect(page).to_have_url(re.compile(r"/reports/forecast$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Forecast")
    chart_drawn(page, "forecast-by-month")
    # The demo's history: of the 4 finished registrations (won, lost, rejected, expired) one was
    # won; 3 of them had been approved. No registration asked for information has finished.
    assert table_rows(page, "table-stage-rates")[1:] == [
        ["Under review", "4", "1", "25%"],
        ["Information requested", "0", "0", "25% (no history yet: the rate of Under review)"],
        ["Approved", "3", "1", "33.3%"],
    ]
    rows = table_rows(page, "table-forecast-by-month")
    assert rows[0] == ["Month", "Open pipeline", "Weighted forecast", "Won a year before"]
    assert len(rows) == 13  # the twelve months from this one
    browser_log.assert_clean()


def test_axe_finds_no_serious_or_critical_violation_on_the_dashboards(axe_page: Page, browser_log):
    sign_in(axe_page, "channel@northwind.example")
    found = {}
    for path in PAGES:
        response = axe_page.goto(path)
        assert response.status == 200, path
        violations = blocking_violations(axe_page)
        if violations:
            found[path] = violations
    assert not found, report(found)
    browser_log.assert_clean()


@pytest.mark.parametrize("email", ["admin@alpine.example", "admin@granite.example"])
def test_partners_and_customers_neither_see_nor_open_them(page: Page, browser_log, email):
    sign_in(page, email)
    links = (
        nav(page).locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    )
    assert not set(PAGES) & set(links), links
    for label in PAGES.values():
        expect(nav(page).get_by_role("link", name=label, exact=True)).to_have_count(0)
    for path in PAGES:
        assert page.request.get(path).status == 403, path
    browser_log.assert_clean()
