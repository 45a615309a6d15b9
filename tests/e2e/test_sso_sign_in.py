"""In a real browser: an organisation's admin connects its OpenID Connect provider on the
"Sign-in" page, and a newcomer whose email is in the organisation's domain then signs in with
nothing but that email: the portal sends the browser to the provider, the provider approves, and
the browser comes back to the portal and lands on the organisation's home page.

The provider is the loopback one of ``tests/oidc_provider.py`` (another port of 127.0.0.1, so the
browser fixtures' rule "nothing leaves the machine" holds). The portal runs as a live server of
this module's own, like the one of ``conftest.py`` but with ``BASE_URL`` set to its address and
loopback providers allowed, and with a PostgreSQL database of its own name, so it never meets
another run's ``portal_e2e``.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import serve_portal
from tests.e2e.steps import HOME_URL, click, nav_link, sign_in, sign_out
from tests.oidc_provider import TestProvider

pytestmark = pytest.mark.browser

ADMIN = "admin@alpine.example"
ORGANISATION = "Alpine IT Solutions"
DOMAIN = "sso-alpine.example"  # no user of any organisation has an address here
CLIENT_ID, CLIENT_SECRET = "portal-alpine", "alpine-provider-secret-0123456789"
NEWCOMER = {
    "sub": "alpine-newcomer-1",
    "email": f"nora.newcomer@{DOMAIN}",
    "email_verified": True,
    "name": "Nora Newcomer",
}

SIGN_IN_SETTINGS_URL = re.compile(r"/admin/sign-in$")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal for this module, allowing a provider on loopback over http (what
    ``PORTAL_ENV=testing`` implies, said outright: this module needs it)."""
    with serve_portal(tmp_path_factory, "_sso", SSO_ALLOW_INSECURE_LOOPBACK=True) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def provider():
    with TestProvider("/realms/alpine") as idp:
        yield idp


def connect_provider_as_admin(page: Page, provider: TestProvider, live_server: str) -> str:
    """The admin's part, through the pages: sign in, open "Sign-in", register the callback it
    shows at the provider, fill in and save the provider, see it in use, sign out. Returns the
    callback URL."""
    sign_in(page, ADMIN)
    click(nav_link(page, "Sign-in"))
    expect(page).to_have_url(SIGN_IN_SETTINGS_URL)
    expect(page.get_by_role("heading", name="Sign-in with your identity provider")).to_be_visible()

    callback = page.get_by_test_id("callback-url").inner_text().strip()
    assert callback == f"{live_server}/sso/callback"
    provider.add_client(CLIENT_ID, CLIENT_SECRET, [callback])

    page.get_by_label("Issuer URL").fill(provider.issuer)
    page.get_by_label("Client ID").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    page.get_by_label("Email domains, one per line").fill(DOMAIN)
    page.get_by_label("Role of people who sign in for the first time").select_option(
        label="Partner user"
    )
    click(page.get_by_role("button", name="Check and save"))

    expect(page).to_have_url(SIGN_IN_SETTINGS_URL)
    expect(page.locator(".alert-success")).to_have_text(
        f"Sign-in through {provider.issuer} is saved and in use."
    )
    expect(page.get_by_text(re.compile(rf"In use: {re.escape(provider.issuer)}, "))).to_be_visible()
    sign_out(page)
    return callback


def test_an_admin_connects_the_organisations_provider(
    page: Page, browser_log, provider, live_server
):
    connect_provider_as_admin(page, provider, live_server)
    browser_log.assert_clean()


@contextmanager
def failures_with_browser_log(browser_log):
    """A failure reports what the browser logged too, and only once (without this, ``page``'s
    safety net would add an error at teardown to an expected failure)."""
    try:
        yield
    except BaseException as error:
        browser_log.checked = True
        problems = browser_log.problems()
        if problems and not isinstance(error, KeyboardInterrupt):
            raise AssertionError(f"{error}\nThe browser logged: {problems}") from error
        raise


def newcomer_signs_in(page: Page, browser_log, provider: TestProvider, callback: str) -> None:
    """The newcomer's part: type only the email on /login, press "Sign in", go to the provider
    (which approves ``next_user`` at once), come back, land on the organisation's home."""
    provider.next_user = dict(NEWCOMER)
    asked = len(provider.authorization_requests)

    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(NEWCOMER["email"])
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    try:
        with page.expect_response(lambda r: r.url.startswith(callback + "?")) as returned:
            page.get_by_role("button", name="Sign in").click()
    except PlaywrightTimeoutError:
        raise AssertionError(f"the browser never came back to {callback}") from None

    # The browser went to the provider with a proper request, and came back with a code.
    (sent,) = provider.authorization_requests[asked:]
    assert sent["client_id"] == CLIENT_ID and sent["redirect_uri"] == callback
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"]
    assert sent["state"] and sent["nonce"]
    assert any(r.startswith(provider.url("/authorize") + "?") for r in browser_log.requests)
    back = returned.value
    assert "code=" in back.url
    assert back.status == 302, f"the portal's callback answered {back.status}"
    assert [t["status"] for t in provider.token_requests][-1:] == [200]

    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_test_id("home-heading")).to_have_text("Partner home")
    expect(
        page.get_by_text(re.compile(rf"Signed in as Nora Newcomer, .* at {ORGANISATION}\."))
    ).to_be_visible()
    browser_log.assert_clean()


def test_a_newcomer_signs_in_with_only_an_email_and_lands_on_partner_home(
    page: Page, browser_log, provider, live_server
):
    with failures_with_browser_log(browser_log):
        callback = connect_provider_as_admin(page, provider, live_server)
        newcomer_signs_in(page, browser_log, provider, callback)
