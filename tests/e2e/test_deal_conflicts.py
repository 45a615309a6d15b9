"""In a real browser, on the demo world: conflicts settled before protection (issue 15, item 1).

The channel manager opens Cobalt's registration for hawthorne-retail.com from the review queue:
Alpine's approved registration is beside it, first in, with the times and what matched.
Approving Cobalt's is refused until the conflict is settled; settled the default way (first in
wins), Cobalt's is rejected as a duplicate, and Cobalt reads why without Alpine's name. Delta's
registration clashes with a deal the vendor works directly: giving it to Delta needs a reason,
then it can be approved. No serious or critical axe-core violation on the page; no page logs an
error. The portal runs as a live server of this module's own (the journey changes the demo).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import blocking_violations
from tests.e2e.conftest import serve_portal
from tests.e2e.steps import click, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

CHANNEL_MANAGER = "channel@northwind.example"
DETAIL_URL = re.compile(r"/deals/(\d+)(#.*)?$")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    with serve_portal(tmp_path_factory, "_conflicts") as base_url:
        yield base_url


def _open_from_review(page: Page, customer: str) -> str:
    """Open the registration of ``customer`` from the review queue; returns its number."""
    click(nav_link(page, "Registration review"))
    expect(page.get_by_role("heading", name="Registrations to review")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=customer)
    expect(row.get_by_test_id("conflict-flag")).to_have_text("1 possible conflict")
    link = row.get_by_role("link", name=re.compile(r"^DR-"))
    number = link.inner_text()
    click(link)
    expect(page).to_have_url(DETAIL_URL)
    return number


def _status(page: Page):
    return page.get_by_role("heading", level=1).get_by_test_id("deal-status")


def _refused(page: Page, button, refused: list[str]) -> None:
    """Submit a form the portal sends back with 422; Chromium logs the 4xx document as a console
    error, set aside at the end for exactly these addresses."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        click(button)
    assert answer.value.status == 422
    refused.append(urlsplit(answer.value.url).path)


def _only_refusals(browser_log, refused: list[str]) -> None:
    browser_log.console_errors[:] = [
        line
        for line in browser_log.console_errors
        if not ("422" in line and any(path in line for path in refused))
    ]
    browser_log.assert_clean()


def test_axe_finds_no_serious_or_critical_violation_on_a_conflict(axe_page: Page, browser_log):
    sign_in(axe_page, CHANNEL_MANAGER)
    # Alpine's registration for hawthorne-retail.com: its conflict with Cobalt's, to settle (or
    # settled, should the journey have run first).
    click(nav_link(axe_page, "Deal registrations"))
    row = axe_page.get_by_role("row").filter(has_text="Alpine IT Solutions")
    row = row.filter(has_text="Hawthorne Retail Group")
    click(row.get_by_role("link", name=re.compile(r"^DR-")))
    expect(axe_page.get_by_test_id("conflict")).to_be_visible()
    violations = blocking_violations(axe_page)
    assert not violations, violations
    browser_log.assert_clean()


def test_a_conflict_is_settled_before_protection(page: Page, browser_log):
    refused: list[str] = []
    sign_in(page, CHANNEL_MANAGER)
    cobalt = _open_from_review(page, "Hawthorne Retail Group Ltd")
    card = page.get_by_test_id("conflict")
    expect(card).to_contain_text("Same domain")
    first_in = card.get_by_test_id("first-in")
    expect(first_in.locator("li").first).to_contain_text("First in")
    expect(first_in.locator("li").first).to_contain_text("Alpine IT Solutions")
    expect(first_in.locator("li").nth(1)).to_contain_text(cobalt)
    expect(page.get_by_test_id("settle-first")).to_be_visible()

    # Approving first is refused, with a message, and nothing changes.
    _refused(page, page.get_by_role("button", name="Approve", exact=True), refused)
    expect(
        page.get_by_role("alert").filter(has_text="Settle the possible conflict")
    ).to_be_visible()
    expect(_status(page)).to_have_text("Under review")

    # The first in is chosen already: settling needs no reason.
    alpine_choice = card.get_by_role("radio", name=re.compile("Alpine IT Solutions"))
    expect(alpine_choice).to_be_checked()
    click(card.get_by_role("button", name="Settle"))
    expect(page.get_by_role("alert").filter(has_text="The conflict is settled.")).to_be_visible()
    expect(_status(page)).to_have_text("Rejected")
    expect(page.get_by_test_id("settlement")).to_contain_text("keeps the customer")
    sign_out(page)

    # Cobalt reads why, not who won.
    sign_in(page, "admin@cobalt.example")
    click(nav_link(page, "Deal registrations"))
    click(page.get_by_role("link", name=cobalt, exact=True))
    expect(page.get_by_test_id("rejection")).to_contain_text(
        "Duplicate: another registration for this customer was submitted first."
    )
    assert "Alpine" not in page.content()
    sign_out(page)

    # Delta's registration clashes with the vendor's direct deal: the later claim wins only with
    # a reason.
    sign_in(page, CHANNEL_MANAGER)
    delta = _open_from_review(page, "Meridian Foods GmbH")
    card = page.get_by_test_id("conflict")
    expect(card.get_by_test_id("first-in").locator("li").first).to_contain_text(
        "the vendor's direct deal"
    )
    card.get_by_role("radio", name=re.compile(re.escape(delta))).check()
    _refused(page, card.get_by_role("button", name="Settle"), refused)
    expect(page.get_by_test_id("settle-error")).to_contain_text("Say why the later claim wins")
    card = page.get_by_test_id("conflict")
    card.get_by_label(re.compile("^Reason")).fill("The customer asked to buy through Delta.")
    click(card.get_by_role("button", name="Settle"))
    expect(page.get_by_role("alert").filter(has_text="The conflict is settled.")).to_be_visible()
    click(page.get_by_role("button", name="Approve", exact=True))
    expect(page.get_by_role("alert").filter(has_text=f"Deal {delta}: approved.")).to_be_visible()
    _only_refusals(browser_log, refused)
