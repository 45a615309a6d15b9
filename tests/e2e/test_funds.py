"""In a real browser, market development funds from both sides (issue 15, item 6).

Alpine (gold: 10,000 a quarter in the demo, 7,800 of it held by the demo's approved requests)
opens Channel → Funds, sees what is left, and requests funds for a partner breakfast. The
channel manager finds it waiting from the home page, approves it, and the balance shrinks. Alpine
claims what the breakfast cost with an invoice attached; the channel manager approves the claim
(the unused part goes back to the budget) and marks it paid; Alpine sees the payment and
downloads nothing it should not. axe-core finds no serious or critical violation on the pages.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import blocking_violations
from tests.e2e.conftest import serve_portal
from tests.e2e.steps import click, nav, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

PARTNER = "admin@alpine.example"
CHANNEL_MANAGER = "channel@northwind.example"
ACTIVITY = "Partner breakfast in Bern"
DETAIL_URL = re.compile(r"/funds/requests/(\d+)$")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal for this module alone (the journey changes the demo world)."""
    with serve_portal(tmp_path_factory, "_funds") as base_url:
        yield base_url


def _balance(page: Page):
    return page.get_by_test_id(re.compile(r"budget-\d{4}-Q\d")).first.get_by_test_id(
        "budget-balance"
    )


def _status(page: Page):
    return page.get_by_role("heading", level=1).get_by_test_id("fund_request-status")


def test_a_partner_requests_and_claims_funds_the_channel_team_approves_and_pays(
    page: Page, browser_log, live_server
):
    today = datetime.now(UTC).date()
    sign_in(page, PARTNER)
    click(nav_link(page, "Funds"))
    expect(page.get_by_role("heading", name="Market development funds")).to_be_visible()
    expect(_balance(page)).to_have_text("€2,200.00")
    click(page.get_by_role("link", name="Request funds"))
    page.get_by_label("Activity", exact=True).fill(ACTIVITY)
    page.get_by_label("Amount (EUR)", exact=True).fill("1200")
    page.get_by_label("Starts on", exact=True).fill(today.isoformat())
    page.get_by_label("Ends on", exact=True).fill((today + timedelta(days=1)).isoformat())
    click(page.get_by_role("button", name="Send the request"))
    expect(page).to_have_url(DETAIL_URL)
    request_path = DETAIL_URL.search(page.url).group(0)
    expect(page.get_by_role("alert")).to_contain_text("Your request is sent to the channel team.")
    expect(_status(page)).to_have_text("Waiting for a decision")
    sign_out(page)

    sign_in(page, CHANNEL_MANAGER)
    panel = page.get_by_test_id("count-funds-waiting")
    expect(panel).to_have_text("4 waiting")  # the demo's two requests and a claim, and this
    click(panel)
    click(page.get_by_role("link", name=ACTIVITY, exact=True))
    expect(page.get_by_text("Approving reserves €1,200.00")).to_be_visible()
    click(page.get_by_role("button", name="Approve", exact=True))
    expect(_status(page)).to_have_text("Approved")
    expect(_balance(page)).to_have_text("€1,000.00")
    sign_out(page)

    sign_in(page, PARTNER)
    page.goto(request_path)
    form = page.get_by_test_id("claim-form")
    form.get_by_label("Amount spent (EUR)", exact=True).fill("1100")
    form.get_by_label("What was done", exact=True).fill("Forty guests, two speakers.")
    form.get_by_label("Proof of performance", exact=True).set_input_files(
        {"name": "breakfast-invoice.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 x"}
    )
    click(form.get_by_role("button", name="Send the claim"))
    expect(page.get_by_role("alert")).to_contain_text("Your claim is sent to the channel team.")
    claim = page.get_by_test_id("claim")
    expect(claim.get_by_test_id("fund_claim-status")).to_have_text("Waiting for a decision")
    expect(claim.get_by_role("link", name="breakfast-invoice.pdf")).to_be_visible()
    sign_out(page)

    sign_in(page, CHANNEL_MANAGER)
    page.goto(request_path)
    expect(page.get_by_text("Approving gives €100.00 back to the budget.")).to_be_visible()
    click(page.get_by_role("button", name="Approve the claim"))
    expect(_balance(page)).to_have_text("€1,100.00")
    page.get_by_label("Payment reference", exact=True).fill("NW-MDF-0042")
    click(page.get_by_role("button", name="Mark paid"))
    expect(page.get_by_test_id("claim").get_by_test_id("fund_claim-status")).to_have_text("Paid")
    sign_out(page)

    sign_in(page, PARTNER)
    click(nav(page).get_by_test_id("notifications"))
    expect(page.get_by_text("is paid (NW-MDF-0042)")).to_be_visible()
    page.goto(request_path)
    expect(page.get_by_test_id("payment")).to_contain_text("NW-MDF-0042")
    browser_log.assert_clean()


@pytest.mark.parametrize("email", [CHANNEL_MANAGER, PARTNER])
def test_axe_finds_no_serious_or_critical_violation_on_the_funds_pages(
    axe_page: Page, browser_log, email
):
    sign_in(axe_page, email)
    found = {}
    assert axe_page.goto("/funds/").status == 200
    found["list"] = blocking_violations(axe_page)
    click(axe_page.get_by_role("link", name="Customer security day in Zurich", exact=True))
    expect(axe_page).to_have_url(DETAIL_URL)
    found["request"] = blocking_violations(axe_page)
    if email == PARTNER:
        assert axe_page.goto("/funds/requests/new").status == 200
        found["form"] = blocking_violations(axe_page)
    assert not any(found.values()), found
    browser_log.assert_clean()
