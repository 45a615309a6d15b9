"""In a real browser with Chromium's virtual authenticator (DevTools' WebAuthn domain): a
customer's admin adds a passkey from the Security page (offered because the browser has
WebAuthn), signs out, and signs in with the password and the passkey. axe-core checks the pages
changed (the Security page with its passkeys and the sign-in's second step).

WebAuthn refuses an IP address as relying party, so this module serves its own portal and opens
it as ``http://localhost:<port>`` (a secure context too), with ``BASE_URL`` to match."""

from __future__ import annotations

import gc
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from portal.seed import DEMO_PASSWORD
from tests.e2e.axe import blocking_violations, report
from tests.e2e.conftest import EXPECT_TIMEOUT_MS, BrowserLog, serve_portal
from tests.e2e.steps import HOME_URL, click, goto, nav, sign_in, sign_out

pytestmark = pytest.mark.browser

ADMIN = "admin@granite.example"


@pytest.fixture(scope="module")
def localhost_server(tmp_path_factory):
    with serve_portal(tmp_path_factory, "passkeys") as base_url:
        # serve_portal yields only the URL; its app is the one whose BASE_URL it set (its config
        # may be reachable from more than one object).
        apps = [
            o
            for o in gc.get_objects()
            if isinstance(o, Flask) and o.config.get("BASE_URL") == base_url
        ]
        assert apps
        local = base_url.replace("127.0.0.1", "localhost")
        for app in apps:
            app.config["BASE_URL"] = local
        yield local


@pytest.fixture
def passkey_page(chromium, localhost_server):
    """A fresh context on ``localhost`` (CSP bypassed for axe-core), nothing leaving the machine,
    script errors recorded."""
    log = BrowserLog()
    context = chromium.new_context(
        base_url=localhost_server,
        viewport={"width": 1280, "height": 800},
        locale="en-GB",
        service_workers="block",
        bypass_csp=True,
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)

    def route(route_):
        if urlsplit(route_.request.url).hostname in {"localhost", "127.0.0.1"}:
            route_.continue_()
        else:
            log.foreign_requests.append(route_.request.url)
            route_.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    try:
        yield page, log
    finally:
        context.close()


def test_add_a_passkey_and_sign_in_with_it(passkey_page):
    page, log = passkey_page
    found: dict = {}

    def axe(page: Page) -> None:
        violations = blocking_violations(page)
        if violations:
            found[page.url] = violations

    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]

    sign_in(page, ADMIN)
    click(nav(page).get_by_test_id("account"))  # opens the account menu
    click(nav(page).get_by_test_id("security"))
    expect(page.get_by_role("heading", name="Passkeys")).to_be_visible()
    expect(page.get_by_test_id("no-passkeys")).to_be_visible()
    expect(page.get_by_text("This browser does not offer passkeys.")).to_be_hidden()
    axe(page)

    page.get_by_label("Name of the passkey").fill("This laptop")
    click(page.get_by_role("button", name="Add a passkey"))
    expect(page.get_by_text("The passkey “This laptop” is added.")).to_be_visible()
    table = page.get_by_test_id("passkeys")
    expect(table.get_by_role("cell", name="This laptop", exact=True)).to_be_visible()
    expect(table.get_by_role("cell", name="Never", exact=True)).to_be_visible()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1
    axe(page)

    sign_out(page)
    goto(page, "/login")
    page.get_by_label("Email", exact=True).fill(ADMIN)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    click(page.get_by_role("button", name="Sign in"))
    expect(page.get_by_role("heading", name="Your second factor")).to_be_visible()
    axe(page)
    click(page.get_by_role("button", name="Use a passkey"))
    expect(page).to_have_url(HOME_URL)

    click(nav(page).get_by_test_id("account"))
    click(nav(page).get_by_test_id("security"))
    expect(
        page.get_by_test_id("passkeys").get_by_role("cell", name="Never", exact=True)
    ).to_have_count(0)

    assert not found, report(found)
    log.assert_clean()
