"""In a real browser, a lead down the two tiers of the channel.

The channel manager creates a lead and offers it by hand to Fjord Distribution, a distributor.
Fjord's admin finds it in its leads, passes it down to Skagen IT Partners, one of the two
resellers attached to it (partners/leads/seed_two_tier.py), with a respond-by of its own, and
sees it with Skagen. Skagen's admin finds it in its leads, passed down by Fjord, and accepts it;
Fjord sees Skagen's acceptance. Delta Office Partners, Fjord's other reseller, and Alpine, a
reseller of no distributor, get a 404 for the lead. Fjord reads the quote the vendor sent Skagen
through it, which names it, and answers none of it. axe-core finds no serious or critical
violation on the distributor's and the reseller's lead pages; no page logs an error or asks a
host other than the portal's own.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import blocking_violations
from tests.e2e.conftest import serve_portal
from tests.e2e.steps import click, goto, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

MANAGER = "channel@northwind.example"
DISTRIBUTOR = ("admin@fjord.example", "Fjord Distribution")
RESELLER = ("admin@skagen.example", "Skagen IT Partners")
SIBLING = "admin@delta.example"
UNATTACHED = "admin@alpine.example"
COMPANY = "Trondheim Kaiservice AS"
DETAIL_URL = re.compile(r"/leads/(\d+)$")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal for this module alone (the journey changes the demo world)."""
    with serve_portal(tmp_path_factory, "_two_tier") as base_url:
        yield base_url


def _flash(page: Page, text: str):
    return page.get_by_role("alert").filter(has_text=text)


def _status(page: Page):
    return page.get_by_role("heading", level=1).get_by_test_id("lead-status")


def _open_lead(page: Page, company: str) -> None:
    click(nav_link(page, "Leads"))
    click(page.get_by_role("main").get_by_role("link", name=company, exact=True))
    expect(page).to_have_url(DETAIL_URL)


def test_the_vendor_offers_the_distributor_passes_down_the_reseller_accepts(
    axe_page: Page, browser_log
):
    page = axe_page
    # The vendor offers a new lead to the distributor.
    sign_in(page, MANAGER)
    click(nav_link(page, "Leads"))
    click(page.get_by_role("link", name="New lead", exact=True))
    page.get_by_label("Company", exact=True).fill(COMPANY)
    page.get_by_label("Country", exact=True).select_option("NO")
    page.get_by_label("Product line", exact=True).select_option("storage")
    click(page.get_by_role("button", name="Create lead"))
    expect(page).to_have_url(DETAIL_URL)
    lead_id = int(DETAIL_URL.search(page.url).group(1))
    offer_form = page.locator("form").filter(
        has=page.get_by_role("button", name="Offer by hand", exact=True)
    )
    choice = offer_form.get_by_label("Partner", exact=True)
    option = choice.locator("option").filter(has_text=re.compile(r"^Fjord Distribution \("))
    choice.select_option(option.get_attribute("value"))
    click(offer_form.get_by_role("button", name="Offer by hand", exact=True))
    expect(_flash(page, "Offered to")).to_have_text("Offered to Fjord Distribution.")
    sign_out(page)

    # The distributor passes it down to one of its resellers.
    sign_in(page, DISTRIBUTOR[0])
    _open_lead(page, COMPANY)
    card = page.get_by_test_id("pass-down")
    expect(card.get_by_role("heading", name="Pass it down to a reseller")).to_be_visible()
    resellers = card.get_by_label("Reseller", exact=True)
    expect(resellers.locator("option")).to_have_text(
        ["Choose a reseller…", "Delta Office Partners", "Skagen IT Partners"]
    )
    resellers.select_option(label=RESELLER[1])
    expect(card.get_by_label("Answer by (UTC)", exact=True)).not_to_have_value("")
    blocking = blocking_violations(page)
    assert not blocking, blocking
    click(card.get_by_role("button", name="Pass down", exact=True))
    expect(_flash(page, "Passed down")).to_have_text(f"Passed down to {RESELLER[1]}.")
    card = page.get_by_test_id("pass-down")
    expect(card.get_by_role("heading", name=f"With your reseller {RESELLER[1]}")).to_be_visible()
    expect(card).to_contain_text("Answer due by")
    expect(page.get_by_test_id("our-offer")).to_contain_text("Accepted by you")
    sign_out(page)

    # The reseller accepts it.
    sign_in(page, RESELLER[0])
    _open_lead(page, COMPANY)
    ours = page.get_by_test_id("our-offer")
    expect(ours.get_by_role("heading", name="Offered to you")).to_be_visible()
    expect(ours).to_contain_text(f"Passed down by {DISTRIBUTOR[1]}.")
    blocking = blocking_violations(page)
    assert not blocking, blocking
    click(ours.get_by_role("button", name="Accept the lead"))
    expect(_flash(page, "You accepted")).to_have_text(
        f"You accepted {COMPANY}. It is yours to work."
    )
    expect(page.get_by_test_id("our-offer")).to_contain_text("Accepted by you")
    sign_out(page)

    # The distributor sees it accepted; nobody else sees the lead.
    sign_in(page, DISTRIBUTOR[0])
    goto(page, f"/leads/{lead_id}")
    card = page.get_by_test_id("pass-down")
    expect(card.get_by_role("heading", name=f"With your reseller {RESELLER[1]}")).to_be_visible()
    expect(card).to_contain_text("Accepted on")
    expect(page.get_by_test_id("resellers-offers")).to_contain_text(RESELLER[1])
    sign_out(page)
    for email in (SIBLING, UNATTACHED):
        sign_in(page, email)
        assert page.request.get(f"/leads/{lead_id}").status == 404, email
        sign_out(page)
    browser_log.assert_clean()


def test_the_distributor_reads_the_quote_sent_through_it(page: Page, browser_log):
    sign_in(page, DISTRIBUTOR[0])
    click(nav_link(page, "Quotes"))
    row = page.get_by_role("main").locator("tbody tr").filter(has_text=RESELLER[1])
    expect(row).to_have_count(1)
    click(row.get_by_role("link"))
    expect(page.get_by_test_id("quote-via")).to_have_text(DISTRIBUTOR[1])
    expect(page.get_by_role("button", name="Accept the quote")).to_have_count(0)
    browser_log.assert_clean()
