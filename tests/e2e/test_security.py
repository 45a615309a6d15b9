"""In a real browser: a customer's admin finds "Security" in the account menu, sets up an
authenticator app (QR code and key, a first code, ten recovery codes), sees their sessions and
authorised apps, signs out and back in with the password and a code from the app; the
organisation's second-factor rule is reached from the Administration menu. axe-core checks each
new page (the sign-in code step included)."""

from __future__ import annotations

import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from portal.seed import DEMO_PASSWORD
from tests.e2e.axe import blocking_violations, report
from tests.e2e.steps import HOME_URL, click, goto, nav, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

ADMIN = "admin@granite.example"


def _scan(page: Page, found: dict) -> None:
    violations = blocking_violations(page)
    if violations:
        found[page.url] = violations


def test_enrol_an_authenticator_and_sign_in_with_it(axe_page: Page, browser_log):
    page, found = axe_page, {}
    sign_in(page, ADMIN)
    click(nav(page).get_by_test_id("account"))  # opens the account menu
    click(nav(page).get_by_test_id("security"))
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    _scan(page, found)

    click(page.get_by_role("button", name="Set up an authenticator app"))
    expect(page.get_by_test_id("totp-qr")).to_be_visible()
    _scan(page, found)
    totp = pyotp.TOTP(page.get_by_test_id("totp-secret").inner_text().replace(" ", ""))
    page.get_by_label("Code from the app").fill(totp.now())
    click(page.get_by_role("button", name="Confirm"))
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    _scan(page, found)
    click(page.get_by_role("link", name="I have kept them"))
    expect(page.get_by_test_id("second-factor-on")).to_be_visible()

    click(page.get_by_role("link", name="Sessions", exact=True))
    expect(page.get_by_text("This session")).to_be_visible()
    _scan(page, found)
    click(page.get_by_role("link", name="Authorised apps", exact=True))
    expect(page.get_by_text("No app acts for you.")).to_be_visible()
    _scan(page, found)

    click(nav_link(page, "Second factor"))
    expect(
        page.get_by_label("Members who sign in with a password must use a second factor")
    ).to_be_visible()
    _scan(page, found)

    sign_out(page)
    goto(page, "/login")
    page.get_by_label("Email", exact=True).fill(ADMIN)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    click(page.get_by_role("button", name="Sign in"))
    expect(page.get_by_role("heading", name="Your second factor")).to_be_visible()
    _scan(page, found)
    # The code of the next 30 seconds: the one that confirmed the set-up is used already.
    page.get_by_label("Code", exact=True).fill(totp.at(time.time() + 30))
    click(page.get_by_role("button", name="Continue"))
    expect(page).to_have_url(HOME_URL)

    assert not found, report(found)
    browser_log.assert_clean()
