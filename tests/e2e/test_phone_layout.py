"""On a phone (390 × 844), the list pages of every audience show each row's record, status and value
inside the window (not scrolled off to the right of the table), and a quote's totals show their
figures. Less important columns wait for a wider screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.steps import goto, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
MONEY = re.compile(r"\d[\d.,\s\u00a0\u202f]*\d")

# Who, which list, and the columns (by their heading) a row must show on a phone. The first
# column, the record's number or name, links to the record.
LISTS = [
    ("channel@northwind.example", "/leads/", ("Status",)),
    ("channel@northwind.example", "/deals/", ("Value", "Status")),
    ("sales@northwind.example", "/quotes/", ("Total", "Status")),
    ("support@northwind.example", "/cases/queue", ("Status",)),
    ("support@northwind.example", "/cases/", ("Status",)),
    ("admin@alpine.example", "/leads/", ("Status",)),
    ("admin@alpine.example", "/deals/", ("Value", "Status")),
    ("admin@alpine.example", "/quotes/", ("Total", "Status")),
    ("admin@alpine.example", "/cases/", ("Status",)),
    ("lee@granite.example", "/quotes/", ("Total", "Status")),
    ("lee@granite.example", "/cases/", ("Status",)),
]


def in_window(locator, what: str) -> None:
    """Shown, and wholly inside the phone's window (a cell scrolled off inside a
    ``.table-responsive`` box lies right of it)."""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None and box["width"] > 0, what
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, (
        f"{what} is outside the {PHONE['width']} px window: {box}"
    )


def column_index(table, heading: str) -> int:
    headings = [t.strip() for t in table.locator("thead th").all_inner_texts()]
    assert heading in headings, f"no column {heading!r}: {headings}"
    return headings.index(heading)


@pytest.mark.parametrize("email", sorted({email for email, _, _ in LISTS}))
def test_list_pages_show_record_status_and_value_on_a_phone(page: Page, browser_log, email):
    page.set_viewport_size(PHONE)
    sign_in(page, email)
    for _, path, columns in [v for v in LISTS if v[0] == email]:
        goto(page, path)
        table = page.locator("main table").first
        rows = table.locator("tbody tr")
        expect(rows.first).to_be_visible()
        assert rows.first.locator("td").count() > 1, f"{email} {path}: the demo list is empty"
        where = f"{email} {path}"
        # The table needs no sideways scrolling: everything it shows is in the window.
        overflow = table.evaluate("t => t.scrollWidth - t.parentElement.clientWidth")
        assert overflow <= 1, f"{where}: the table is {overflow} px wider than its box"
        in_window(rows.first.locator("td").first.locator("a").first, f"{where}: the record link")
        for heading in columns:
            index = column_index(table, heading)
            in_window(table.locator("thead th").nth(index), f"{where}: the {heading} heading")
            for row in rows.all()[:5]:
                cell = row.locator("td").nth(index)
                in_window(cell, f"{where}: a {heading} cell")
                assert cell.inner_text().strip(), f"{where}: an empty {heading} cell"
                if heading in ("Value", "Total"):
                    assert MONEY.search(cell.inner_text()), f"{where}: {cell.inner_text()!r}"
    browser_log.assert_clean()


@pytest.mark.parametrize("email", ["lee@granite.example", "sales@northwind.example"])
def test_a_quote_shows_its_totals_on_a_phone(page: Page, browser_log, email):
    page.set_viewport_size(PHONE)
    sign_in(page, email)
    goto(page, "/quotes/")
    page.locator("main table tbody tr").first.locator("a").first.click()
    # Measured once the page's stylesheets apply: before its load, the table is laid out bare.
    expect(page).to_have_url(re.compile(r"/quotes/\d+$"))
    page.wait_for_load_state("load")
    expect(page.get_by_test_id("lines")).to_be_visible()
    lines = page.get_by_test_id("lines")
    overflow = lines.evaluate("t => t.scrollWidth - t.parentElement.clientWidth")
    assert overflow <= 1, f"the lines table is {overflow} px wider than its box"
    totals = page.get_by_test_id("quote-totals")
    for name in ("Subtotal", "Tax", "Total"):
        row = totals.locator("div").filter(has=page.get_by_text(name, exact=True))
        figure = row.locator("dd")
        in_window(row.locator("dt"), f"the {name} label")
        in_window(figure, f"the {name} figure")
        assert MONEY.search(figure.inner_text()), f"{name}: {figure.inner_text()!r}"
    # Each line's product and total too.
    first = lines.locator("tbody tr").first
    index = column_index(lines, "Total")
    in_window(first.locator("td").nth(index), "a line's total")
    in_window(page.get_by_test_id("quote-total"), "the quote's total")
    browser_log.assert_clean()
