"""In a real browser, on the demo world: a vendor admin opens the Feedback dashboard from the
navigation, sees the charts drawn, reads the figures of a chart in the table beneath it and
narrows the period; axe-core finds no serious or critical violation on the page; a partner is
not offered it and is refused it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import blocking_violations
from tests.e2e.steps import chart_drawn, click, nav, nav_link, sign_in, table_rows

pytestmark = pytest.mark.browser

PATH = "/feedback/analytics"
LABEL = "Feedback dashboard"


def test_a_vendor_admin_opens_the_feedback_dashboard_and_reads_a_chart(page: Page, browser_log):
    sign_in(page, "admin@northwind.example")
    click(nav_link(page, LABEL))
    expect(page).to_have_url(re.compile(r"/feedback/analytics$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(LABEL)
    chart_drawn(page, "nps-by-product-line")

    # The demo's two campaigns (feedback/seed.py), both within the last 12 months, each sent to
    # the demo's people asked (more than 14, with the suppliers and Fjord's resellers).
    # Networking, autumn: 10 answers, 7 promoters and 1 detractor: (7 - 1) / 10 = 60. The summer
    # one, about the whole portfolio, all its 14 scores: 12 answers, 5 promoters, 3 detractors:
    # (5 - 3) / 12 = 16.7.
    rows = table_rows(page, "table-nps-by-product-line")
    assert rows[0] == ["Product line", "NPS"]
    by_line = {row[0]: row[1] for row in rows[1:]}
    assert by_line["Networking"] == "60"
    assert by_line["No product line"] == "16.7"
    assert by_line["Security"] == "—"

    # The demo's seven ideas, proposed and moved this month: at its end two are under review,
    # one in each other status.
    chart_drawn(page, "ideas-by-status")
    rows = table_rows(page, "table-ideas-by-status")
    assert rows[0] == [
        "Month", "Under review", "Planned", "In progress", "Done", "Declined", "Duplicate"
    ]  # fmt: skip
    assert len(rows) == 13  # the twelve months to this one
    assert rows[-1][1:] == ["2", "1", "1", "1", "1", "1"]
    assert all(row[1:] == ["0"] * 6 for row in rows[1:-1])

    # This month only: the period filter keeps one month.
    page.get_by_role("combobox", name="Period").select_option("month")
    click(page.get_by_role("button", name="Show"))
    expect(page).to_have_url(re.compile(r"period=month"))
    rows = table_rows(page, "table-ideas-by-status")
    assert len(rows) == 2 and rows[1][1:] == ["2", "1", "1", "1", "1", "1"]
    browser_log.assert_clean()


def test_axe_finds_no_serious_or_critical_violation_on_the_dashboard(axe_page: Page, browser_log):
    sign_in(axe_page, "admin@northwind.example")
    response = axe_page.goto(PATH)
    assert response.status == 200
    violations = blocking_violations(axe_page)
    assert violations == []
    browser_log.assert_clean()


def test_a_partner_neither_sees_nor_opens_it(page: Page, browser_log):
    sign_in(page, "admin@alpine.example")
    links = (
        nav(page).locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    )
    assert PATH not in links, links
    expect(nav(page).get_by_role("link", name=LABEL, exact=True)).to_have_count(0)
    assert page.request.get(PATH).status == 403
    browser_log.assert_clean()
