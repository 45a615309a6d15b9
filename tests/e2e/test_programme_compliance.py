"""In a real browser, on the demo world: a partner admin opens Channel → Certifications, reads
its standing against its tier and the next, and records a certification with its evidence file;
a channel manager finds it under Certifications to verify and verifies it, then opens Tier
reviews from the home page and applies a proposed tier change; the partner's admin is told. A
vendor admin adds a tier and moves it into place. axe-core finds no serious or critical
violation on the pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import blocking_violations
from tests.e2e.steps import click, loaded, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n%demo evidence\n%%EOF\n"


def test_certification_recorded_verified_and_a_tier_change_applied(page: Page, browser_log):
    # The partner records a certification with its evidence.
    sign_in(page, "admin@brightline.example")
    click(nav_link(page, "Certifications"))
    expect(page).to_have_url(re.compile(r"/program/certifications$"))
    expect(page.get_by_test_id("standing")).to_contain_text("Your tier: Silver")
    page.get_by_label("Person").select_option(label="Brightline Admin")
    page.get_by_label("Name", exact=True).fill("Northwind Storage Specialist")
    page.get_by_label("Issued by").fill("Northwind Academy")
    page.get_by_label("Obtained on").fill("2026-11-20")
    page.get_by_label("Evidence").set_input_files(
        {"name": "storage.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    click(page.get_by_role("button", name="Record"))
    expect(page.get_by_role("alert").first).to_contain_text("the vendor will verify it")
    row = page.get_by_test_id("certification-row").filter(has_text="Northwind Storage Specialist")
    expect(row.get_by_test_id("certification-status")).to_have_text("waiting for verification")
    sign_out(page)

    # The channel manager verifies it, then decides a tier change from the home page.
    sign_in(page, "channel@northwind.example")
    click(nav_link(page, "Certifications to verify"))
    row = page.get_by_test_id("certification-row").filter(has_text="Northwind Storage Specialist")
    expect(row).to_contain_text("Brightline Resellers")
    click(row.get_by_role("button", name="Verify"))
    expect(page.get_by_role("alert").first).to_contain_text("is verified")
    click(nav_link(page, "Home"))
    click(page.get_by_test_id("count-tier-proposals"))
    expect(page).to_have_url(re.compile(r"/program/proposals$"))
    proposal = page.get_by_test_id("proposal-row").filter(has_text="Fjord Distribution")
    expect(proposal).to_contain_text("Demotion")
    click(proposal.get_by_role("button", name="Apply"))
    expect(page.get_by_role("alert").first).to_contain_text("Fjord Distribution moved")
    expect(page.get_by_test_id("decided-proposals")).to_contain_text("Fjord Distribution")
    sign_out(page)

    # Fjord's admin is told, and reads its new tier.
    sign_in(page, "admin@fjord.example")
    click(nav_link(page, "Programme"))
    expect(page.locator("main")).to_contain_text("Registered")
    sign_out(page)

    # A vendor admin adds a tier and moves it below Platinum.
    sign_in(page, "admin@northwind.example")
    click(nav_link(page, "Partners"))
    click(page.get_by_role("link", name="Tiers and what they give"))
    click(page.get_by_role("link", name="New tier"))
    page.get_by_label("Name", exact=True).fill("Diamond")
    page.get_by_label("Discount on quotes (%)").fill("25")
    page.get_by_label("Deal protection (days)").fill("180")
    page.get_by_label("Lead-distribution weight").fill("6")
    page.get_by_label("Maximum open leads").fill("30")
    page.get_by_label("Required certified people").fill("5")
    click(page.get_by_role("button", name="Add tier"))
    expect(page.get_by_role("alert").first).to_contain_text("Tier Diamond added")
    click(page.get_by_role("button", name="Move Diamond down"))
    expect(page.get_by_role("alert").first).to_contain_text("Tier Diamond moved")
    loaded(page)
    names = page.get_by_test_id("tier-row").locator("td:first-child").all_inner_texts()
    assert names[-2:] == ["Diamond", "Platinum"]
    browser_log.assert_clean()


@pytest.mark.parametrize(
    ("email", "paths"),
    [
        ("admin@alpine.example", ["/program/certifications"]),
        (
            "channel@northwind.example",
            ["/program/certifications/review", "/program/proposals", "/home"],
        ),
        ("admin@northwind.example", ["/program/tiers", "/program/tiers/new"]),
    ],
)
def test_axe_finds_no_serious_or_critical_violation(axe_page: Page, browser_log, email, paths):
    sign_in(axe_page, email)
    found = {}
    for path in paths:
        response = axe_page.goto(path)
        assert response.status == 200, path
        found[path] = blocking_violations(axe_page)
    assert not any(found.values()), found
    browser_log.assert_clean()
