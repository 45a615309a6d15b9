"""In a real browser (issue 16, item 5): a customer's person opens "My data" from the account
menu, downloads the zip of their data and asks for erasure; their admin opens them from the
Team page, downloads their data, and erases it with a typed confirmation; the person can no
longer sign in. axe-core checks each new page."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portal.seed import DEMO_PASSWORD
from tests.e2e.axe import blocking_violations
from tests.e2e.conftest import serve_portal
from tests.e2e.steps import click, goto, nav, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

PERSON = "lee@granite.example"
ADMIN = "admin@granite.example"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal for this module alone (the journey erases a demo person)."""
    with serve_portal(tmp_path_factory, "_personal_data") as base_url:
        yield base_url


def _download_zip(page: Page, link) -> zipfile.ZipFile:
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert re.fullmatch(r"personal-data-\d+-\d{8}\.zip", download.suggested_filename)
    return zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))


def test_a_person_exports_their_data_and_their_admin_erases_it(axe_page: Page, browser_log):
    page = axe_page
    sign_in(page, PERSON)
    click(nav_link(page, "My data"))
    expect(page.get_by_role("heading", name="My data", exact=True)).to_be_visible()
    assert blocking_violations(page) == []
    archive = _download_zip(page, page.get_by_role("button", name="Download my data"))
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == PERSON and profile["organization"]["name"] == "Granite Bank"
    assert "manifest.json" in archive.namelist()
    click(page.get_by_role("button", name="Ask my admins to erase my data"))
    expect(page.get_by_role("alert")).to_contain_text("admins are told")
    sign_out(page)

    sign_in(page, ADMIN)
    click(nav_link(page, "Team"))
    click(page.get_by_role("main").get_by_role("link", name=profile["name"], exact=True))
    archive = _download_zip(page, page.get_by_role("button", name="Download their data"))
    assert json.loads(archive.read("profile.json"))["email"] == PERSON
    click(page.get_by_role("link", name="Erase their data…"))
    expect(page.get_by_role("heading", name=re.compile("Erase"))).to_be_visible()
    assert blocking_violations(page) == []
    field = page.get_by_label("Type the person's email address to confirm")
    field.fill("someone-else@granite.example")
    click(page.get_by_role("button", name="Erase personal data"))
    expect(page.get_by_text("Type the person's email address to confirm.")).to_be_visible()
    page.get_by_label("Type the person's email address to confirm").fill(PERSON)
    click(page.get_by_role("button", name="Erase personal data"))
    expect(page.get_by_role("alert")).to_contain_text("Former user")
    expect(page.get_by_role("heading", name="Former user")).to_be_visible()
    expect(page.get_by_text(PERSON)).to_have_count(0)
    sign_out(page)

    goto(page, "/login")
    page.get_by_label("Email", exact=True).fill(PERSON)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    click(page.get_by_role("button", name="Sign in"))
    expect(page.get_by_text("Email or password is not correct.")).to_be_visible()
    assert nav(page).get_by_role("link", name="My data").count() == 0
    # The two refusals answer 422, which Chromium logs as console errors: set aside exactly these.
    browser_log.console_errors[:] = [
        line
        for line in browser_log.console_errors
        if not ("422" in line and ("/erase" in line or "/login" in line))
    ]
    browser_log.assert_clean()
