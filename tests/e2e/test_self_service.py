"""In a real browser, self-service from three sides (issue 6's "Done when").

A customer user of Granite Bank (managed by Alpine) starts typing a case's subject and sees a
suggested help-centre article appear without the page reloading; opens it, and opens a case
anyway. A support agent replies publicly and adds an internal note. The customer sees the reply
and not the note; Alpine's admin, the partner that manages Granite Bank, sees the case read only,
with the reply and without the note. No page logs an error or asks another host.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.steps import click, goto, loaded, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

CUSTOMER = "lee@granite.example"
AGENT = "support@northwind.example"
PARTNER = "admin@alpine.example"
SUBJECT = "VPN tunnel drops at night"
ARTICLE = "VPN tunnel drops every few hours"
REPLY = "Please send the IKE logs from both peers."
NOTE = "Internal: matches ENG-2211, do not promise a date."
CASE_URL = re.compile(r"/cases/(\d+)$")


def test_suggestion_case_reply_note_and_read_only_partner(page: Page, browser_log):
    sign_in(page, CUSTOMER)
    click(nav_link(page, "Cases"))
    click(page.get_by_role("link", name="Open a case"))
    expect(page).to_have_url(re.compile(r"/cases/new$"))
    loaded(page)
    origin = page.evaluate("performance.timeOrigin")
    page.get_by_label("Subject").press_sequentially("VPN tunnel drops", delay=30)
    suggestion = page.get_by_test_id("suggestion").filter(has_text=ARTICLE)
    expect(suggestion).to_be_visible()
    assert page.evaluate("performance.timeOrigin") == origin  # no page reload
    click(suggestion)
    expect(page.get_by_role("heading", name=ARTICLE)).to_be_visible()
    click(page.get_by_role("link", name="No, open a case anyway"))
    page.get_by_label("Subject").fill(SUBJECT)
    page.get_by_label("Describe the problem (markdown)").fill(
        "Since Monday the tunnel drops at 02:00."
    )
    page.get_by_label("Priority").select_option("high")
    click(page.get_by_role("button", name="Open the case"))
    expect(page).to_have_url(CASE_URL)
    case_path = CASE_URL.search(page.url).group(0)
    expect(page.get_by_role("heading", name=re.compile(SUBJECT))).to_be_visible()
    sign_out(page)

    sign_in(page, AGENT)
    goto(page, case_path)
    reply_form = page.get_by_test_id("reply-form")
    reply_form.get_by_label("Reply").fill(REPLY)
    click(reply_form.get_by_role("button", name="Send"))
    expect(page.get_by_text("Your reply is sent.")).to_be_visible()
    reply_form = page.get_by_test_id("reply-form")
    reply_form.get_by_label("Reply").fill(NOTE)
    reply_form.get_by_label("Internal note (never shown to the customer)").check()
    click(reply_form.get_by_role("button", name="Send"))
    expect(page.get_by_test_id("internal-note").filter(has_text=NOTE)).to_be_visible()
    expect(page.get_by_test_id("sla")).to_contain_text("met")
    sign_out(page)

    sign_in(page, CUSTOMER)
    goto(page, case_path)
    expect(page.get_by_test_id("reply").filter(has_text=REPLY)).to_be_visible()
    expect(page.get_by_text(NOTE)).to_have_count(0)
    expect(page.get_by_test_id("internal-note")).to_have_count(0)
    sign_out(page)

    sign_in(page, PARTNER)
    goto(page, case_path)
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_test_id("reply").filter(has_text=REPLY)).to_be_visible()
    expect(page.get_by_text(NOTE)).to_have_count(0)
    expect(page.get_by_test_id("reply-form")).to_have_count(0)
    browser_log.assert_clean()


DRAFT = "Since the firmware update the tunnel drops at 02:00 every night; logs attached later."
FIREWALL = "Firewall appliance 200 (SEC-FW-200)"
DETAILS = "Model, version or serial number (optional)"


def test_a_draft_survives_a_suggested_article_on_a_phone(page: Page, browser_log):
    """At 390 px the suggested articles sit between the fields and the button; reading one and
    coming back keeps what was typed; sending the case forgets the draft."""
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, CUSTOMER)
    goto(page, "/cases/new")
    page.get_by_label("Describe the problem (markdown)").fill(DRAFT)
    product = page.get_by_label("Product", exact=True)
    product.select_option(label=FIREWALL)  # the demo catalogue's, in its line's group
    page.get_by_label(DETAILS).fill("VPN gateway")
    page.get_by_label("Subject").press_sequentially("VPN tunnel drops", delay=30)
    suggestion = page.get_by_test_id("suggestion").filter(has_text=ARTICLE)
    expect(suggestion).to_be_visible()
    button = page.get_by_role("button", name="Open the case")
    assert suggestion.bounding_box()["y"] < button.bounding_box()["y"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the new-case page is {width} px wide on a phone"
    click(suggestion)
    expect(page.get_by_role("heading", name=ARTICLE)).to_be_visible()
    click(page.get_by_role("link", name="No, open a case anyway"))
    expect(page.get_by_label("Describe the problem (markdown)")).to_have_value(DRAFT)
    expect(product.locator("option:checked")).to_have_text(FIREWALL)
    expect(page.get_by_label(DETAILS)).to_have_value("VPN gateway")
    expect(page.get_by_label("Subject")).to_have_value("VPN tunnel drops")
    click(page.get_by_role("button", name="Open the case"))
    expect(page).to_have_url(CASE_URL)
    expect(page.get_by_test_id("description")).to_contain_text("tunnel drops at 02:00")
    expect(page.get_by_test_id("product")).to_contain_text("Firewall appliance 200")
    expect(page.get_by_test_id("product")).to_contain_text("VPN gateway")
    goto(page, "/cases/new")  # sent: the draft is gone
    expect(page.get_by_label("Describe the problem (markdown)")).to_have_value("")
    browser_log.assert_clean()


def test_a_solved_case_asks_its_requester_for_a_rating_on_its_page(page: Page, browser_log):
    sign_in(page, CUSTOMER)
    goto(page, "/cases/new")
    page.get_by_label("Subject").fill("Badge printer prints blank cards")
    page.get_by_label("Describe the problem (markdown)").fill("Every card comes out blank.")
    click(page.get_by_role("button", name="Open the case"))
    expect(page).to_have_url(CASE_URL)
    expect(page.get_by_test_id("csat-prompt")).to_have_count(0)
    click(page.get_by_role("button", name="My problem is solved"))
    prompt = page.get_by_test_id("csat-prompt")
    expect(prompt).to_be_visible()
    prompt.get_by_label("4 · Satisfied").check()
    prompt.get_by_label("Anything you would like to add? (optional)").fill("Fixed it myself")
    click(prompt.get_by_role("button", name="Send my rating"))
    expect(page.get_by_text("Thank you: your rating is recorded.")).to_be_visible()
    expect(page.get_by_test_id("csat-given")).to_have_text(
        "You rated the help on this case 4 of 5. Thank you!"
    )
    expect(page.get_by_test_id("csat-form")).to_have_count(0)
    browser_log.assert_clean()
