"""In a real browser: a partner's admin finds Webhooks under Administration, subscribes an
endpoint (a real HTTP receiver on loopback) to ``deal.*``, sees the signing secret once,
registers a deal, and finds the delivery in the endpoint's log, answered 200; the receiver
verifies the signature with the secret the page showed. axe-core finds no serious or critical
violation on the list, the form and the log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from standardwebhooks import Webhook

from tests.e2e.axe import blocking_violations, report
from tests.e2e.conftest import serve_portal
from tests.e2e.steps import click, goto, nav_link, sign_in
from tests.integration.test_webhooks import Receiver

pytestmark = pytest.mark.browser

PARTNER_ADMIN = "admin@alpine.example"
DETAIL_URL = re.compile(r"/admin/webhooks/(\d+)$")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal for this module alone, allowed to reach the receiver on loopback."""
    with serve_portal(tmp_path_factory, "_webhooks", WEBHOOK_ALLOW_PRIVATE_TARGETS=True) as url:
        yield url


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _scan(page: Page, found: dict) -> None:
    violations = blocking_violations(page)
    if violations:
        found[page.url] = violations


def test_an_admin_subscribes_an_endpoint_and_sees_the_delivery_in_the_log(
    axe_page: Page, browser_log, receiver, live_server
):
    page = axe_page
    found: dict = {}
    sign_in(page, PARTNER_ADMIN)
    click(nav_link(page, "Webhooks"))
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    _scan(page, found)
    click(page.get_by_role("link", name="Add an endpoint"))
    expect(page.get_by_role("heading", name="Add a webhook endpoint")).to_be_visible()
    _scan(page, found)
    page.get_by_label("Endpoint URL").fill(receiver.url("/portal-events"))
    page.get_by_label("Event types").fill("deal.*")
    page.get_by_label("Description").fill("Our CRM")
    click(page.get_by_role("button", name="Subscribe"))
    expect(page).to_have_url(re.compile(r"/admin/webhooks/new$"))  # the answer of the POST
    secret = page.locator("#webhook-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    expect(page.get_by_text("Nothing delivered yet.")).to_be_visible()
    _scan(page, found)

    goto(page, "/deals/new")
    expect(page.get_by_role("heading", name="Register a deal")).to_be_visible()
    for label, value in {
        "End customer (company)": "Webhook Windmills GmbH",
        "Customer's web domain": "webhookwindmills.io",
        "Contact at the customer": "Ada Vogel",
        "Contact's email": "ada@webhookwindmills.io",
        "Estimated value": "12000.00",
    }.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Products of interest, one per line", exact=True).fill("Core switches")
    page.get_by_label("Currency", exact=True).select_option("EUR")
    close = (datetime.now(UTC).date() + timedelta(days=45)).isoformat()
    page.get_by_label("Expected close", exact=True).fill(close)
    click(page.get_by_role("button", name="Submit for review"))
    expect(page).to_have_url(re.compile(r"/deals/\d+$"))

    click(nav_link(page, "Webhooks"))
    click(page.get_by_role("link", name=receiver.url("/portal-events")))
    expect(page).to_have_url(DETAIL_URL)
    log = page.locator("#delivery-log")
    for _ in range(40):  # the job runs once the answer is sent: a moment on a busy machine
        if "Delivered" in log.inner_text():  # its row shows before the attempt ends
            break
        page.wait_for_timeout(500)
        page.reload()
    assert "deal.submitted" in log.inner_text(), (
        f"no delivery in the log; the receiver got {len(receiver.received)} POST(s)"
    )
    expect(log).to_contain_text("Delivered")
    expect(log).to_contain_text("HTTP 200")
    _scan(page, found)

    (got,) = [r for r in receiver.received if r["path"] == "/portal-events"]
    payload = Webhook(secret).verify(got["body"], got["headers"])
    assert payload["type"] == "deal.submitted"
    assert payload["data"]["customer_name"] == "Webhook Windmills GmbH"
    assert not found, report(found)
    browser_log.assert_clean()
