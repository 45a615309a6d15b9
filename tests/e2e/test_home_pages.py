"""In a real browser: each audience signs in through the sign-in page, lands on its own home page
with the navigation its role allows, and signs out again; the sign-in form works from the
keyboard; and no page logs an error or reaches for a host other than the portal's own (the portal
must work offline, Bootstrap included)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from portal.seed import DEMO_PASSWORD
from tests.e2e.steps import nav, sign_in

pytestmark = pytest.mark.browser

ADMIN_LINKS = ("Organisations", "Audit log")


@dataclass(frozen=True)
class Audience:
    email: str
    heading: str
    organisation: str
    visible: tuple[str, ...]  # links the main navigation shows
    hidden: tuple[str, ...]  # links it must not show


ACCOUNTS = [
    Audience(
        "admin@northwind.example",
        "Vendor home",
        "Northwind Systems",
        ("Home", "Organisations", "Team", "Audit log"),
        (),
    ),
    Audience(
        "channel@northwind.example",
        "Vendor home",
        "Northwind Systems",
        ("Home", "Organisations"),
        ("Team", "Audit log"),
    ),
    Audience(
        "admin@alpine.example", "Partner home", "Alpine IT Solutions", ("Home", "Team"), ADMIN_LINKS
    ),
    Audience(
        "sam@alpine.example",
        "Partner home",
        "Alpine IT Solutions",
        ("Home",),
        ("Team", *ADMIN_LINKS),
    ),
    Audience(
        "admin@granite.example", "Customer home", "Granite Bank", ("Home", "Team"), ADMIN_LINKS
    ),
    Audience(
        "lee@granite.example", "Customer home", "Granite Bank", ("Home",), ("Team", *ADMIN_LINKS)
    ),
]

LOGIN_URL = re.compile(r"/login(\?.*)?$")
HOME_URL = re.compile(r"/home$")


def _expect_sign_in_page(page: Page) -> None:
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_label("Email", exact=True)).to_be_visible()


@pytest.mark.parametrize("who", ACCOUNTS, ids=lambda a: a.email.split(".")[0])
def test_each_audience_signs_in_sees_its_home_and_signs_out(page: Page, browser_log, who):
    page.goto("/login")
    _expect_sign_in_page(page)
    # The form carries a real CSRF token (the server checks it: CSRF is on for this app). The
    # sign-in form: the language switch in the navigation carries one too.
    sign_in_form = page.get_by_role("main").locator("form input[name=csrf_token]")
    expect(sign_in_form).to_have_value(re.compile(r".{20,}"))
    page.get_by_label("Email", exact=True).fill(who.email)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_test_id("home-heading")).to_have_text(who.heading)
    signed_in_as = re.compile(rf"Signed in as .* at {re.escape(who.organisation)}\.")
    expect(page.get_by_text(signed_in_as)).to_be_visible()
    main_nav = nav(page)
    expect(main_nav.get_by_role("link", name="Home", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    # In a drop-down of its area or a plain link: counted whether its menu is open or not.
    links = main_nav.get_by_role("link", include_hidden=True)
    for label in who.visible:
        expect(links.filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))).to_have_count(1)
    for label in who.hidden:
        expect(links.filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))).to_have_count(0)

    main_nav.get_by_role("button", name="Sign out").click()
    _expect_sign_in_page(page)
    expect(page.get_by_role("alert")).to_have_text("You are signed out.")
    expect(main_nav.get_by_role("button", name="Sign out")).to_have_count(0)

    # The signed-in page cannot come back: not from history, not by its address.
    page.go_back()
    _expect_sign_in_page(page)
    expect(page.get_by_test_id("home-heading")).to_have_count(0)
    page.goto("/home")
    _expect_sign_in_page(page)
    expect(page.get_by_test_id("home-heading")).to_have_count(0)

    browser_log.assert_clean()


def test_sign_in_form_works_from_the_keyboard(page: Page, browser_log):
    page.goto("/login")
    _expect_sign_in_page(page)
    email = page.get_by_label("Email", exact=True)
    password = page.get_by_label("Password", exact=True)
    submit = page.get_by_role("button", name="Sign in")

    # Before the form come only the skip link and the brand; the email field is reached soon.
    for _ in range(5):
        page.keyboard.press("Tab")
        if email.evaluate("el => el === document.activeElement"):
            break
    expect(email).to_be_focused()
    page.keyboard.type("admin@alpine.example")
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Tab")
    expect(submit).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_test_id("home-heading")).to_have_text("Partner home")
    browser_log.assert_clean()


def test_pages_stay_on_the_portal_host(page: Page, browser_log, live_server):
    """Every request a sign-in and a home page make goes to the portal itself, stylesheets and
    scripts included (Bootstrap is served locally, never from a CDN)."""
    sign_in(page, "admin@northwind.example")
    expect(page.get_by_test_id("home-heading")).to_have_text("Vendor home")
    # Bootstrap's own stylesheet and script were loaded, from the portal.
    assert any("bootstrap" in u and u.endswith(".css") for u in browser_log.requests), (
        browser_log.requests
    )
    assert any("bootstrap" in u and u.endswith(".js") for u in browser_log.requests), (
        browser_log.requests
    )
    assert all(
        u.startswith(live_server + "/") or u.startswith("data:") for u in browser_log.requests
    ), browser_log.requests
    # ... and applied: the navbar is styled by Bootstrap, not the browser's defaults.
    expect(nav(page)).to_have_css("display", "flex")  # waits for the stylesheet
    browser_log.assert_clean()


def test_home_of_a_managed_customer_names_the_partner_that_serves_it(page: Page, browser_log):
    sign_in(page, "admin@granite.example")  # Granite Bank is managed by Alpine IT Solutions
    expect(page.get_by_test_id("home-heading")).to_have_text("Customer home")
    browser_log.assert_clean()
    expect(page.get_by_text("Served by Alpine IT Solutions.")).to_be_visible(timeout=1_000)


# What needs each person now: the panels of the home page (issue 13), with the demo world's work.
WORK = [
    ("admin@northwind.example", ("organisations", "deals_review", "cases_agent")),
    ("channel@northwind.example", ("deals_review", "leads_shared", "quotes_waiting")),
    ("support@northwind.example", ("cases_agent",)),
    ("admin@alpine.example", ("leads_offers", "deals_partner", "cases_customers")),
    ("admin@granite.example", ("cases_own", "quotes_to_answer", "kb_search")),
]


@pytest.mark.parametrize("email,keys", WORK, ids=[w[0].split(".")[0] for w in WORK])
def test_each_home_shows_what_needs_the_person(page: Page, browser_log, email, keys):
    sign_in(page, email)
    for key in keys:
        expect(page.get_by_test_id(f"panel-{key}")).to_be_visible()
    # Another audience's panels never show.
    others = {"vendor": ("leads_offers", "cases_own"), "partner": ("deals_review", "cases_own")}
    for key in others.get(
        "vendor" if "northwind" in email else "partner" if "alpine" in email else "", ()
    ):
        expect(page.get_by_test_id(f"panel-{key}")).to_have_count(0)
    browser_log.assert_clean()


def test_channel_manager_sees_conflicts_marked_and_counts_open_the_list(page: Page, browser_log):
    sign_in(page, "channel@northwind.example")
    review = page.get_by_test_id("panel-deals_review")
    expect(review.get_by_test_id("conflict-flag").first).to_be_visible()
    count = review.get_by_test_id("count-deals-review")
    expect(count).to_have_text(re.compile(r"^\d+ to review$"))
    waiting = int(count.inner_text().split()[0])
    expect(review.get_by_test_id("review-item")).to_have_count(min(waiting, 5))
    count.click()
    expect(page).to_have_url(re.compile(r"/deals/review$"))
    expect(page.get_by_role("heading", name="Registrations to review")).to_be_visible()
    browser_log.assert_clean()


def test_partner_sees_its_offers_with_their_respond_by(page: Page, browser_log):
    sign_in(page, "admin@alpine.example")
    offers = page.get_by_test_id("panel-leads_offers")
    expect(offers.get_by_test_id("offer-item").first).to_contain_text("respond by")
    offers.get_by_test_id("offer-item").first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/leads/\d+$"))
    expect(page.get_by_role("button", name=re.compile("Accept"))).to_be_visible()
    browser_log.assert_clean()


def test_customer_sees_the_quote_waiting_for_it(page: Page, browser_log):
    sign_in(page, "admin@granite.example")
    quotes = page.get_by_test_id("panel-quotes_to_answer")
    expect(quotes.get_by_test_id("quote-item")).not_to_have_count(0)
    quotes.get_by_test_id("count-quotes_to_answer").click()
    expect(page).to_have_url(re.compile(r"/quotes/\?status=open$"))
    browser_log.assert_clean()
