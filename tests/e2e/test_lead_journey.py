"""In a real browser, a lead from the channel manager to a reseller and back.

The channel manager creates a lead with the form (a bad email is refused with a clear message and
what was typed is kept), offers it by hand to Alpine IT Solutions and sees the offer with the time
it must be answered by. Alpine's admin finds it in its list of leads offered to it and accepts it.
A second lead, offered to Alpine the same way, is declined: first without a reason (refused, with
a clear message), then with one; the lead leaves Alpine's pages. The manager sees the first lead
accepted and the second back to new with Alpine's reason in its notifications, its offers and
its history; offering it to Alpine again is refused. Another reseller (Brightline) gets a 404 for
the first lead's address and finds it neither in its list nor in its notifications. The list
filters by company name, and pages by key ("Next", "Previous", "First") over leads imported
through the CSV import page, newest first and by company. No page logs an error or asks a host
other than the portal's own; the one exception is the console line Chromium writes for each form
the portal deliberately sends back with 422, which is checked and set aside (``_submit_refused``).

Who fits what (partners/leads/seed.py): Alpine covers CH, DE and AT for networking and security,
and no other demo partner covers Germany or Austria, so a lead Alpine declines finds nobody else
by rule and stays new. Brightline covers GB and IE, Cobalt US and CA.

The portal runs as a live server of this module's own (``portal_e2e_leads`` on PostgreSQL), with
the vendor's calendar set here so the expected answer-by time can be computed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from portal.business_hours import add_business_hours, calendar_from_config
from tests.e2e.conftest import serve_portal
from tests.e2e.steps import click, nav, nav_link, sign_in, sign_out

pytestmark = pytest.mark.browser

CHANNEL_MANAGER = "channel@northwind.example"
RESELLER = ("admin@alpine.example", "Alpine IT Solutions")
OTHER_RESELLER = ("admin@brightline.example", "Brightline Resellers")

# The vendor's calendar, as the live server is given it: offers are answered within 16 working
# hours, Monday to Friday 09:00-17:00 UTC, no public holidays.
CALENDAR = {
    "BUSINESS_TIMEZONE": "UTC",
    "BUSINESS_HOURS": "09:00-17:00",
    "BUSINESS_HOLIDAYS": "",
    "LEAD_RESPONSE_HOURS": "16",
}

FIRST_LEAD = {
    "Company": "Edelweiss Fertigung GmbH",
    "Contact": "Marlene Hofer",
    "Email": "m.hofer@edelweiss-fertigung.example",
    "Phone": "+49 89 5550 1234",
    "Notes": "Met at the Munich trade fair; two plants to connect.",
}
FIRST_COUNTRY = ("DE", "Germany")
FIRST_LINE = ("networking", "Networking")
BAD_EMAIL = "m.hofer(at)edelweiss"

SECOND_LEAD = {
    "Company": "Murmeltier Seilbahnen AG",
    "Contact": "Florian Egger",
    "Email": "f.egger@murmeltier.example",
}
SECOND_COUNTRY = ("AT", "Austria")
SECOND_LINE = ("security", "Security")
DECLINE_REASON = "Our security team is fully booked until spring; we cannot serve them well."

PAGED_PREFIX = "Quokka Paging"  # a word no demo lead has
PAGED_COUNT = 30  # more than one page (portal.keyset.PER_PAGE is 25)
PER_PAGE = 25

LIST_URL = re.compile(r"/leads/(\?.*)?$")
NEW_URL = re.compile(r"/leads/new$")
DETAIL_URL = re.compile(r"/leads/(\d+)$")
NOTIFICATIONS_URL = re.compile(r"/notifications/?$")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal for this module alone (the journey changes the demo world)."""
    with serve_portal(tmp_path_factory, "_leads", **CALENDAR) as base_url:
        yield base_url


def _open_leads(page: Page) -> None:
    click(nav_link(page, "Leads"))
    expect(page).to_have_url(LIST_URL)


def _flash(page: Page, text: str):
    return page.get_by_role("alert").filter(has_text=text)


def _status(page: Page):
    """The lead's state, as the badge in its heading shows it."""
    return _lead_badge(page.get_by_role("heading", level=1))


def _lead_badge(scope):
    """The lead's status badge within ``scope`` (a row of the list, the heading)."""
    return scope.get_by_test_id("lead-status")


def _offer_badge(scope):
    """An offer's status badge within ``scope`` (a row of the lead's offers)."""
    return scope.get_by_test_id("lead_offer-status")


def _fact(page: Page, name: str):
    """The value beside ``name`` in the lead's facts."""
    facts = page.get_by_test_id("lead-facts")
    return facts.locator("dt", has_text=re.compile(rf"^{re.escape(name)}$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def _moment(shown: str) -> datetime:
    """A moment as the pages write it in English (``Nov 23, 2026, 4:55 PM``), in UTC (the
    browser's zone here)."""
    return datetime.strptime(" ".join(shown.split()), "%b %d, %Y, %I:%M %p").replace(tzinfo=UTC)


def _time_of(element) -> tuple[datetime, datetime]:
    """A ``<time>``: the moment of its ``datetime`` attribute, and the one its text shows."""
    machine = datetime.fromisoformat(element.get_attribute("datetime"))
    if machine.tzinfo is None:
        machine = machine.replace(tzinfo=UTC)
    return machine.astimezone(UTC), _moment(element.inner_text())


def _respond_by(moment: datetime) -> datetime:
    return add_business_hours(
        moment, float(CALENDAR["LEAD_RESPONSE_HOURS"]), calendar_from_config(CALENDAR)
    )


def _lead_rows(page: Page):
    return page.get_by_role("main").locator("tbody tr")


def _row_of(page: Page, company: str):
    return _lead_rows(page).filter(has=page.get_by_role("link", name=company, exact=True))


def _search(page: Page, text: str) -> None:
    """Filter the lead list by what a company, contact or email contains."""
    search = page.get_by_role("main").get_by_role("search")
    search.get_by_label("Search", exact=True).fill(text)
    click(search.get_by_role("button", name="Filter"))
    expect(page).to_have_url(re.compile(r"/leads/\?q=" + re.escape(text.replace(" ", "+"))))
    expect(search.get_by_label("Search", exact=True)).to_have_value(text)


def _fill_lead(page: Page, fields: dict[str, str], country: str, line: str) -> None:
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Country", exact=True).select_option(country)
    page.get_by_label("Product line", exact=True).select_option(line)


def _submit_lead(page: Page, fields: dict[str, str], country, line) -> int:
    """Submit the filled-in new-lead form (no offer by rule); the lead's page shows what was
    entered. Returns the new lead's id."""
    expect(page.get_by_label("Offer it to a partner by rule at once")).not_to_be_checked()
    click(page.get_by_role("button", name="Create lead"))
    expect(page).to_have_url(DETAIL_URL)
    expect(_flash(page, "created")).to_have_text(f"Lead {fields['Company']} created.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(fields["Company"])
    expect(_status(page)).to_have_text("New")
    expect(_fact(page, "Country")).to_have_text(country[0])
    expect(_fact(page, "Product line")).to_have_text(line[1])
    expect(_fact(page, "Source")).to_have_text("manual")
    for name in ("Contact", "Email", "Phone"):
        if name in fields:
            expect(_fact(page, name)).to_have_text(fields[name])
    if "Notes" in fields:
        expect(page.get_by_text(fields["Notes"], exact=True)).to_be_visible()
    return int(DETAIL_URL.search(page.url).group(1))


def _create_lead(page: Page, fields: dict[str, str], country, line) -> int:
    """Create a lead with the form on /leads/new; returns its id."""
    expect(page.get_by_role("heading", name="New lead", level=1)).to_be_visible()
    _fill_lead(page, fields, country[0], line[0])
    return _submit_lead(page, fields, country, line)


def _offer_by_hand(page: Page, partner: str) -> tuple[datetime, datetime]:
    """On a new lead's page, offer it to ``partner`` with the offer form; returns the moments
    just before and after, between which its answer-by time was set."""
    offer_form = page.locator("form").filter(
        has=page.get_by_role("button", name="Offer by hand", exact=True)
    )
    choice = offer_form.get_by_label("Partner", exact=True)
    expect(choice).to_have_value("0")  # "Choose a partner…": nobody is chosen for the manager
    option = choice.locator("option").filter(has_text=re.compile(rf"^{re.escape(partner)} \("))
    expect(option).to_have_count(1)
    choice.select_option(option.get_attribute("value"))
    before = datetime.now(UTC)
    click(offer_form.get_by_role("button", name="Offer by hand", exact=True))
    expect(_flash(page, "Offered to")).to_have_text(f"Offered to {partner}.")
    after = datetime.now(UTC)
    expect(_status(page)).to_have_text("Offered")
    return before, after


def _expect_respond_by(element, before: datetime, after: datetime) -> datetime:
    """``element`` is a ``<time>`` showing the offer's answer-by time: 16 working hours after it
    was made (between ``before`` and ``after``), written the same in its text."""
    machine, shown = _time_of(element)
    earliest, latest = _respond_by(before), _respond_by(after)
    assert earliest <= machine <= latest, (earliest, machine, latest)
    assert shown == machine.replace(second=0, microsecond=0), (shown, machine)
    return machine


def _submit_refused(page: Page, button, path: str, refused: list[str]) -> None:
    """Submit a form the portal must send back with its errors: 422 (``portal.web.form_status``,
    so a client can tell it from a first view), nothing saved. Chromium logs every document
    answered 4xx as a console error; the page's own URL is kept in ``refused`` so that exactly
    those lines, and nothing else, are set aside before the browser log is checked."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and urlsplit(r.url).path == path
    ) as answer:
        click(button)
    assert answer.value.status == 422, f"POST {path} answered {answer.value.status}"
    refused.append(answer.value.url)


def _set_aside_refusals(browser_log, refused: list[str]) -> None:
    """Remove from the browser log the one console line each refused form (above) caused."""
    for url in refused:
        line = (
            "Failed to load resource: the server responded with a status of 422 "
            f"(UNPROCESSABLE ENTITY) ({url})"
        )
        assert line in browser_log.console_errors, (line, browser_log.console_errors)
        browser_log.console_errors.remove(line)


def _offers_row(page: Page, partner: str):
    return page.get_by_test_id("offers").locator("tbody tr").filter(has_text=partner)


def _history(page: Page):
    return page.get_by_role("region", name="History")


def test_a_lead_is_offered_accepted_and_declined_across_the_wall(
    page: Page, browser_log, live_server
):
    # 1. The channel manager creates a lead from the list; a bad email is refused and kept.
    sign_in(page, CHANNEL_MANAGER)
    _open_leads(page)
    expect(page.get_by_role("heading", name="Leads", level=1)).to_be_visible()
    click(page.get_by_role("link", name="New lead", exact=True))
    expect(page).to_have_url(NEW_URL)
    _fill_lead(page, {**FIRST_LEAD, "Email": BAD_EMAIL}, FIRST_COUNTRY[0], FIRST_LINE[0])
    refused: list[str] = []  # the forms the portal sent back with errors
    _submit_refused(page, page.get_by_role("button", name="Create lead"), "/leads/new", refused)
    expect(page).to_have_url(NEW_URL)  # shown again, nothing created
    email = page.get_by_label("Email", exact=True)
    expect(email).to_have_value(BAD_EMAIL)
    expect(email).to_have_class(re.compile(r"\bis-invalid\b"))
    # One message, under the one field that is wrong.
    expect(page.locator(".invalid-feedback")).to_have_text(["Invalid email address."])
    expect(page.locator(".is-invalid")).to_have_count(1)
    for label in ("Company", "Contact", "Phone", "Notes"):
        expect(page.get_by_label(label, exact=True)).to_have_value(FIRST_LEAD[label])
    expect(page.get_by_label("Country", exact=True)).to_have_value(FIRST_COUNTRY[0])
    expect(page.get_by_label("Product line", exact=True)).to_have_value(FIRST_LINE[0])
    email.fill(FIRST_LEAD["Email"])
    first_id = _submit_lead(page, FIRST_LEAD, FIRST_COUNTRY, FIRST_LINE)
    # The rule's view: Alpine is the one partner whose territory and specialisation fit.
    ranking = page.get_by_test_id("ranking").locator("tbody tr")
    expect(ranking).to_have_count(1)
    expect(ranking).to_contain_text(RESELLER[1])
    expect(page.get_by_test_id("offers")).to_contain_text("Not offered to anyone yet.")

    # The list finds it by (part of) its company name, and only it.
    _open_leads(page)
    _search(page, "no company is called this")
    expect(_lead_rows(page)).to_have_text(["No lead matches."])
    _search(page, "Edelweiss")
    expect(_lead_rows(page)).to_have_count(1)
    row = _row_of(page, FIRST_LEAD["Company"])
    expect(row).to_contain_text(FIRST_LEAD["Contact"])
    expect(row).to_contain_text(FIRST_LEAD["Email"])
    expect(_lead_badge(row)).to_have_text("New")

    # 2. It is offered to Alpine by hand; the offer shows when it must be answered by.
    click(row.get_by_role("link", name=FIRST_LEAD["Company"], exact=True))
    expect(page).to_have_url(re.compile(rf"/leads/{first_id}$"))
    before, after = _offer_by_hand(page, RESELLER[1])
    offered = page.locator("section").filter(
        has=page.get_by_role("heading", name=f"Offered to {RESELLER[1]}", exact=True)
    )
    expect(offered).to_contain_text("Answer due by")
    first_due = _expect_respond_by(offered.locator("time"), before, after)
    expect(offered.get_by_role("button", name="Recall from the partner")).to_be_visible()
    offer_row = _offers_row(page, RESELLER[1])
    expect(offer_row).to_have_count(1)
    expect(_offer_badge(offer_row)).to_have_text("Offered")
    expect(offer_row).to_contain_text("Offered by hand.")
    answer_by = offer_row.locator("td").nth(3)
    assert _moment(answer_by.inner_text()) == first_due.replace(second=0, microsecond=0)
    expect(page.get_by_role("heading", name="Offer this lead")).to_have_count(0)

    # A second lead, offered to Alpine the same way.
    click(page.get_by_role("link", name="New lead", exact=True))
    expect(page).to_have_url(NEW_URL)
    second_id = _create_lead(page, SECOND_LEAD, SECOND_COUNTRY, SECOND_LINE)
    assert second_id != first_id
    _offer_by_hand(page, RESELLER[1])
    sign_out(page)

    # 3. Alpine finds both in the leads offered to it, and accepts the first.
    sign_in(page, RESELLER[0])
    _open_leads(page)
    expect(page.get_by_role("heading", name="Leads offered to us", level=1)).to_be_visible()
    for company in (FIRST_LEAD["Company"], SECOND_LEAD["Company"]):
        mine = _row_of(page, company)
        expect(mine).to_have_count(1)
        expect(_lead_badge(mine)).to_have_text("Offered")
    first_row = _row_of(page, FIRST_LEAD["Company"])
    _, shown = _time_of(first_row.locator("time").first)
    assert shown == first_due.replace(second=0, microsecond=0), (shown, first_due)
    _search(page, "Edelweiss")
    expect(_lead_rows(page)).to_have_count(1)
    click(page.get_by_role("link", name=FIRST_LEAD["Company"], exact=True))
    expect(page).to_have_url(re.compile(rf"/leads/{first_id}$"))
    ours = page.get_by_test_id("our-offer")
    expect(ours.get_by_role("heading", name="Offered to you")).to_be_visible()
    _, shown = _time_of(ours.locator("strong time"))
    assert shown == first_due.replace(second=0, microsecond=0), (shown, first_due)
    # The vendor's side of the lead is not the partner's to see.
    expect(page.get_by_test_id("offers")).to_have_count(0)
    expect(page.get_by_test_id("ranking")).to_have_count(0)
    expect(page.get_by_role("region", name="History")).to_have_count(0)
    expect(_fact(page, "Source")).to_have_count(0)
    click(ours.get_by_role("button", name="Accept the lead"))
    expect(page).to_have_url(re.compile(rf"/leads/{first_id}$"))
    expect(_flash(page, "You accepted")).to_have_text(
        f"You accepted {FIRST_LEAD['Company']}. It is yours to work."
    )
    expect(_status(page)).to_have_text("Accepted")
    ours = page.get_by_test_id("our-offer")
    expect(ours.get_by_role("heading", name="Accepted by you")).to_be_visible()
    expect(ours).to_contain_text("You accepted it on")
    expect(ours.get_by_role("button", name="Accept the lead")).to_have_count(0)
    expect(ours.get_by_role("button", name="Decline")).to_have_count(0)

    # 4. The second: declining without a reason is refused, with a clear message.
    _open_leads(page)
    click(page.get_by_role("link", name=SECOND_LEAD["Company"], exact=True))
    expect(page).to_have_url(re.compile(rf"/leads/{second_id}$"))
    ours = page.get_by_test_id("our-offer")
    reason = ours.get_by_label("Reason (required: the other side reads it)", exact=True)
    expect(reason).to_have_value("")
    _submit_refused(
        page,
        ours.get_by_role("button", name="Decline", exact=True),
        f"/leads/{second_id}/decline",
        refused,
    )
    expect(page).to_have_url(re.compile(rf"/leads/{second_id}/decline$"))
    ours = page.get_by_test_id("our-offer")
    reason = ours.get_by_label("Reason (required: the other side reads it)", exact=True)
    expect(reason).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(ours.locator(".invalid-feedback")).to_have_text("This field is required.")
    expect(_status(page)).to_have_text("Offered")  # nothing changed
    expect(ours.get_by_role("heading", name="Offered to you")).to_be_visible()
    # ...then with a reason: the lead is no longer Alpine's.
    reason.fill(DECLINE_REASON)
    click(ours.get_by_role("button", name="Decline", exact=True))
    expect(page).to_have_url(LIST_URL)
    expect(_flash(page, "You declined")).to_have_text(f"You declined {SECOND_LEAD['Company']}.")
    expect(_row_of(page, SECOND_LEAD["Company"])).to_have_count(0)
    expect(_lead_badge(_row_of(page, FIRST_LEAD["Company"]))).to_have_text("Accepted")
    response = page.request.get(f"/leads/{second_id}")
    assert response.status == 404
    assert SECOND_LEAD["Company"] not in response.text()
    sign_out(page)

    # 5. The manager sees the first accepted, the second back to new with Alpine's reason.
    sign_in(page, CHANNEL_MANAGER)
    _open_leads(page)
    _search(page, "Edelweiss")
    row = _row_of(page, FIRST_LEAD["Company"])
    expect(_lead_badge(row)).to_have_text("Accepted")
    expect(row).to_contain_text(RESELLER[1])
    click(row.get_by_role("link", name=FIRST_LEAD["Company"], exact=True))
    expect(page).to_have_url(re.compile(rf"/leads/{first_id}$"))
    expect(_status(page)).to_have_text("Accepted")
    accepted = page.locator("section").filter(
        has=page.get_by_role("heading", name=f"Offered to {RESELLER[1]}", exact=True)
    )
    expect(accepted).to_contain_text("Accepted on")
    expect(accepted).not_to_contain_text("Answer due by")
    expect(_offer_badge(_offers_row(page, RESELLER[1]))).to_have_text("Accepted")
    expect(_history(page)).to_contain_text("Lead offer accepted")  # in words, not its code
    expect(_history(page)).not_to_contain_text("lead_offer.")

    # Both answers reached the manager, who offered the leads; the decline's says why and opens
    # the lead.
    click(nav(page).get_by_test_id("notifications"))
    expect(page).to_have_url(NOTIFICATIONS_URL)
    notices = page.get_by_role("main").get_by_role("listitem")
    accepted_notice = notices.filter(has_text=f"{RESELLER[1]} accepted {FIRST_LEAD['Company']}")
    expect(accepted_notice).to_have_count(1)
    expect(accepted_notice).to_contain_text(
        f"{RESELLER[1]} accepted the lead {FIRST_LEAD['Company']}."
    )
    declined_notice = notices.filter(has_text=f"{RESELLER[1]} declined {SECOND_LEAD['Company']}")
    expect(declined_notice).to_have_count(1)
    expect(declined_notice).to_contain_text(
        f"{RESELLER[1]} declined the lead {SECOND_LEAD['Company']}: {DECLINE_REASON}"
    )
    click(declined_notice.get_by_role("button", name="Open"))
    expect(page).to_have_url(re.compile(rf"/leads/{second_id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(SECOND_LEAD["Company"])
    expect(_status(page)).to_have_text("New")  # nobody else covers Austria: it waits
    declined = _offers_row(page, RESELLER[1])
    expect(declined).to_have_count(1)
    expect(_offer_badge(declined)).to_have_text("Declined")
    expect(declined.locator("td").last).to_have_text(DECLINE_REASON)
    expect(
        _history(page).get_by_role("listitem").filter(has_text="Lead offer declined")
    ).to_contain_text(DECLINE_REASON)
    ranking = page.get_by_test_id("ranking").locator("tbody tr").filter(has_text=RESELLER[1])
    expect(ranking).to_contain_text("declined this lead")
    # Offering it to Alpine again is refused: it said no.
    offer_form = page.locator("form").filter(
        has=page.get_by_role("button", name="Offer by hand", exact=True)
    )
    choice = offer_form.get_by_label("Partner", exact=True)
    option = choice.locator("option").filter(has_text=re.compile(rf"^{re.escape(RESELLER[1])} \("))
    choice.select_option(option.get_attribute("value"))
    _submit_refused(
        page,
        offer_form.get_by_role("button", name="Offer by hand", exact=True),
        f"/leads/{second_id}/offer",
        refused,
    )
    expect(page).to_have_url(re.compile(rf"/leads/{second_id}/offer$"))
    expect(_flash(page, "declined this lead")).to_have_text(
        f"{RESELLER[1]} declined this lead already."
    )
    expect(_offers_row(page, RESELLER[1])).to_have_count(1)  # no new offer
    expect(_status(page)).to_have_text("New")
    sign_out(page)

    # 6. Another reseller: the first lead is not found, and not in its list.
    sign_in(page, OTHER_RESELLER[0])
    response = page.request.get(f"/leads/{first_id}")
    assert response.status == 404
    assert FIRST_LEAD["Company"] not in response.text()
    _open_leads(page)
    expect(page.get_by_role("heading", name="Leads offered to us", level=1)).to_be_visible()
    expect(_row_of(page, FIRST_LEAD["Company"])).to_have_count(0)
    assert FIRST_LEAD["Company"] not in page.content()
    _search(page, "Edelweiss")
    expect(_lead_rows(page)).to_have_text(["No lead matches."])
    click(nav(page).get_by_test_id("notifications"))
    expect(page).to_have_url(NOTIFICATIONS_URL)
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    for company in (FIRST_LEAD["Company"], SECOND_LEAD["Company"]):
        assert company not in page.content()
    sign_out(page)

    page.wait_for_load_state("load")
    assert all(
        u.startswith(live_server + "/") or u.startswith("data:") for u in browser_log.requests
    )
    _set_aside_refusals(browser_log, refused)
    browser_log.assert_clean()


def _companies(page: Page):
    """The company links of the list's rows, in order."""
    return _lead_rows(page).locator("td:first-child a")


def test_the_lead_list_pages_by_key_through_a_filter(page: Page, browser_log):
    # Enough leads for two pages, through the import page.
    names = [f"{PAGED_PREFIX} {n:02d} Ltd" for n in range(1, PAGED_COUNT + 1)]
    csv = "company,contact_name,email,country,product_line\n" + "".join(
        f"{name},Pat Doe,pat{n:02d}@quokka.example,JP,storage\n"
        for n, name in enumerate(names, start=1)
    )
    sign_in(page, CHANNEL_MANAGER)
    _open_leads(page)
    click(page.get_by_role("link", name="Import", exact=True))
    expect(page).to_have_url(re.compile(r"/leads/import$"))
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "quokka.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    click(page.get_by_role("button", name="Check the file"))
    expect(page.get_by_role("heading", name="Preview of quokka.csv")).to_be_visible()
    click(page.get_by_role("button", name=f"Import {PAGED_COUNT} leads"))
    expect(page).to_have_url(LIST_URL)
    expect(_flash(page, "Imported")).to_have_text(f"Imported {PAGED_COUNT} leads from quokka.csv.")

    # Filtered to them, newest first: a full page, then the rest behind "Next".
    _search(page, PAGED_PREFIX)
    pager = page.get_by_role("navigation", name="Pages")
    newest_first = names[::-1]
    expect(_lead_rows(page)).to_have_count(PER_PAGE)
    expect(_companies(page)).to_have_text(newest_first[:PER_PAGE])
    expect(pager.locator("span", has_text="Previous")).to_be_visible()  # not a link here
    expect(pager.get_by_role("link", name="Previous")).to_have_count(0)
    click(pager.get_by_role("link", name="Next"))
    expect(page).to_have_url(re.compile(r"/leads/\?.*after="))
    expect(page).to_have_url(re.compile(r"[?&]q=Quokka\+Paging(&|$)"))  # the filter stays
    expect(
        page.get_by_role("main").get_by_role("search").get_by_label("Search", exact=True)
    ).to_have_value(PAGED_PREFIX)
    expect(_lead_rows(page)).to_have_count(PAGED_COUNT - PER_PAGE)
    expect(_companies(page)).to_have_text(newest_first[PER_PAGE:])
    expect(pager.get_by_role("link", name="Next")).to_have_count(0)
    click(pager.get_by_role("link", name="Previous"))
    expect(page).to_have_url(re.compile(r"/leads/\?.*before="))
    expect(_lead_rows(page)).to_have_count(PER_PAGE)
    expect(_companies(page)).to_have_text(newest_first[:PER_PAGE])
    click(pager.get_by_role("link", name="First"))
    expect(page).to_have_url(re.compile(r"/leads/\?q=Quokka\+Paging"))
    expect(_companies(page)).to_have_text(newest_first[:PER_PAGE])

    # By company name (a text key), with the other filters of the form kept on every page.
    search = page.get_by_role("main").get_by_role("search")
    search.get_by_label("Country", exact=True).select_option(label="Japan")
    search.get_by_label("Product line", exact=True).select_option(label="Storage")
    search.get_by_label("Order", exact=True).select_option(label="Company")
    click(search.get_by_role("button", name="Filter"))
    expect(page).to_have_url(re.compile(r"[?&]sort=company(&|$)"))
    expect(_companies(page)).to_have_text(names[:PER_PAGE])
    click(pager.get_by_role("link", name="Next"))
    expect(page).to_have_url(re.compile(r"[?&]after="))
    for kept in ("q=Quokka\\+Paging", "country=JP", "product_line=storage", "sort=company"):
        expect(page).to_have_url(re.compile(rf"[?&]{kept}(&|$)"))
    expect(search.get_by_label("Order", exact=True)).to_have_value("company")
    expect(search.get_by_label("Country", exact=True)).to_have_value("JP")
    expect(_companies(page)).to_have_text(names[PER_PAGE:])
    click(pager.get_by_role("link", name="Previous"))
    expect(page).to_have_url(re.compile(r"[?&]before="))
    expect(_companies(page)).to_have_text(names[:PER_PAGE])
    # A search is text, not a pattern: "%" matches only a "%".
    _search(page, "%")
    expect(_lead_rows(page)).to_have_text(["No lead matches."])
    sign_out(page)

    page.wait_for_load_state("load")
    browser_log.assert_clean()
