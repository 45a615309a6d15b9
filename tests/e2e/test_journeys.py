"""In a real browser, the journeys of the people the portal serves, counted in page loads from the
home page after sign-in (issue 13): a reseller registers a deal, a customer raises a case or
solves its problem with an article, a channel manager approves a shared lead and a registration.

A page load is a navigation of the main frame: following a link, or posting a form (the POST and
the page it redirects to are one load, as the person sees one page come). Scripts that fetch
without leaving the page (the suggested articles) are not loads.

Measured on the code before the home pages changed (the home page offered none of these links):
registering a deal 3 loads, raising a case 3, solving with an article 4, approving a shared lead
4 and a registration 4. Now: 2, 2, 3, 2 and 2."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import serve_portal
from tests.e2e.steps import HOME_URL, click, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal for this module alone (the journeys change the demo world)."""
    with serve_portal(tmp_path_factory, "_journeys") as base_url:
        yield base_url


class PageLoads:
    """Counts the main frame's navigations from the moment it is made (on the home page)."""

    def __init__(self, page: Page) -> None:
        expect(page).to_have_url(HOME_URL)
        page.wait_for_load_state("load")
        self.count = 0
        self.urls: list[str] = []
        page.on("framenavigated", lambda frame: self._seen(page, frame))

    def _seen(self, page: Page, frame) -> None:
        if frame == page.main_frame:
            self.count += 1
            self.urls.append(frame.url)


def panel(page: Page, key: str):
    return page.get_by_test_id(f"panel-{key}")


def test_a_reseller_registers_a_deal_in_at_most_3_page_loads(page: Page, browser_log):
    sign_in(page, "sam@alpine.example")
    loads = PageLoads(page)

    click(panel(page, "deals_partner").get_by_role("link", name="Register a deal"))
    expect(page.get_by_role("heading", name="Register a deal")).to_be_visible()
    fields = {
        "End customer (company)": "Quokka Robotics GmbH",
        "Customer's web domain": "quokka-robotics.io",
        "Contact at the customer": "Mia Roth",
        "Contact's email": "mia.roth@quokka-robotics.io",
        "Estimated value": "64000.00",
    }
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Products of interest, one per line", exact=True).fill("Core switches")
    page.get_by_label("Currency", exact=True).select_option("EUR")
    close = (datetime.now(UTC).date() + timedelta(days=45)).isoformat()
    page.get_by_label("Expected close", exact=True).fill(close)
    click(page.get_by_role("button", name="Submit for review"))

    expect(page).to_have_url(re.compile(r"/deals/\d+$"))
    expect(
        page.get_by_role("alert").filter(has_text="is submitted and under review")
    ).to_be_visible()
    assert loads.count <= 3, loads.urls
    assert loads.count == 2, loads.urls
    browser_log.assert_clean()


def test_a_customer_raises_a_case_in_at_most_3_page_loads(page: Page, browser_log):
    sign_in(page, "lee@granite.example")
    loads = PageLoads(page)

    click(panel(page, "cases_own").get_by_role("link", name="Open a case"))
    page.get_by_label("Subject").fill("Label printer prints blank pages")
    page.get_by_label("Describe the problem (markdown)").fill("Since the update, every label.")
    click(page.get_by_role("button", name="Open the case"))

    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    expect(page.get_by_role("heading", name=re.compile("Label printer prints"))).to_be_visible()
    assert loads.count <= 3, loads.urls
    assert loads.count == 2, loads.urls
    browser_log.assert_clean()


def test_a_customer_solves_the_problem_with_an_article_in_at_most_3_page_loads(
    page: Page, browser_log
):
    sign_in(page, "lee@granite.example")
    loads = PageLoads(page)

    click(panel(page, "cases_own").get_by_role("link", name="Open a case"))
    page.get_by_label("Subject").press_sequentially("VPN tunnel drops", delay=30)
    click(page.get_by_test_id("suggestion").filter(has_text="VPN tunnel drops every few hours"))
    click(page.get_by_role("button", name="Yes, no case needed"))

    page.wait_for_load_state("load")
    expect(page).not_to_have_url(re.compile(r"/cases/\d+$"))  # no case was raised
    assert loads.count <= 3, loads.urls
    browser_log.assert_clean()


def test_a_channel_manager_approves_a_shared_lead_in_at_most_3_page_loads(page: Page, browser_log):
    sign_in(page, "channel@northwind.example")
    loads = PageLoads(page)

    shared = panel(page, "leads_shared").get_by_test_id("shared-item").first
    company = shared.get_by_role("link").inner_text()
    click(shared.get_by_role("link"))
    click(page.get_by_role("button", name="Approve into the pipeline"))

    expect(page).to_have_url(re.compile(r"/leads/\d+$"))
    expect(page.get_by_role("alert").filter(has_text=f"{company} approved")).to_be_visible()
    assert loads.count <= 3, loads.urls
    assert loads.count == 2, loads.urls
    browser_log.assert_clean()


def test_a_channel_manager_approves_a_registration_in_at_most_3_page_loads(page: Page, browser_log):
    sign_in(page, "channel@northwind.example")
    loads = PageLoads(page)

    # One without a possible conflict: a conflicting one is settled before it can be approved.
    items = panel(page, "deals_review").get_by_test_id("review-item")
    item = items.filter(has_not=page.get_by_test_id("conflict-flag")).first
    number = re.match(r"DR-\S+", item.get_by_role("link").inner_text()).group(0)
    click(item.get_by_role("link"))
    click(page.get_by_role("button", name="Approve", exact=True))

    expect(page.get_by_role("alert").filter(has_text=f"Deal {number}")).to_be_visible()
    assert loads.count <= 3, loads.urls
    assert loads.count == 2, loads.urls
    browser_log.assert_clean()
