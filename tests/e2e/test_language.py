"""In a real browser: the language switch in the account menu turns the portal German for the
person (stored, so the next sign-in is German too), the page says so (``<html lang="de">``),
axe-core finds nothing serious on it, and a visitor whose browser asks for German reads German.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import blocking_violations, report
from tests.e2e.steps import HOME_URL, LOGIN_URL, click, goto, nav, sign_in

pytestmark = pytest.mark.browser

CUSTOMER = "lee@granite.example"


def german_nav(page):
    return page.get_by_role("navigation", name="Hauptnavigation")


def test_the_switch_in_the_account_menu_turns_the_portal_german(axe_page, browser_log):
    page = axe_page
    sign_in(page, CUSTOMER)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    click(nav(page).get_by_role("button", name="Deutsch"))

    expect(page).to_have_url(HOME_URL)  # back on the page it was chosen on
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(german_nav(page).get_by_role("button", name="Abmelden")).to_be_visible()
    expect(german_nav(page).get_by_role("link", name="Benachrichtigungen")).to_be_visible()
    expect(german_nav(page).get_by_role("button", name="English")).to_have_attribute("lang", "en")
    assert not (found := blocking_violations(page)), report({"/home (de)": found})

    goto(page, "/account")  # the choice holds on every page
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", name="Profil")).to_be_visible()
    assert not (found := blocking_violations(page)), report({"/account (de)": found})

    # Signed out, the sign-in page stays German; the next sign-in is German from the start.
    click(german_nav(page).get_by_role("button", name="Abmelden"))
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("alert")).to_have_text("Sie sind abgemeldet.")
    page.context.clear_cookies()
    goto(page, "/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # a new visitor: English
    page.get_by_label("Email", exact=True).fill(CUSTOMER)
    page.get_by_label("Password", exact=True).fill("demo-portal-2026")
    click(page.get_by_role("button", name="Sign in"))
    expect(page).to_have_url(HOME_URL)
    expect(page.locator("html")).to_have_attribute("lang", "de")  # the stored choice

    click(german_nav(page).get_by_role("button", name="English"))  # and back
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(nav(page).get_by_role("button", name="Sign out")).to_be_visible()
    browser_log.assert_clean()


def test_a_visitor_whose_browser_asks_for_german_reads_german(axe_page, browser_log):
    page = axe_page

    def in_german(route):  # what a browser set to German sends (the context's locale is en-GB)
        route.fallback(headers={**route.request.headers, "accept-language": "de-DE,de;q=0.9"})

    page.route("**/*", in_german)
    goto(page, "/login")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("button", name="Anmelden")).to_be_visible()
    assert not (found := blocking_violations(page)), report({"/login (de)": found})
    click(page.get_by_role("button", name="English"))  # the visitor's switch
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    browser_log.assert_clean()
