"""In a real browser (issue 14, item 4): the channel manager filters the lead list to one product
line, clicks "Export CSV" and gets the file: named after the list and the day, UTF-8 with a
byte-order mark, and holding exactly the rows the filtered list shows, in its order."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.steps import click, nav_link, sign_in

pytestmark = pytest.mark.browser

MANAGER = "channel@northwind.example"


def test_the_filtered_lead_list_exports_as_csv(page: Page, browser_log):
    sign_in(page, MANAGER)
    click(nav_link(page, "Leads"))
    expect(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible()
    page.get_by_label("Product line").select_option("networking")
    click(page.get_by_role("button", name="Filter"))
    expect(page).to_have_url(re.compile(r"product_line=networking"))
    companies = page.get_by_role("main").locator("table tbody tr td:first-child a")
    expect(companies.first).to_be_visible()
    shown = companies.all_inner_texts()
    assert shown

    link = page.get_by_role("link", name="Export CSV")
    assert "product_line=networking" in link.get_attribute("href")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert re.fullmatch(r"leads-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["ID", "Company"]
    assert {r[header.index("Product line")] for r in body} == {"networking"}
    # The page shows the list's first page; the file is the whole list in the same order.
    assert [r[1] for r in body][: len(shown)] == shown
    browser_log.assert_clean()
