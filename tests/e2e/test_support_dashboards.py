"""In a real browser, on the demo world: a support agent opens the support dashboard from the
navigation, sees a chart drawn and reads the open cases by age in the table beneath it; Granite
Bank's customer admin opens its own dashboard and reads its open cases, and nothing of another
organisation's, and sees on its case when support's next reply is due; axe-core finds no serious
or critical violation on either page; each audience is refused the other's."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from selfservice.cases.seed import DEMO_CASES, PAST_CASES
from tests.e2e.axe import blocking_violations, report
from tests.e2e.steps import chart_drawn, click, nav, nav_link, sign_in, table_rows

pytestmark = pytest.mark.browser

AGENT = "support@northwind.example"
CUSTOMER = "admin@granite.example"


def test_a_support_agent_opens_the_support_dashboard_and_reads_the_backlog(page: Page, browser_log):
    sign_in(page, AGENT)
    click(nav_link(page, "Support dashboard"))
    expect(page).to_have_url(re.compile(r"/reports/support$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Support dashboard")
    chart_drawn(page, "backlog-by-age")
    # The demo's unresolved cases, opened hours ago: the scanner (pending, normal, 20 h), the
    # production line (new, urgent, 12 h), the warehouse Wi-Fi (new, high, 6 h); the branch VPN
    # (new, high, 30 h), the core switch (open, urgent, 50 h), the licence activation (on hold,
    # normal, 40 h).
    assert table_rows(page, "table-backlog-by-age") == [
        ["Open for", "Low", "Normal", "High", "Urgent"],
        ["Under 1 day", "0", "1", "1", "1"],
        ["1–3 days", "0", "1", "1", "1"],
        ["3–7 days", "0", "0", "0", "0"],
        ["7–30 days", "0", "0", "0", "0"],
        ["Over 30 days", "0", "0", "0", "0"],
    ]
    rows = table_rows(page, "table-sla-by-month")
    assert rows[0] == ["Month", "First response", "Next response", "Resolution"]
    assert len(rows) == 13  # the last twelve months
    # The demo's follow-up questions were answered, most in time: next response is counted.
    assert any(re.fullmatch(r"\d+(\.\d)?%", row[2]) for row in rows[1:])
    # Every demo case was opened in the last twelve months (the rollup the seeder computed).
    opened = [int(row[2]) for row in table_rows(page, "table-cases-avoided-by-month")[1:]]
    assert sum(opened) == len(DEMO_CASES) + len(PAST_CASES)
    browser_log.assert_clean()


def test_a_customer_admin_opens_its_dashboard_and_reads_its_open_cases(page: Page, browser_log):
    sign_in(page, CUSTOMER)
    click(nav_link(page, "Dashboard"))
    expect(page).to_have_url(re.compile(r"/reports/customer$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    chart_drawn(page, "open-cases")
    # Granite Bank's cases: the branch VPN (new, high), the core switch (open, urgent), the
    # scanner (pending, normal). Harbor Logistics' licence case (on hold) is not Granite's.
    assert table_rows(page, "table-open-cases") == [
        ["Status", "Low", "Normal", "High", "Urgent"],
        ["New", "0", "0", "1", "0"],
        ["Open", "0", "0", "0", "1"],
        ["Pending", "0", "1", "0", "0"],
        ["On hold", "0", "0", "0", "0"],
    ]
    expect(page.get_by_text("Harbor")).to_have_count(0)
    browser_log.assert_clean()


def test_a_customer_admin_sees_when_supports_next_reply_is_due(page: Page, browser_log):
    # The core switch case: support answered, Granite asked again two hours before the demo
    # was seeded, and support has not replied since.
    sign_in(page, CUSTOMER)
    click(nav_link(page, "Cases"))
    row = page.get_by_role("row").filter(has_text="Core switch ports amber")
    click(row.get_by_role("link").first)  # the case's number
    service_level = page.get_by_test_id("sla")
    expect(service_level).to_contain_text("First response:")
    expect(service_level).to_contain_text(
        re.compile(r"Next response:\s+(breached|[\d.]+ business)")
    )
    browser_log.assert_clean()


def test_axe_finds_no_serious_or_critical_violation_on_the_dashboards(axe_page: Page, browser_log):
    found = {}
    for email, path in ((AGENT, "/reports/support"), (CUSTOMER, "/reports/customer")):
        axe_page.context.clear_cookies()
        sign_in(axe_page, email)
        response = axe_page.goto(path)
        assert response.status == 200, path
        violations = blocking_violations(axe_page)
        if violations:
            found[path] = violations
    assert not found, report(found)
    browser_log.assert_clean()


@pytest.mark.parametrize(
    ("email", "offered", "refused"),
    [
        (AGENT, "/reports/support", "/reports/customer"),
        (CUSTOMER, "/reports/customer", "/reports/support"),
        ("admin@alpine.example", None, "/reports/support"),
    ],
)
def test_each_audience_is_offered_its_own_and_refused_the_other(
    page: Page, browser_log, email, offered, refused
):
    sign_in(page, email)
    links = (
        nav(page).locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    )
    assert refused not in links, links
    assert offered is None or offered in links, links
    assert page.request.get(refused).status == 403, refused
    browser_log.assert_clean()
