"""In a real browser whose zone is Tokyo: the portal learns the zone from the browser once
(portal/static/timezone.js), shows times in it, and offers it on the account page to change.

A person of the demo who has no zone yet signs in; the page sends the browser's zone; from the
next page on, a moment reads as Tokyo's wall clock (its ``<time datetime>`` stays ISO 8601).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect

from portal import formatting
from tests.e2e.conftest import watched_page
from tests.e2e.steps import click, goto, sign_in

CHANNEL_MANAGER = "channel@northwind.example"
ZONE = "Asia/Tokyo"


@pytest.fixture
def tokyo_page(chromium, live_server, browser_log):
    """A watched browser context whose clock is in Tokyo."""
    with watched_page(chromium, live_server, browser_log, timezone_id=ZONE) as page:
        yield page


def test_the_browsers_zone_is_learnt_once_and_times_follow_it(tokyo_page, browser_log):
    page = tokyo_page
    with page.expect_response("**/account/timezone") as reported:
        sign_in(page, CHANNEL_MANAGER)
    assert reported.value.status == 204
    assert reported.value.request.method == "POST"

    # The next pages no longer ask; the account page shows the zone, to keep or change.
    goto(page, "/account")
    expect(page.locator("script[src$='timezone.js']")).to_have_count(0)
    expect(page.get_by_label("Time zone", exact=True)).to_have_value(ZONE)

    # A lead's creation time reads as Tokyo's wall clock.
    goto(page, "/leads/")
    click(page.locator("tbody a").first)
    created = page.locator("dt", has_text="Created").locator("xpath=following-sibling::dd[1]/time")
    moment = datetime.fromisoformat(created.get_attribute("datetime"))
    expected = formatting.datetime(moment, locale="en", zone=ZONE)
    assert " ".join(created.inner_text().split()) == " ".join(expected.split())
    assert expected != formatting.datetime(moment, locale="en", zone="UTC")
    browser_log.assert_clean()
