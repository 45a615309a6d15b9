"""In a real browser (issue 15, item 4): the vendor's sales rep asks Evergreen Components for
quotation from the navigation; Evergreen's admin finds the request on its home page, answers
with a line and a PDF; the rep accepts the offer, and the supplier reads the decision. A vendor
admin filters the organisation list by supplier relationship and opens a supplier's page.
axe-core finds no serious or critical violation on the sourcing pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import blocking_violations, report
from tests.e2e.conftest import serve_portal
from tests.e2e.steps import click, goto, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

RFQ_PAGE = re.compile(r"/sourcing/\d+$")
OFFER_PAGE = re.compile(r"/sourcing/offers/\d+$")
TITLE = "Fan trays for the 2027 chassis"
PDF = b"%PDF-1.4\n% Evergreen's offer\n"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal for this module alone (it sends a request and an offer)."""
    with serve_portal(tmp_path_factory, "_sourcing") as base_url:
        yield base_url


def test_request_offer_and_acceptance(page: Page, browser_log, tmp_path):
    sign_in(page, "sales@northwind.example")
    click(nav_link(page, "Requests for quotation"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Requests for quotation")
    click(page.get_by_role("link", name="New request"))
    page.get_by_label("What is needed").fill(TITLE)
    page.get_by_label("Details").fill("250 fan trays, 40 mm, hot-swappable")
    page.get_by_label("Suppliers asked").select_option(
        label="Evergreen Components (Ongoing relationship)"
    )
    click(page.get_by_role("button", name="Send to the suppliers"))
    expect(page).to_have_url(RFQ_PAGE)
    expect(page.get_by_role("alert")).to_contain_text("is sent to the suppliers")
    rfq_url = page.url
    expect(page.get_by_test_id("offer-card")).to_contain_text("Waiting for the offer")
    sign_out(page)

    sign_in(page, "admin@evergreen.example")
    expect(page.get_by_test_id("count-sourcing_to_answer")).to_have_text("1 to answer")
    click(page.get_by_role("link", name=re.compile(TITLE)))
    expect(page).to_have_url(OFFER_PAGE)
    page.get_by_label("Line 1: description").fill("Fan tray, 40 mm")
    page.get_by_label("Line 1: quantity").fill("250")
    page.get_by_label("Line 1: unit price").fill("18.40")
    document = tmp_path / "evergreen-offer.pdf"
    document.write_bytes(PDF)
    page.get_by_label(re.compile("upload your offer as a PDF")).set_input_files(str(document))
    click(page.get_by_role("button", name="Send the offer"))
    expect(page.get_by_role("alert")).to_contain_text("Your offer on RFQ-")
    expect(page.get_by_test_id("offer-status")).to_have_text("Offer submitted")
    expect(page.get_by_test_id("offer-total")).to_contain_text("4,600.00")
    sign_out(page)

    sign_in(page, "sales@northwind.example")
    goto(page, rfq_url)
    card = page.get_by_test_id("offer-card").filter(has_text="Evergreen Components")
    expect(card).to_contain_text("Fan tray, 40 mm")
    expect(card.get_by_test_id("offer-document")).to_contain_text("evergreen-offer.pdf")
    card.get_by_label(re.compile("Reason")).fill("Best lead time")
    click(card.get_by_role("button", name="Accept"))
    expect(page.get_by_role("alert")).to_contain_text("is accepted; the supplier is told")
    expect(card.get_by_test_id("offer-status")).to_have_text("Accepted")
    sign_out(page)

    sign_in(page, "admin@evergreen.example")
    click(nav_link(page, "Requests for quotation"))
    row = page.get_by_test_id("offer-row").filter(has_text=TITLE)
    expect(row.get_by_test_id("offer-status")).to_have_text("Accepted")
    click(row.get_by_role("link"))
    expect(page.get_by_text("Best lead time")).to_be_visible()
    browser_log.assert_clean()


def test_a_vendor_admin_filters_suppliers_by_relationship(page: Page, browser_log):
    sign_in(page, "admin@northwind.example")
    click(nav_link(page, "Organisations"))
    page.get_by_label("Supplier relationship").select_option(label="Strategic alliance")
    click(page.get_by_role("button", name="Filter"))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Tidewater Cable Alliance")
    click(page.get_by_role("link", name="Tidewater Cable Alliance"))
    expect(page.get_by_test_id("supplier-relationship")).to_have_text("Strategic alliance")
    browser_log.assert_clean()


def test_axe_finds_no_serious_violation_on_the_sourcing_pages(axe_page: Page, browser_log):
    found = {}

    def check(path: str) -> None:
        response = axe_page.goto(path)
        assert response.status == 200, path
        violations = blocking_violations(axe_page)
        if violations:
            found[path] = violations

    sign_in(axe_page, "sales@northwind.example")
    for path in ("/sourcing/", "/sourcing/new", "/admin/organizations?kind=supplier"):
        check(path)
    axe_page.goto("/sourcing/")
    check(axe_page.get_by_test_id("rfq-row").locator("a").first.get_attribute("href"))
    sign_out(axe_page)
    sign_in(axe_page, "admin@summit.example")  # Summit has an offer still to send
    check("/sourcing/offers")
    axe_page.goto("/sourcing/offers")
    check(axe_page.get_by_test_id("offer-row").locator("a").first.get_attribute("href"))
    assert not found, report(found)
    browser_log.assert_clean()
