"""In a real browser: the ideas board and an NPS answer.

Alpine's partner admin proposes an idea: typing a title like an existing idea's suggests it; a
too-short title is refused with a clear message; still under review, Alpine edits its
description. Granite Bank's customer admin finds it on the board, without Alpine's name, and
votes. The channel manager sees who proposed it (Alpine) and marks it planned; both the partner
and the customer find the notice in the portal and in their email (the loopback SMTP server).

The channel manager then creates and sends an NPS campaign to the customers; Granite's admin
opens the link from the email in a fresh browser without signing in, answers 9 with a reason, and
the link afterwards says it was answered. The campaign's results show the answer; the manager
closes the campaign and its results stay.

A support agent solves Granite's open case; Granite's admin (its requester) opens the CSAT link
from the email it received, in a fresh browser without signing in, and rates it 4 with a comment;
the link afterwards says it was answered, and the agent sees the rating on the case page.

The portal runs as a live server of this module's own (``portal_e2e_feedback`` on PostgreSQL),
sending its email to the suite's loopback SMTP server.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import serve_portal
from tests.e2e.steps import click, goto, nav, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

PARTNER = ("admin@alpine.example", "Alpine IT Solutions")
CUSTOMER = "admin@granite.example"
MANAGER = "channel@northwind.example"
TITLE = "Scheduled reports by email every Monday"
IDEA_URL = re.compile(r"/ideas/(\d+)$")
SURVEY_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/feedback/survey/[A-Za-z0-9._-]+)")
CSAT_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/feedback/csat/[A-Za-z0-9._-]+)")
AGENT = "support@northwind.example"
GRANITE_CASE = "Core switch ports amber after firmware 5.2"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, smtp_server):
    controller, _ = smtp_server
    with serve_portal(
        tmp_path_factory, "_feedback", SMTP_URL=f"smtp://127.0.0.1:{controller.port}"
    ) as base_url:
        yield base_url


def _flash(page: Page, text: str):
    return page.get_by_role("alert").filter(has_text=text)


def _mail_to(mailbox, address: str, subject: str, timeout: float = 5.0):
    """The message the live server sent to ``address`` with ``subject`` in its subject (email
    goes out right after the request commits, in the server's thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in mailbox.to(address) if subject in m["Subject"]]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no email to {address} about {subject!r}")


def _refused_post(page: Page, button, refused: list[str]) -> None:
    """Submit a form the portal sends back with 422; Chromium logs the 4xx document as a console
    error, which is set aside for exactly this address."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        click(button)
    assert answer.value.status == 422
    refused.append(urlsplit(answer.value.url).path)


def _only_refusals(browser_log, refused: list[str]) -> None:
    browser_log.console_errors[:] = [
        line
        for line in browser_log.console_errors
        if not ("422" in line and any(path in line for path in refused))
    ]
    browser_log.assert_clean()


def test_a_partners_idea_is_voted_planned_and_both_are_told(page: Page, browser_log, mailbox):
    refused: list[str] = []
    sign_in(page, PARTNER[0])
    click(nav_link(page, "Ideas"))
    click(page.get_by_role("link", name="Propose an idea"))
    page.wait_for_load_state("load")  # the suggestions' script
    page.get_by_label("Title").fill("dark mode console")  # the demo board has one like it
    expect(page.get_by_test_id("similar-ideas")).to_contain_text(
        "Dark mode for the management console"
    )
    page.get_by_label("Title").fill("Hmm")
    page.get_by_label("Product").select_option("services")
    _refused_post(page, page.get_by_role("button", name="Propose"), refused)
    expect(page.get_by_text("Field must be between 5 and 200 characters long.")).to_be_visible()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Description").fill("A PDF of last week's licences and renewals.")
    click(page.get_by_role("button", name="Propose"))
    expect(page).to_have_url(IDEA_URL)
    idea_id = IDEA_URL.search(page.url).group(1)
    expect(_flash(page, "Your idea is on the board")).to_be_visible()
    expect(page.get_by_test_id("idea-status")).to_have_text("Under review")
    # Still under review: its author may edit it.
    click(page.get_by_test_id("edit-idea"))
    page.get_by_label("Description").fill("A PDF of last week's licences, renewals and quotes.")
    click(page.get_by_role("button", name="Save"))
    expect(_flash(page, "The idea is saved.")).to_be_visible()
    expect(page.get_by_test_id("description")).to_have_text(
        "A PDF of last week's licences, renewals and quotes."
    )
    sign_out(page)

    sign_in(page, CUSTOMER)
    click(nav_link(page, "Ideas"))
    page.get_by_label("Sort").select_option("newest")
    click(page.get_by_role("button", name="Show", exact=True))
    click(page.get_by_role("link", name=TITLE))
    expect(page).to_have_url(re.compile(rf"/ideas/{idea_id}$"))
    assert PARTNER[1] not in page.content()  # authors' organisations: vendor staff only
    click(page.get_by_role("button", name="Vote"))
    expect(_flash(page, "Your vote is counted")).to_be_visible()
    expect(page.get_by_test_id("vote-count")).to_have_text("1 vote")
    expect(page.get_by_test_id("voted")).to_be_visible()
    sign_out(page)

    sign_in(page, MANAGER)
    goto(page, f"/ideas/{idea_id}")
    expect(page.get_by_test_id("author")).to_contain_text(PARTNER[1])
    page.get_by_label("New status").select_option("planned")
    page.get_by_label("Reason (required to decline; shown to everyone)").fill(
        "In the spring release."
    )
    click(page.get_by_role("button", name="Change status"))
    expect(_flash(page, "The idea is now Planned")).to_be_visible()
    expect(page.get_by_test_id("idea-status")).to_have_text("Planned")
    sign_out(page)

    subject = f"Idea “{TITLE}” is now Planned"
    for who in (PARTNER[0], CUSTOMER):
        email = _mail_to(mailbox, who, subject)
        assert "In the spring release." in email.get_content()
        assert f"/ideas/{idea_id}" in email.get_content()
        sign_in(page, who)
        click(nav(page).get_by_test_id("notifications"))
        expect(page.get_by_role("main").get_by_text(subject)).to_be_visible()
        sign_out(page)
    _only_refusals(browser_log, refused)


def test_a_recipient_answers_the_nps_link_without_signing_in(
    page: Page, browser_log, mailbox, chromium, live_server
):
    sign_in(page, MANAGER)
    click(nav_link(page, "NPS"))
    click(page.get_by_role("link", name="New campaign"))
    page.get_by_label("Name").fill("Customer NPS, browser test")
    page.get_by_label("Customers").check()
    click(page.get_by_role("button", name="Save as draft"))
    expect(_flash(page, "is saved as a draft")).to_be_visible()
    results_url = page.url
    click(page.get_by_role("button", name="Send now"))
    expect(_flash(page, "The campaign was sent to")).to_be_visible()
    sign_out(page)

    email = _mail_to(mailbox, CUSTOMER, "How likely are you to recommend us?")
    link = SURVEY_LINK.search(email.get_content()).group(1)
    stranger = chromium.new_context(base_url=live_server, locale="en-GB")  # no cookies at all
    try:
        survey = stranger.new_page()
        survey.goto(link)
        question = survey.get_by_role("heading", name="How likely are you to recommend us?")
        expect(question).to_be_visible()
        survey.get_by_label("9", exact=True).check()
        survey.get_by_label("What is the main reason for your score?").fill(
            "The partner knows our network by heart."
        )
        survey.get_by_role("button", name="Send my answer").click()
        expect(survey.get_by_test_id("survey-message")).to_have_text(
            "Your answer is recorded. It helps us do better."
        )
        survey.goto(link)
        expect(survey.get_by_test_id("survey-message")).to_have_text(
            "You have already answered this survey. Thank you!"
        )
    finally:
        stranger.close()

    sign_in(page, MANAGER)
    goto(page, results_url)
    expect(page.get_by_test_id("comments")).to_contain_text(
        "The partner knows our network by heart."
    )
    expect(page.get_by_test_id("nps-score")).to_have_text("100.0")
    closing = page.get_by_test_id("close-campaign")
    closing.locator("summary").click()
    closing.get_by_label(re.compile("I understand: the links stop working")).check()
    click(closing.locator("button[type=submit]"))
    expect(_flash(page, "The campaign is closed")).to_be_visible()
    expect(page.get_by_test_id("campaign-status")).to_have_text("closed")
    expect(page.get_by_test_id("nps-score")).to_have_text("100.0")  # the results stay
    sign_out(page)
    browser_log.assert_clean()


def test_a_solved_case_is_rated_from_the_link_in_the_email(
    page: Page, browser_log, mailbox, chromium, live_server
):
    sign_in(page, AGENT)
    goto(page, "/cases/")
    click(page.get_by_role("row").filter(has_text=GRANITE_CASE).get_by_role("link"))
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    case_url = page.url
    status_form = page.locator("form").filter(has=page.get_by_role("button", name="Set status"))
    status_form.get_by_role("combobox").select_option("solved")
    click(status_form.get_by_role("button", name="Set status"))
    expect(_flash(page, "is Solved")).to_be_visible()
    sign_out(page)

    email = _mail_to(mailbox, CUSTOMER, "How did we do on")
    assert GRANITE_CASE in email.get_content()
    link = CSAT_LINK.search(email.get_content()).group(1)
    stranger = chromium.new_context(base_url=live_server, locale="en-GB")  # no cookies at all
    try:
        survey = stranger.new_page()
        survey.goto(link)
        expect(survey.get_by_role("heading", name=re.compile("How did we do on"))).to_be_visible()
        survey.get_by_label("4 · Satisfied").check()
        survey.get_by_label("Anything you would like to add? (optional)").fill(
            "Fixed before the morning shift."
        )
        survey.get_by_role("button", name="Send my answer").click()
        expect(survey.get_by_test_id("survey-message")).to_have_text(
            "Your answer is recorded. It helps us do better."
        )
        survey.goto(link)
        expect(survey.get_by_test_id("survey-message")).to_have_text(
            "You have already answered this survey. Thank you!"
        )
    finally:
        stranger.close()

    sign_in(page, AGENT)
    page.goto(case_url)
    expect(page.get_by_test_id("csat-rating")).to_contain_text("4 / 5")
    expect(page.get_by_test_id("csat-rating")).to_contain_text("Fixed before the morning shift.")
    sign_out(page)
    browser_log.assert_clean()
