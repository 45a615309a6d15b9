"""In a real browser, a quote from builder to acceptance (issue 5's "Done when").

The sales rep builds a quote for a customer with a firewall but not the licence it requires: the
builder names the rule and the line, and sending is refused with the same message. The rep adds
the licence, the warning goes, the quote is sent. The customer's admin opens it (it becomes
viewed), downloads the PDF, and accepts it by typing a full name and ticking the consent box;
the certificate shows the PDF's SHA-256 as its document fingerprint. The rep then sees
the quote accepted. No page logs an error or asks a host other than the portal's own.

The portal runs as a live server of this module's own, with a PostgreSQL database of its own
name (``..._quotes``) when the suite runs on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import serve_portal
from tests.e2e.steps import click, goto, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

SALES = "sales@northwind.example"
CUSTOMER = "admin@kestrel.example"
CUSTOMER_ORG = "Kestrel Manufacturing"
DETAIL_URL = re.compile(r"/quotes/(\d+)$")
NUMBER = re.compile(r"Q-\d{4}-\d{5}")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The real app, migrated and seeded, on 127.0.0.1 (a database of this module's own)."""
    with serve_portal(tmp_path_factory, "_quotes") as base_url:
        yield base_url


def _status(page: Page):
    return page.get_by_role("heading", level=1).get_by_test_id("quote-status")


def _add_line(page: Page, sku: str, quantity: int) -> None:
    page.get_by_label("SKU", exact=True).fill(sku)
    page.get_by_label("Quantity", exact=True).fill(str(quantity))
    click(page.get_by_role("button", name="Add line"))
    expect(page.get_by_test_id("lines")).to_contain_text(sku)


def test_vendor_builds_fixes_and_sends_the_customer_accepts(page: Page, browser_log):
    sign_in(page, SALES)
    click(nav_link(page, "Quotes"))
    click(page.get_by_role("link", name="New quote"))
    page.get_by_label("Recipient organisation", exact=True).select_option(
        label=f"{CUSTOMER_ORG} (Customer)"
    )
    page.get_by_label("Subject", exact=True).fill("Perimeter firewall")
    page.get_by_label("Cover letter", exact=True).fill("Dear Kestrel team,\n\n**thank you**.")
    click(page.get_by_role("button", name="Create draft"))
    expect(page).to_have_url(DETAIL_URL)
    quote_url = page.url
    number = NUMBER.search(page.get_by_role("heading", level=1).inner_text()).group(0)
    expect(_status(page)).to_have_text("Draft")

    # A firewall without the licence it requires: the builder names the rule and the line.
    _add_line(page, "SEC-FW-200", 1)
    violations = page.get_by_test_id("rule-violations")
    expect(violations).to_contain_text("Line 1: SEC-FW-200 requires SEC-LIC-STD")
    click(page.get_by_role("button", name="Send to recipient"))
    refusal = page.get_by_role("alert").filter(has_text="Line 1: SEC-FW-200 requires SEC-LIC-STD")
    expect(refusal).to_be_visible()  # the flash of the refused send
    expect(violations).to_be_visible()
    expect(_status(page)).to_have_text("Draft")
    # Fixed, it goes.
    _add_line(page, "SEC-LIC-STD", 1)
    expect(violations).to_have_count(0)
    click(page.get_by_role("button", name="Send to recipient"))
    expect(page.get_by_role("alert").filter(has_text="is sent to")).to_contain_text(CUSTOMER_ORG)
    expect(_status(page)).to_have_text("Sent")
    total = page.get_by_test_id("quote-total").inner_text()
    sign_out(page)

    # The customer opens it, downloads the PDF, accepts.
    sign_in(page, CUSTOMER)
    goto(page, "/quotes/")
    click(page.get_by_role("link", name=number))
    expect(page).to_have_url(quote_url)
    expect(_status(page)).to_have_text("Viewed")
    expect(page.get_by_test_id("quote-total")).to_have_text(total)
    pdf_link = page.get_by_role("link", name="Download PDF")
    download = page.request.get(pdf_link.get_attribute("href"))
    assert download.ok and download.headers["content-type"] == "application/pdf"
    pdf_hash = hashlib.sha256(download.body()).hexdigest()
    # The fingerprint is kept for the certificate: the page answered does not show it.
    expect(page.get_by_test_id("answer")).not_to_contain_text(pdf_hash)
    expect(page.get_by_text("SHA-256")).to_have_count(0)
    page.get_by_label("Your full name", exact=True).fill("Kim Kestrel")
    click(page.get_by_role("button", name="Accept the quote"))
    # The consent box is required: nothing is accepted without it (the page answers 422,
    # which the browser logs; that one entry is expected).
    expect(page.get_by_text("Tick the box to confirm that you accept.")).to_be_visible()
    refused = [e for e in browser_log.console_errors if "422" in e and "/accept" in e]
    assert len(refused) == 1
    browser_log.console_errors.remove(refused[0])
    page.get_by_label("Your full name", exact=True).fill("Kim Kestrel")
    page.get_by_label(re.compile("^I accept this quote")).check()
    click(page.get_by_role("button", name="Accept the quote"))
    expect(page.get_by_role("heading", name="Acceptance certificate")).to_be_visible()
    certificate = page.get_by_test_id("certificate")
    expect(certificate).to_contain_text("Kim Kestrel")
    expect(page.get_by_test_id("document-hash")).to_have_text(pdf_hash)
    sign_out(page)

    # The vendor sees it accepted.
    sign_in(page, SALES)
    goto(page, quote_url)
    expect(_status(page)).to_have_text("Accepted")
    expect(page.get_by_role("link", name="Certificate")).to_be_visible()
    browser_log.assert_clean()
