"""In a real browser, on the demo world: a vendor admin opens the Feedback dashboard from the
navigation, sees the charts drawn, reads the figures of a chart in the table beneath it and
narrows the period; axe-core finds no serious or critical violation on the page; a partner is
not offered it and is refused it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.steps import click, nav, nav_link, sign_in
from tests.e2e.test_layout_accessibility import AXE, BLOCKING

pytestmark = pytest.mark.browser

PATH = "/feedback/analytics"
LABEL = "Feedback dashboard"


def _rows(page: Page, table_id: str) -> list[list[str]]:
    return page.locator(f"#{table_id} tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.textContent.trim()))"
    )


def _drawn(page: Page, chart_key: str) -> None:
    """Chart.js drew on the chart's canvas (it keeps the chart on the canvas element)."""
    expect(page.locator(f"#chart-{chart_key}")).to_be_visible()
    page.wait_for_function(
        "id => window.Chart && Chart.getChart(document.getElementById(id)) !== undefined",
        arg=f"chart-{chart_key}",
    )


def test_a_vendor_admin_opens_the_feedback_dashboard_and_reads_a_chart(page: Page, browser_log):
    sign_in(page, "admin@northwind.example")
    click(nav_link(page, LABEL))
    expect(page).to_have_url(re.compile(r"/feedback/analytics$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(LABEL)
    _drawn(page, "nps-by-product-line")

    # The demo's two campaigns (feedback/seed.py), both within the last 12 months, each sent to
    # the demo's people asked (more than 14, with the suppliers and Fjord's resellers).
    # Networking, autumn: 10 answers, 7 promoters and 1 detractor: (7 - 1) / 10 = 60. The summer
    # one, about the whole portfolio, all its 14 scores: 12 answers, 5 promoters, 3 detractors:
    # (5 - 3) / 12 = 16.7.
    rows = _rows(page, "table-nps-by-product-line")
    assert rows[0] == ["Product line", "NPS"]
    by_line = {row[0]: row[1] for row in rows[1:]}
    assert by_line["Networking"] == "60"
    assert by_line["No product line"] == "16.7"
    assert by_line["Security"] == "—"

    # The demo's seven ideas, proposed and moved this month: at its end two are under review,
    # one in each other status.
    _drawn(page, "ideas-by-status")
    rows = _rows(page, "table-ideas-by-status")
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
    rows = _rows(page, "table-ideas-by-status")
    assert len(rows) == 2 and rows[1][1:] == ["2", "1", "1", "1", "1", "1"]
    browser_log.assert_clean()


def test_axe_finds_no_serious_or_critical_violation_on_the_dashboard(axe_page: Page, browser_log):
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make install-test does)", pytrace=False)
    sign_in(axe_page, "admin@northwind.example")
    response = axe_page.goto(PATH)
    assert response.status == 200
    axe_page.add_script_tag(path=str(AXE))
    violations = axe_page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact,
                        nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    assert [v for v in violations if v["impact"] in BLOCKING] == []
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
