"""In a real browser (issue 13): the organisation page reached from the navigation by each
audience in at most 3 page loads from home (a vendor admin any organisation, where it assigns an
account manager the customer then sees on its home; a partner its own and a customer it manages;
a customer its own); the portal-wide search box in the navigation finding records for each
audience and never another organisation's; and axe-core finding no serious or critical violation
on the organisation page and the search results of each audience.

A page load is a navigation of the main frame, counted as in test_journeys (a redirect, as
/organizations/mine, or a POST and the page it redirects to, is one load)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import blocking_violations, report
from tests.e2e.conftest import serve_portal
from tests.e2e.steps import HOME_URL, click, loaded, nav, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

ORG_PAGE = re.compile(r"/organizations/\d+$")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal for this module alone (the vendor admin changes an account manager)."""
    with serve_portal(tmp_path_factory, "_org_search") as base_url:
        yield base_url


class PageLoads:
    """Counts the main frame's navigations from the moment it is made (on the home page)."""

    def __init__(self, page: Page) -> None:
        expect(page).to_have_url(HOME_URL)
        page.wait_for_load_state("load")
        self.urls: list[str] = []
        page.on(
            "framenavigated", lambda frame: frame == page.main_frame and self.urls.append(frame.url)
        )

    @property
    def count(self) -> int:
        return len(self.urls)


def org_name(page: Page):
    return page.get_by_test_id("org-name")


# (a) The organisation page from the navigation.


def test_a_vendor_admin_assigns_an_account_manager_that_the_customer_sees(page: Page, browser_log):
    sign_in(page, "admin@northwind.example")
    loads = PageLoads(page)

    click(nav_link(page, "Organisations"))
    click(page.get_by_role("main").get_by_role("link", name="Granite Bank", exact=True))
    expect(page).to_have_url(ORG_PAGE)
    expect(org_name(page)).to_contain_text("Granite Bank")
    form = page.get_by_test_id("account-manager-form")
    form.get_by_label("Account manager").select_option(
        label="Northwind Channel <channel@northwind.example>"
    )
    click(form.get_by_role("button", name="Assign"))
    expect(page.get_by_role("alert").filter(has_text="now looks after")).to_have_text(
        re.compile(r"Northwind Channel now looks after Granite Bank\.")
    )
    expect(page.get_by_test_id("org-account-manager")).to_contain_text("Northwind Channel")
    assert loads.count <= 3, loads.urls

    # Any organisation: a partner's page too, in two loads from home.
    click(nav_link(page, "Home"))
    loads = PageLoads(page)
    click(nav_link(page, "Organisations"))
    click(page.get_by_role("main").get_by_role("link", name="Brightline Resellers", exact=True))
    expect(org_name(page)).to_contain_text("Brightline Resellers")
    expect(page.get_by_test_id("org-managed")).to_contain_text("Iris Health Clinics")
    assert loads.count <= 3, loads.urls
    sign_out(page)

    sign_in(page, "admin@granite.example")
    team = page.get_by_test_id("panel-account-team")
    expect(team.get_by_test_id("account-manager")).to_contain_text("Northwind Channel")
    expect(team.get_by_test_id("account-manager")).not_to_contain_text("Northwind Sales")
    browser_log.assert_clean()


def test_a_partner_reaches_its_page_and_a_managed_customers(page: Page, browser_log):
    sign_in(page, "admin@alpine.example")
    loads = PageLoads(page)

    click(nav_link(page, "My organisation"))
    expect(page).to_have_url(ORG_PAGE)
    expect(org_name(page)).to_contain_text("Alpine IT Solutions")
    managed = page.get_by_test_id("org-managed")
    expect(managed.get_by_role("link")).to_have_text(["Granite Bank", "Harbor Logistics"])
    click(managed.get_by_role("link", name="Harbor Logistics"))
    expect(org_name(page)).to_contain_text("Harbor Logistics")
    expect(page.get_by_test_id("managed-by")).to_have_text("Alpine IT Solutions")
    assert loads.count <= 3, loads.urls

    # Another partner's customer is not its to see: the page is refused, not shown.
    iris = page.request.get("/organizations/10")
    assert iris.status == 404, iris.status
    browser_log.assert_clean()


def test_a_customer_reaches_its_own_page(page: Page, browser_log):
    sign_in(page, "lee@granite.example")
    loads = PageLoads(page)

    click(nav_link(page, "My organisation"))
    expect(page).to_have_url(ORG_PAGE)
    expect(org_name(page)).to_contain_text("Granite Bank")
    expect(page.get_by_test_id("managed-by")).to_have_text("Alpine IT Solutions")
    expect(page.get_by_test_id("managed-by").get_by_role("link")).to_have_count(0)
    assert loads.count <= 3, loads.urls
    browser_log.assert_clean()


# (b) The search box in the navigation.


def search(page: Page, words: str) -> None:
    box = nav(page).get_by_test_id("search-box")
    box.get_by_role("searchbox", name="Search the portal").fill(words)
    click(box.get_by_role("button", name="Search"))
    expect(page).to_have_url(re.compile(r"/search\?q="))
    expect(page.get_by_role("heading", name="Search", level=1)).to_be_visible()
    loaded(page)  # the groups follow the heading: read before the page ends, they read short


def found(page: Page, kind: str) -> list[str]:
    """The titles of the records the search shows in the group ``kind`` (none: no such group)."""
    group = page.get_by_test_id(f"search-group-{kind}")
    if not group.count():
        return []
    return [t.strip() for t in group.locator("li.list-group-item > a").all_text_contents()]


def found_anything(page: Page) -> bool:
    return page.locator("[data-testid^=search-group-]").count() > 0


def test_vendor_staff_find_any_organisations_records(page: Page, browser_log):
    sign_in(page, "admin@northwind.example")
    search(page, "firewall")
    quotes = found(page, "quotes")
    assert any("Lab firewall" in q for q in quotes), quotes  # Cobalt Networks'
    assert any("Branch firewalls" in q for q in quotes), quotes  # Granite Bank's
    assert found(page, "cases"), "the vendor finds the customers' cases"

    search(page, "Granite")
    assert "Granite Bank" in found(page, "organizations")
    click(
        page.get_by_test_id("search-group-organizations").get_by_role("link", name="Granite Bank")
    )
    expect(org_name(page)).to_contain_text("Granite Bank")
    browser_log.assert_clean()


def test_a_partner_finds_its_own_and_its_customers_records_only(page: Page, browser_log):
    sign_in(page, "admin@alpine.example")
    search(page, "Harbor")
    assert found(page, "organizations") == ["Harbor Logistics"]  # a customer it manages
    click(page.get_by_test_id("search-group-organizations").get_by_role("link"))
    expect(org_name(page)).to_contain_text("Harbor Logistics")

    search(page, "Admin")
    assert found(page, "people") == ["Alpine Admin"]  # every organisation has an "… Admin"

    search(page, "firewall")
    cases = found(page, "cases")
    assert cases and all("Firewall rule changes" in c for c in cases), cases  # Granite's
    assert found(page, "quotes") == []  # Cobalt's and Granite's own quotes are not its

    for other in ("Brightline", "Iris", "Juniper", "Cobalt"):
        search(page, other)
        assert not found_anything(page), f"{other}: {page.locator('main').inner_text()[:300]}"
        expect(page.get_by_test_id("search-none")).to_be_visible()
    browser_log.assert_clean()


def test_a_customer_finds_its_own_records_only(page: Page, browser_log):
    sign_in(page, "admin@granite.example")
    search(page, "firewall")
    quotes = found(page, "quotes")
    assert len(quotes) == 1 and "Branch firewalls" in quotes[0], quotes
    assert found(page, "cases"), "its own cases"

    search(page, "Admin")
    assert found(page, "people") == ["Granite Admin"]

    for other in ("Alpine", "Harbor", "Cobalt", "Juniper"):
        search(page, other)
        assert not found_anything(page), f"{other}: {page.locator('main').inner_text()[:300]}"
    # Nothing found offers the lists it may open, never a dead link.
    hrefs = (
        page.get_by_test_id("search-none")
        .get_by_role("link")
        .evaluate_all("links => links.map(a => a.getAttribute('href'))")
    )
    assert hrefs and all(h.startswith("/") and "None" not in h for h in hrefs), hrefs
    browser_log.assert_clean()


# (c) axe-core on the organisation page and the search results.

AXE_AUDIENCES = {
    "admin@northwind.example": ("/organizations/8", "firewall"),
    "admin@alpine.example": ("/organizations/mine", "firewall"),
    "admin@granite.example": ("/organizations/mine", "firewall"),
}
# Pages of a kind only some audiences reach: a partner's list of the customers it manages.
AXE_MORE = {"admin@alpine.example": ("/organizations/2/customers",)}


@pytest.mark.parametrize("email", list(AXE_AUDIENCES))
def test_axe_finds_no_serious_violation_on_the_organisation_page_and_search(
    axe_page: Page, browser_log, email
):
    sign_in(axe_page, email)
    org_path, words = AXE_AUDIENCES[email]
    found_violations = {}
    for path in (org_path, f"/search?q={words}", "/search?q=zzzznothing", *AXE_MORE.get(email, ())):
        response = axe_page.goto(path)
        assert response.status == 200, f"{path}: {response.status}"
        violations = blocking_violations(axe_page)
        if violations:
            found_violations[axe_page.url] = violations
    assert not found_violations, f"{email}:\n{report(found_violations)}"
    browser_log.assert_clean()
