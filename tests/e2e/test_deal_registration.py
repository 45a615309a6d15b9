"""In a real browser, deal registration from both sides of the wall (issue 4's "Done when").

Reseller B (Brightline) registers a deal through the page; reseller A (Cobalt) then registers the
same customer under a slightly different name and with the ``www.`` form of its domain. A sees
its registration "under conflict review" (issue 13), and never B's name, B's customer record or B's
registration number on any of its pages. The channel manager finds both registrations flagged in the
review queue, opens it and sees B's beside it (the partner that registered first, and when),
approves B's and rejects A's with a reason. B then sees its registration approved with the end of
its protection; A sees its own rejected with the reason. No page logs an error or asks a host
other than the portal's own.

The portal runs as a live server of this module's own, like the one of ``conftest.py`` but with a
PostgreSQL database of its own name (``portal_e2e_deals``), so it never meets another module's
``portal_e2e``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from babel.dates import format_date
from playwright.sync_api import Page, expect

from tests.e2e.conftest import serve_portal
from tests.e2e.steps import HOME_URL, click, goto, loaded, nav, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

PARTNER_A = ("admin@cobalt.example", "Cobalt Networks")
PARTNER_B = ("admin@brightline.example", "Brightline Resellers")
CHANNEL_MANAGER = "channel@northwind.example"
SILVER_PROTECTION_DAYS = 90  # Brightline's tier (portal.seed), the days of migration 0004

CUSTOMER_B = {
    "End customer (company)": "Quillfeather Analytics Ltd",
    "Customer's web domain": "quillfeather.io",
    "Contact at the customer": "Priya Hale",
    "Contact's email": "priya.hale@quillfeather.io",
    "Estimated value": "48000.00",
    "Notes": "Head office refresh, three floors.",
}
PRODUCTS_B = ["Core switches", "Wi-Fi 7 access points"]
# The same company: another legal form (a close name) and the www. form of the same domain.
CUSTOMER_A = {
    "End customer (company)": "Quillfeather Analytics Inc.",
    "Customer's web domain": "www.quillfeather.io",
    "Contact at the customer": "Tom Reyes",
    "Contact's email": "tom.reyes@quillfeather.io",
    "Estimated value": "52500.00",
    "Notes": "",
}
PRODUCTS_A = ["Firewalls", "Security gateway", "Managed SD-WAN"]
REJECTION = "Another partner registered this customer first; its registration is approved."

DETAIL_URL = re.compile(r"/deals/(\d+)$")
LIST_URL = re.compile(r"/deals/$")
NOTIFICATIONS_URL = re.compile(r"/notifications/?$")
REVIEW_URL = re.compile(r"/deals/review$")
NUMBER = re.compile(r"DR-\d{4}-\d{5}")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal for this module alone (the journey changes the demo world)."""
    with serve_portal(tmp_path_factory, "_deals") as base_url:
        yield base_url


def _status(page: Page):
    """The registration's state, as its heading shows it."""
    return page.get_by_role("heading", level=1).get_by_test_id("deal-status")


def _register(page: Page, fields: dict[str, str], products: list[str]) -> tuple[int, str]:
    """Fill in the registration form on /deals/new and submit it for review; returns the new
    registration's id and number."""
    expect(page.get_by_role("heading", name="Register a deal")).to_be_visible()
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    products_field = page.get_by_label("Products of interest, one per line", exact=True)
    expect(products_field).to_have_js_property("tagName", "TEXTAREA")
    products_field.fill("\n".join(products))
    page.get_by_label("Currency", exact=True).select_option("EUR")
    close = page.get_by_label("Expected close", exact=True)
    expect(close).to_have_attribute("type", "date")
    close.fill((datetime.now(UTC).date() + timedelta(days=45)).isoformat())
    click(page.get_by_role("button", name="Submit for review"))

    expect(page).to_have_url(DETAIL_URL)
    deal_id = int(DETAIL_URL.search(page.url).group(1))
    flash = page.get_by_role("alert").filter(has_text="is submitted and under review")
    expect(flash).to_have_text(re.compile(rf"^Deal {NUMBER.pattern} is submitted and under review"))
    number = NUMBER.search(flash.inner_text()).group(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"{number} · {fields['End customer (company)']}"
    )
    expect(_status(page)).to_have_text("Under review")
    expect(page.get_by_text(", ".join(products), exact=True)).to_be_visible()
    return deal_id, number


def _expect_none_of(page: Page, secrets: list[str], where: str) -> None:
    """Nothing of the other partner anywhere in the page, the markup included."""
    html = page.content()
    for secret in secrets:
        assert secret not in html, f"{where}: {secret!r} shows to the other partner"


def _moment(shown: str) -> datetime:
    """A moment as the pages write it in English: ``Nov 23, 2026, 4:55 PM``."""
    return datetime.strptime(" ".join(shown.split()), "%b %d, %Y, %I:%M %p")


def _protection_dates(before: datetime, after: datetime) -> set[str]:
    # The end of protection as the page writes it (medium date, English, the browser's UTC); the
    # approval fell between ``before`` and ``after``, which may straddle midnight.
    return {
        format_date(moment + timedelta(days=SILVER_PROTECTION_DAYS), "medium", locale="en")
        for moment in (before, after)
    }


def _open_own_registration(page: Page, number: str) -> None:
    click(nav_link(page, "Deal registrations"))
    expect(page).to_have_url(LIST_URL)
    expect(page.get_by_role("heading", name="Deal registrations")).to_be_visible()
    click(page.get_by_role("link", name=number, exact=True))
    expect(page).to_have_url(DETAIL_URL)
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)


def test_conflicting_registrations_are_reviewed_side_by_side(page: Page, browser_log, live_server):
    # Reseller B registers first, from its list of registrations.
    sign_in(page, PARTNER_B[0])
    click(nav_link(page, "Deal registrations"))
    expect(page).to_have_url(LIST_URL)
    click(page.get_by_role("link", name="Register a deal"))
    expect(page).to_have_url(re.compile(r"/deals/new$"))
    b_id, b_number = _register(page, CUSTOMER_B, PRODUCTS_B)
    expect(page.get_by_text("Under review.", exact=True)).to_be_visible()
    sign_out(page)

    # Reseller A registers the same customer: it is told only "under conflict review".
    secrets_of_b = [PARTNER_B[1], CUSTOMER_B["End customer (company)"], b_number, "Priya Hale"]
    sign_in(page, PARTNER_A[0])
    goto(page, "/deals/new")
    a_id, a_number = _register(page, CUSTOMER_A, PRODUCTS_A)
    assert a_id != b_id and a_number != b_number
    expect(page.get_by_test_id("conflict-review")).to_contain_text("Under conflict review.")
    expect(page.get_by_text("Under review.", exact=True)).to_have_count(0)
    expect(page.get_by_test_id("conflicts")).to_have_count(0)
    expect(page.get_by_text("Possible conflicts")).to_have_count(0)
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    # The customer's domain is kept in its registrable form.
    expect(page.get_by_text("Quillfeather Analytics Inc. · quillfeather.io")).to_be_visible()
    _expect_none_of(page, secrets_of_b, "A's registration")

    click(nav_link(page, "Deal registrations"))
    expect(page).to_have_url(LIST_URL)
    own_rows = page.get_by_role("row").filter(has_text="Quillfeather")
    expect(own_rows).to_have_count(1)
    expect(own_rows).to_contain_text(a_number)
    expect(own_rows.get_by_test_id("deal-status")).to_have_text("Under review")
    expect(own_rows.get_by_test_id("deal-conflict-review")).to_have_text("Conflict review")
    _expect_none_of(page, secrets_of_b, "A's list")
    page.get_by_placeholder("Customer name contains…").fill("Quillfeather")
    click(page.get_by_role("button", name="Filter"))
    expect(page).to_have_url(re.compile(r"/deals/\?q=Quillfeather(&|$)"))
    expect(page.get_by_role("row").filter(has_text="Quillfeather")).to_have_count(1)
    _expect_none_of(page, secrets_of_b, "A's search")
    click(nav(page).get_by_role("link", name="Home", exact=True))
    expect(page).to_have_url(HOME_URL)
    _expect_none_of(page, secrets_of_b, "A's home")
    click(nav(page).get_by_test_id("notifications"))
    expect(page).to_have_url(NOTIFICATIONS_URL)
    _expect_none_of(page, secrets_of_b, "A's notifications")
    # B's registration by its address: not found, as if it did not exist (no browser navigation,
    # so the 404 is not a console error of the page).
    response = page.request.get(f"/deals/{b_id}")
    assert response.status == 404
    assert not any(s in response.text() for s in secrets_of_b)
    sign_out(page)

    # The channel manager: the review queue flags A's registration, oldest first.
    sign_in(page, CHANNEL_MANAGER)
    click(nav_link(page, "Deal registrations"))
    expect(page).to_have_url(LIST_URL)
    click(page.get_by_role("link", name="Review queue"))
    expect(page).to_have_url(REVIEW_URL)
    expect(page.get_by_role("heading", name="Registrations to review")).to_be_visible()
    row_a = page.get_by_role("row").filter(has=page.get_by_role("link", name=a_number))
    row_b = page.get_by_role("row").filter(has=page.get_by_role("link", name=b_number))
    expect(row_a).to_contain_text(PARTNER_A[1])
    expect(row_a).to_contain_text("Quillfeather Analytics Inc. quillfeather.io")
    expect(row_a.get_by_test_id("conflict-flag")).to_have_text("1 possible conflict")
    expect(row_b).to_contain_text(PARTNER_B[1])
    # The earlier one is flagged too: a manager starting from it must see the clash as well.
    expect(row_b.get_by_test_id("conflict-flag")).to_have_text("1 possible conflict")
    numbers = page.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert numbers.index(b_number) < numbers.index(a_number), numbers  # oldest first

    # A's registration, with B's beside it: who registered first, and when.
    click(row_a.get_by_role("link", name=a_number))
    expect(page).to_have_url(re.compile(rf"/deals/{a_id}$"))
    expect(_status(page)).to_have_text("Under review")
    this = page.locator(".row > div").filter(
        has=page.get_by_role("heading", name="This registration")
    )
    conflicts = page.get_by_test_id("conflicts")
    expect(conflicts.get_by_role("heading", name="Possible conflicts")).to_be_visible()
    expect(conflicts.locator(".card")).to_have_count(1)
    expect(conflicts).to_contain_text("Same domain")
    for text in (
        PARTNER_B[1],
        "Quillfeather Analytics Ltd · quillfeather.io",
        "Core switches, Wi-Fi 7 access points",
        "€48,000.00",
    ):
        expect(conflicts).to_contain_text(text)
    expect(conflicts.get_by_role("link", name=b_number)).to_be_visible()
    expect(this).to_contain_text(PARTNER_A[1])
    expect(this).to_contain_text("Firewalls, Security gateway, Managed SD-WAN")

    def registered(column) -> str:
        dt = column.locator("dt", has_text=re.compile(r"^Registered$"))
        return dt.locator("xpath=following-sibling::dd[1]").inner_text().strip()

    # B's registered first: its moment shows beside it (short English date and time, UTC).
    b_registered, a_registered = _moment(registered(conflicts)), _moment(registered(this))
    assert b_registered <= a_registered, (b_registered, a_registered)
    assert abs(datetime.now(UTC).replace(tzinfo=None) - b_registered) < timedelta(minutes=10)
    # Side by side: both columns on one line, this registration on the left (measured once the
    # stylesheets apply: before, the columns stack).
    loaded(page)
    this_box, other_box = this.bounding_box(), conflicts.bounding_box()
    assert this_box and other_box
    assert other_box["x"] >= this_box["x"] + this_box["width"] - 1, (this_box, other_box)
    assert abs(other_box["y"] - this_box["y"]) < 5, (this_box, other_box)
    for button in ("Approve", "Reject", "Ask for information"):
        expect(page.get_by_role("button", name=button, exact=True)).to_be_visible()

    # Reject A's with a reason (on its page): that ends the conflict, so B's can be approved.
    page.get_by_label("Reason (the partner sees it)", exact=True).fill(REJECTION)
    click(page.get_by_role("button", name="Reject", exact=True))
    expect(page).to_have_url(REVIEW_URL)
    expect(page.get_by_role("alert").filter(has_text=a_number)).to_have_text(
        f"Deal {a_number}: rejected."
    )
    expect(page.get_by_role("link", name=a_number, exact=True)).to_have_count(0)

    # Approve B's, the earlier one, with the tier's protection.
    click(page.get_by_role("link", name=b_number, exact=True))
    expect(page).to_have_url(re.compile(rf"/deals/{b_id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(b_number)
    expect(page.get_by_label("Protect for days (empty: the partner's tier)")).to_have_value("")
    before_approval = datetime.now(UTC)
    click(page.get_by_role("button", name="Approve", exact=True))
    expect(page).to_have_url(REVIEW_URL)
    expect(page.get_by_role("alert").filter(has_text=b_number)).to_have_text(
        f"Deal {b_number}: approved."
    )
    after_approval = datetime.now(UTC)
    expect(page.get_by_role("link", name=b_number, exact=True)).to_have_count(0)
    sign_out(page)

    # B: approved, protected until the end of its tier's protection period.
    sign_in(page, PARTNER_B[0])
    _open_own_registration(page, b_number)
    expect(_status(page)).to_have_text("Approved")
    protection = page.get_by_test_id("protection")
    expect(protection).to_be_visible()
    shown = protection.inner_text().strip()
    expected = {
        f"Approved: protected until {d}."
        for d in _protection_dates(before_approval, after_approval)
    }
    assert shown in expected, (shown, expected)
    expect(page.get_by_test_id("rejection")).to_have_count(0)
    sign_out(page)

    # A: rejected, with the reason, and still nothing of B.
    sign_in(page, PARTNER_A[0])
    _open_own_registration(page, a_number)
    expect(_status(page)).to_have_text("Rejected")
    expect(page.get_by_test_id("rejection")).to_have_text(f"Rejected: {REJECTION}")
    expect(page.get_by_test_id("protection")).to_have_count(0)
    _expect_none_of(page, secrets_of_b, "A's rejected registration")
    click(nav(page).get_by_test_id("notifications"))
    expect(page).to_have_url(NOTIFICATIONS_URL)
    expect(page.get_by_text(re.compile(rf"Deal {a_number} .* is rejected"))).to_be_visible()
    _expect_none_of(page, secrets_of_b, "A's notifications after the decision")
    sign_out(page)

    page.wait_for_load_state("load")
    assert all(
        u.startswith(live_server + "/") or u.startswith("data:") for u in browser_log.requests
    )
    browser_log.assert_clean()


def test_a_partner_is_told_its_registration_is_under_conflict_review_not_with_whom(
    page: Page, browser_log
):
    # Delta registers a customer that Alpine (approved) and Cobalt (under review) registered
    # in the demo world: two conflicts for the channel manager; Delta learns only that its
    # registration is under conflict review (issue 13), nothing of the others.
    sign_in(page, "admin@delta.example")
    goto(page, "/deals/new")
    _register(
        page,
        {
            "End customer (company)": "Hawthorne Retail Group Inc",
            "Customer's web domain": "https://www.hawthorne-retail.com/stores",
            "Estimated value": "61000.00",
        },
        ["Branch routers"],
    )
    expect(page.get_by_test_id("conflict-review")).to_have_text(
        "Under conflict review. Another registration, or a deal the vendor works itself, names"
        " the same customer. The channel team looks into it before deciding, and you are told"
        " of its decision."
    )
    expect(
        page.get_by_role("heading", level=1).get_by_test_id("deal-conflict-review")
    ).to_be_visible()
    expect(page.get_by_test_id("conflicts")).to_have_count(0)
    expect(page.get_by_text("Possible conflicts")).to_have_count(0)
    _expect_none_of(page, ["Alpine", "Cobalt", "Hawthorne Retail Group Ltd"], "Delta's page")
    goto(page, "/deals/")
    row = page.get_by_role("row").filter(has_text="Hawthorne")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("deal-conflict-review")).to_have_text("Conflict review")
    _expect_none_of(page, ["Alpine", "Cobalt", "Hawthorne Retail Group Ltd"], "Delta's list")
    page.wait_for_load_state("load")
    browser_log.assert_clean()
