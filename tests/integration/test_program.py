"""The partner programme: vendor admins edit tiers (validated, optimistically locked, audited),
move partners between tiers and set their territories and specialisations; vendor staff find
partners in the directory and read their profiles (figures from SQL aggregates); a partner reads
only its own programme."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from partners.deals.models import DealRegistration
from partners.program import queries
from partners.program.models import Specialisation, Territory, Tier
from partners.program.seed import seed_partner_coverage
from portal.audit import AuditEvent
from portal.db import db as portal_db
from portal.db import set_principal
from portal.identity.models import Organization
from portal.notify.models import Notification
from portal.seed import SEEDERS
from portal.tenancy import Principal
from tests import factories
from tests.unchanged import unchanged

# Helpers.


def _tier(db, code: str) -> Tier:
    db.expire_all()
    return db.scalar(select(Tier).where(Tier.code == code))


def _terms(tier: Tier) -> dict:
    return {
        "name": tier.name,
        "discount_percent": str(tier.discount_percent),
        "protection_days": str(tier.protection_days),
        "distribution_weight": str(tier.distribution_weight),
        "max_open_leads": str(tier.max_open_leads),
    }


def _snapshot(response) -> str:
    match = re.search(r'<input[^>]*name="snapshot"[^>]*value="([^"]+)"', response.get_data(True))
    assert match, "the form carries a snapshot"
    return match.group(1)


def _coverage(db, org) -> tuple[list[str], list[str]]:
    db.expire_all()
    countries = db.scalars(
        select(Territory.country).where(Territory.org_id == org.id).order_by(Territory.country)
    ).all()
    lines = db.scalars(
        select(Specialisation.product_line)
        .where(Specialisation.org_id == org.id)
        .order_by(Specialisation.product_line)
    ).all()
    return list(countries), list(lines)


def _cover(db, org, countries=(), lines=()) -> None:
    db.add_all(Territory(org_id=org.id, country=c) for c in countries)
    db.add_all(Specialisation(org_id=org.id, product_line=line) for line in lines)
    db.flush()


def _events(db, action: str) -> list[AuditEvent]:
    return list(
        db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


_T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _offer(db, vendor, partner, status: str, answered_after: timedelta | None = None):
    lead = factories.make_lead(db, vendor, "Lead Co", product_line="security")
    responded_at = _T0 + answered_after if answered_after is not None else None
    factories.make_offer(
        db, lead, partner, status, offered_at=_T0, respond_by=_T0 + timedelta(days=2),
        responded_at=responded_at,
    )  # fmt: skip


def _deal(db, partner, number: str, status: str, value: str = "1000.00") -> DealRegistration:
    return factories.make_deal(
        db, partner, f"Customer of {number}", status, number=number, value=Decimal(value),
        expected_close=date(2027, 1, 15),
    )  # fmt: skip


# Tiers.


def test_vendor_admin_edits_a_tier_and_the_change_is_audited(client_as, vendor, user_factory, db):
    admin = user_factory(vendor, "vendor_admin")
    gold = _tier(db, "gold")
    client = client_as(admin)
    form = client.get(f"/program/tiers/{gold.id}")
    assert form.status_code == 200
    data = {
        **_terms(gold),
        "name": "Gold Elite",
        "discount_percent": "17.5",
        "max_open_leads": "12",
        "snapshot": _snapshot(form),
    }
    response = client.post(f"/program/tiers/{gold.id}", data=data)
    assert response.status_code == 302
    gold = _tier(db, "gold")
    assert (gold.name, gold.discount_percent, gold.max_open_leads) == (
        "Gold Elite",
        Decimal("17.50"),
        12,
    )
    (event_row,) = _events(db, "tier.updated")
    assert event_row.before["name"] == "Gold" and event_row.after["name"] == "Gold Elite"
    assert event_row.before["discount_percent"] == "15.00"
    assert event_row.after["discount_percent"] == "17.50"
    assert event_row.org_id == vendor.id and event_row.actor_user_id == admin.id
    listing = client.get("/program/tiers").get_data(as_text=True)
    assert "Gold Elite" in listing and "17.5%" in listing
    tier_page = client.get(f"/program/tiers/{gold.id}").get_data(as_text=True)
    assert "Tier updated" in tier_page and "tier.updated" not in tier_page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "  silver "}, "Another tier has this name."),
        ({"name": "x" * 61}, "Field cannot be longer than 60 characters."),
        ({"discount_percent": "150"}, "Number must be between 0 and 100."),
        ({"discount_percent": "-1"}, "Number must be between 0 and 100."),
        ({"discount_percent": "abc"}, "Not a valid decimal value."),
        ({"discount_percent": "12.345"}, "The discount has at most two decimal places."),
        ({"discount_percent": "NaN"}, "Give a number."),
        ({"discount_percent": "sNaN"}, "Give a number."),
        ({"protection_days": "0"}, "Number must be between 1 and 730."),
        ({"protection_days": ""}, "This field is required."),
        ({"distribution_weight": "-1"}, "Number must be between 0 and 1000."),
        ({"max_open_leads": "many"}, "Not a valid integer value."),
        ({"max_open_leads": "10001"}, "Number must be between 0 and 10000."),
    ],
)
def test_bad_tier_terms_are_a_422_and_change_nothing(
    client_as, vendor, user_factory, db, changes, message
):
    gold = _tier(db, "gold")
    before = _terms(gold)
    client = client_as(user_factory(vendor, "vendor_admin"))
    snapshot = _snapshot(client.get(f"/program/tiers/{gold.id}"))
    with unchanged(db, gold):
        response = client.post(
            f"/program/tiers/{gold.id}", data={**before, **changes, "snapshot": snapshot}
        )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert page.count(message) == 1, "one clear message, not the same twice"
    assert _terms(_tier(db, "gold")) == before
    assert not _events(db, "tier.updated")


def test_a_concurrent_tier_edit_lists_what_changed_and_overwrites_nothing(
    client_as, vendor, user_factory, db
):
    gold = _tier(db, "gold")
    opened = _terms(gold)
    url = f"/program/tiers/{gold.id}"
    client = client_as(user_factory(vendor, "vendor_admin"))
    colleague = client_as(user_factory(vendor, "vendor_admin"))
    mine, theirs = _snapshot(client.get(url)), _snapshot(colleague.get(url))

    first = client.post(url, data={**opened, "discount_percent": "17.50", "snapshot": mine})
    assert first.status_code == 302

    # The colleague saves from the form opened before that save: a conflict, not an overwrite.
    with unchanged(db, (Tier, gold.id)):
        second = colleague.post(url, data={**opened, "name": "Gold Plus", "snapshot": theirs})
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert "Someone else changed this while you were editing it." in page
    changes = re.search(r'data-testid="edit-conflict".*?</div>', page, re.S).group(0)
    assert "Discount on quotes (%)" in changes and "15.00" in changes and "17.50" in changes
    assert "Deal protection" not in changes, "only the fields that changed are listed"
    assert 'value="Gold Plus"' in page, "the colleague's input is kept"
    gold = _tier(db, "gold")
    assert (gold.name, gold.discount_percent) == ("Gold", Decimal("17.50"))
    assert len(_events(db, "tier.updated")) == 1

    # Having seen the change, the colleague saves again on purpose: now it applies.
    fresh = _snapshot(second)
    assert fresh != theirs
    again = colleague.post(
        url, data={**opened, "name": "Gold Plus", "discount_percent": "17.50", "snapshot": fresh}
    )
    assert again.status_code == 302
    gold = _tier(db, "gold")
    assert (gold.name, gold.discount_percent) == ("Gold Plus", Decimal("17.50"))
    assert len(_events(db, "tier.updated")) == 2


def test_a_forged_or_missing_snapshot_is_refused(client_as, vendor, user_factory, db):
    gold = _tier(db, "gold")
    client = client_as(user_factory(vendor, "vendor_admin"))
    for snapshot in ("forged", ""):
        with unchanged(db, gold):
            response = client.post(
                f"/program/tiers/{gold.id}",
                data={**_terms(gold), "name": "X", "snapshot": snapshot},
            )
        assert response.status_code == 409
    assert _tier(db, "gold").name == "Gold"


def test_vendor_staff_read_tiers_but_only_vendor_admins_change_them(
    client_as, vendor, user_factory, db
):
    gold = _tier(db, "gold")
    client = client_as(user_factory(vendor, "channel_manager"))
    listing = client.get("/program/tiers")
    assert listing.status_code == 200 and "Platinum" in listing.get_data(as_text=True)
    assert f"/program/tiers/{gold.id}" not in listing.get_data(as_text=True)
    with unchanged(db, gold):
        assert client.get(f"/program/tiers/{gold.id}").status_code == 403
        assert client.post(f"/program/tiers/{gold.id}", data=_terms(gold)).status_code == 403


# A partner's tier.


def test_moving_a_partner_between_tiers_is_audited_and_tells_its_admins(
    client_as, vendor, org_factory, user_factory, db
):
    partner = org_factory("reseller", tier="gold")
    partner_admin = user_factory(partner, "partner_admin")
    admin = user_factory(vendor, "vendor_admin")
    client = client_as(admin)
    url = f"/program/partners/{partner.id}/tier"
    assert client.post(url, data={"tier": "platinum", "seen_tier": "gold"}).status_code == 302
    db.expire_all()
    assert db.get(Organization, partner.id).tier == "platinum"
    (event_row,) = _events(db, "partner.tier_changed")
    assert event_row.before == {"tier": "gold"} and event_row.after == {"tier": "platinum"}
    assert event_row.org_id == partner.id and event_row.actor_user_id == admin.id
    note = db.scalar(select(Notification).where(Notification.user_id == partner_admin.id))
    assert note is not None and "Platinum" in note.title
    profile = client.get(f"/program/partners/{partner.id}").get_data(as_text=True)
    assert "Partner tier changed" in profile and "is now in the Platinum tier" in profile

    # No such tier: a 422 on the profile, nothing changed.
    with unchanged(db, partner):
        response = client.post(url, data={"tier": "diamond", "seen_tier": "platinum"})
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(True)
    # Moved by someone else since the page was opened: a conflict, nothing changed.
    with unchanged(db, partner):
        response = client.post(url, data={"tier": "silver", "seen_tier": "gold"})
    assert response.status_code == 409
    assert "Someone else changed this" in response.get_data(as_text=True)
    # Out of any tier.
    assert client.post(url, data={"tier": "", "seen_tier": "platinum"}).status_code == 302
    db.expire_all()
    assert db.get(Organization, partner.id).tier is None
    assert len(_events(db, "partner.tier_changed")) == 2


def test_only_partners_have_tiers_here_and_only_vendor_admins_move_them(
    client_as, vendor, org_factory, user_factory, db
):
    customer = org_factory("customer")
    partner = org_factory("reseller", tier="silver")
    client = client_as(user_factory(vendor, "vendor_admin"))
    with unchanged(db, customer, vendor):
        assert client.get(f"/program/partners/{customer.id}").status_code == 404
        assert client.get(f"/program/partners/{vendor.id}").status_code == 404
        assert (
            client.post(f"/program/partners/{customer.id}/tier", data={"tier": "gold"}).status_code
            == 404
        )
    client.post("/logout")
    client = client_as(user_factory(vendor, "channel_manager"))
    page = client.get(f"/program/partners/{partner.id}").get_data(as_text=True)
    assert "Move to tier" not in page and f"/program/partners/{partner.id}/coverage" not in page
    with unchanged(db, partner):
        response = client.post(f"/program/partners/{partner.id}/tier", data={"tier": "gold"})
    assert response.status_code == 403
    db.expire_all()
    assert db.get(Organization, partner.id).tier == "silver"


# Territories and specialisations.


def test_vendor_admin_sets_territories_and_specialisations(
    client_as, vendor, org_factory, user_factory, db
):
    partner = org_factory("distributor")
    client = client_as(user_factory(vendor, "vendor_admin"))
    url = f"/program/partners/{partner.id}/coverage"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        data={
            "countries": "ch, Germany; AUT",
            "product_lines": ["networking", "security"],
            "seen_countries": "",
            "seen_product_lines": "",
        },
    )
    assert response.status_code == 302
    assert _coverage(db, partner) == (["AT", "CH", "DE"], ["networking", "security"])

    response = client.post(
        url,
        data={
            "countries": "DE FR",  # codes separated by spaces are read as codes
            "product_lines": ["storage"],
            "seen_countries": "AT,CH,DE",
            "seen_product_lines": "networking,security",
        },
    )
    assert response.status_code == 302
    assert _coverage(db, partner) == (["DE", "FR"], ["storage"])
    events = _events(db, "partner.coverage_changed")
    assert [e.after for e in events] == [
        {"territories": ["AT", "CH", "DE"], "specialisations": ["networking", "security"]},
        {"territories": ["DE", "FR"], "specialisations": ["storage"]},
    ]
    assert events[1].before["territories"] == ["AT", "CH", "DE"]
    assert all(e.org_id == partner.id for e in events)
    profile = client.get(f"/program/partners/{partner.id}").get_data(as_text=True)
    assert "Germany (DE)" in profile and "France (FR)" in profile and "Storage" in profile


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"countries": "DE, Atlantis, Narnia"}, "Not a country: Atlantis, Narnia."),
        ({"countries": "DE", "product_lines": ["toasters"]}, "is not a valid choice"),
        ({"countries": "D" * 2001}, "Field cannot be longer than 2000 characters."),
    ],
)
def test_bad_coverage_is_a_422_and_changes_nothing(
    client_as, vendor, org_factory, user_factory, db, data, message
):
    partner = org_factory("reseller")
    _cover(db, partner, ["CH"], ["cloud"])
    client = client_as(user_factory(vendor, "vendor_admin"))
    with unchanged(db, partner, counted=[Territory, Specialisation]):
        response = client.post(
            f"/program/partners/{partner.id}/coverage",
            data={"seen_countries": "CH", "seen_product_lines": "cloud", **data},
        )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _coverage(db, partner) == (["CH"], ["cloud"])
    assert not _events(db, "partner.coverage_changed")


def test_a_concurrent_coverage_edit_is_shown_and_overwrites_nothing(
    client_as, vendor, org_factory, user_factory, db
):
    partner = org_factory("reseller")
    _cover(db, partner, ["DE", "FR"], ["storage"])
    client = client_as(user_factory(vendor, "vendor_admin"))
    with unchanged(db, partner, counted=[Territory, Specialisation]):
        response = client.post(
            f"/program/partners/{partner.id}/coverage",
            data={
                "countries": "US",
                "product_lines": ["cloud"],
                "seen_countries": "AT,CH,DE",  # what the page showed before someone else saved
                "seen_product_lines": "storage",
            },
        )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    conflict = re.search(r'data-testid="edit-conflict".*?</div>', page, re.S).group(0)
    assert "Territories" in conflict and "AT, CH, DE" in conflict and "DE, FR" in conflict
    assert "Specialisations" not in conflict
    assert 'value="US"' in page, "the input is kept"
    assert 'name="seen_countries" type="hidden" value="DE,FR"' in page, "a fresh 'seen' state"
    assert _coverage(db, partner) == (["DE", "FR"], ["storage"])


# The directory.


def test_directory_filters_by_tier_country_specialisation_kind_and_name(
    client_as, vendor, org_factory, user_factory, db
):
    alpha = org_factory("reseller", name="Alpha Dir Networks", tier="gold")
    beta = org_factory("distributor", name="Beta Dir Distribution", tier="silver")
    gamma = org_factory("supplier", name="Gamma Dir Supplies")
    org_factory("customer", name="Delta Dir Customer")
    _cover(db, alpha, ["DE", "AT"], ["networking"])
    _cover(db, beta, ["FR"], ["storage", "networking"])
    _cover(db, gamma, ["DE"], ["services"])
    _deal(db, alpha, "PX-1", "approved")
    _deal(db, alpha, "PX-2", "lost")
    names = {alpha.name, beta.name, gamma.name, "Delta Dir Customer"}
    client = client_as(user_factory(vendor, "sales_rep"))

    def listed(query: str) -> set[str]:
        response = client.get(f"/program/partners?{query}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        return {n for n in names if n in page}

    assert listed("") == {alpha.name, beta.name, gamma.name}  # partners only
    assert listed("tier=gold") == {alpha.name}
    assert listed("tier=none") == {gamma.name}
    assert listed("country=DE") == {alpha.name, gamma.name}
    assert listed("country=germany") == {alpha.name, gamma.name}
    assert listed("specialisation=networking") == {alpha.name, beta.name}
    assert listed("kind=distributor") == {beta.name}
    assert listed("q=dir+dist") == {beta.name}
    assert listed("q=ALPHA") == {alpha.name}
    assert listed("q=%25") == set(), "a % is a character to find, not a wildcard"
    assert listed("tier=gold&country=FR") == set()
    assert listed("specialisation=networking&kind=reseller&country=AT") == {alpha.name}
    assert listed("tier=diamond&kind=vendor&specialisation=toasters") == {
        alpha.name,
        beta.name,
        gamma.name,
    }, "a value the page does not offer is ignored"
    row = re.search(
        r'<tr data-testid="partner-row">.*?Alpha Dir Networks.*?</tr>',
        client.get("/program/partners?q=alpha").get_data(as_text=True),
        re.S,
    ).group(0)
    assert 'title="Austria"' in row and "Networking" in row and "Gold" in row
    assert re.search(r'<td class="text-end">1</td>', row), "one open deal (lost is closed)"


def test_directory_is_paginated(client_as, vendor, org_factory, user_factory):
    for n in range(30):
        org_factory("reseller", name=f"Paged Partner {n:02d}")
    client = client_as(user_factory(vendor, "support_agent"))
    first = client.get("/program/partners?q=paged").get_data(as_text=True)
    second = client.get("/program/partners?q=paged&page=2").get_data(as_text=True)
    assert "30 partners" in first and "Page 1 of 2" in first
    assert "Paged Partner 00" in first and "Paged Partner 24" in first
    assert "Paged Partner 25" not in first
    assert "Paged Partner 25" in second and "Paged Partner 29" in second
    assert "q=paged" in first.split("Page 1 of 2")[1], "the next page keeps the filters"


# The profile.


def test_profile_shows_users_open_deals_and_lead_figures(
    client_as, vendor, org_factory, user_factory, db
):
    partner = org_factory("reseller", tier="gold", name="Profiled Partner")
    person = user_factory(partner, "partner_user", name="Pat Profiled")
    for hours, status in [(1, "accepted"), (2, "declined"), (4, "accepted"), (10, "accepted")]:
        _offer(db, vendor, partner, status, timedelta(hours=hours))
    _offer(db, vendor, partner, "expired")
    _offer(db, vendor, partner, "offered")
    other = org_factory("reseller")
    _offer(db, vendor, other, "declined", timedelta(minutes=5))  # not this partner's
    _deal(db, partner, "PX-10", "submitted", "1000.00")
    _deal(db, partner, "PX-11", "approved", "2500.50")
    _deal(db, partner, "PX-12", "info_requested", "10.00")
    _deal(db, partner, "PX-13", "draft")
    _deal(db, partner, "PX-14", "won")
    _deal(db, other, "PX-15", "approved")
    client = client_as(user_factory(vendor, "channel_manager"))
    response = client.get(f"/program/partners/{partner.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert person.name in page and person.email in page
    assert re.search(r'data-testid="acceptance-rate">\s*75%', page)
    assert 'data-seconds="10800"' in page  # median of 1, 2, 4, 10 hours: 3 hours
    assert re.search(r'data-testid="offered">6<', page)
    assert re.search(r'data-testid="open-deal-count">3<', page)
    assert {"PX-10", "PX-11", "PX-12"} <= set(re.findall(r"PX-\d+", page))
    assert not {"PX-13", "PX-14", "PX-15"} & set(re.findall(r"PX-\d+", page))
    assert "€3,510.50" in page


def test_lead_figures_come_from_aggregates_whatever_the_number_of_offers(
    app, db, vendor, org_factory
):
    few, many, none = org_factory("reseller"), org_factory("reseller"), org_factory("reseller")
    for minutes, status in [(30, "accepted"), (90, "declined"), (60, "accepted")]:
        _offer(db, vendor, few, status, timedelta(minutes=minutes))
    for n in range(40):
        _offer(db, vendor, many, "accepted" if n % 4 else "declined", timedelta(minutes=n + 1))
    for _ in range(5):
        _offer(db, vendor, many, "expired")
    engine = app.extensions["db"].engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.test_request_context():
        set_principal(portal_db.session, Principal(vendor.id, "vendor", "channel_manager", None))
        empty = queries.lead_figures(none.id)  # the transaction and its settings begin here
        event.listen(engine, "before_cursor_execute", count)
        try:
            small = queries.lead_figures(few.id)
            used_for_few = len(statements)
            large = queries.lead_figures(many.id)
            used_for_many = len(statements) - used_for_few
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert used_for_few == used_for_many == 2  # counts in one, the median in another
    assert (small.responded, small.accepted, small.median_response) == (
        3,
        2,
        timedelta(minutes=60),
    )
    assert small.acceptance_rate == pytest.approx(2 / 3)
    assert (large.offered, large.responded, large.accepted, large.expired) == (45, 40, 30, 5)
    assert large.median_response == timedelta(minutes=20, seconds=30)  # between 20 and 21
    assert (empty.offered, empty.acceptance_rate, empty.median_response) == (0, None, None)


# A partner's own programme, and nothing else.


def test_partner_reads_its_own_programme(client_as, org_factory, user_factory, db):
    mine = org_factory("reseller", tier="silver", name="My Own Reseller")
    other = org_factory("reseller", tier="platinum", name="Someone Else Reseller")
    _cover(db, mine, ["CH", "LI"], ["cloud", "security"])
    _cover(db, other, ["JP"], ["storage"])
    client = client_as(user_factory(mine, "partner_user"))
    home = client.get("/home").get_data(as_text=True)
    assert 'href="/program/mine"' in home and 'href="/program/partners"' not in home
    response = client.get("/program/mine")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Your tier: Silver" in page and "10%" in page and "90 days" in page
    assert "Switzerland (CH)" in page and "Liechtenstein (LI)" in page
    assert "Cloud" in page and "Security" in page
    assert "Japan" not in page and "Storage" not in page and other.name not in page


def test_partners_cannot_reach_the_directory_profiles_or_tiers(
    client_as, org_factory, user_factory, db
):
    mine, other = org_factory("reseller", tier="gold"), org_factory("supplier")
    gold = _tier(db, "gold")
    client = client_as(user_factory(mine, "partner_admin"))
    with unchanged(db, mine, other, gold, counted=[Territory, Specialisation]):
        for url in (
            "/program/partners",
            f"/program/partners/{other.id}",
            f"/program/partners/{mine.id}",
            f"/program/partners/{other.id}/coverage",
            f"/program/partners/{mine.id}/coverage",
            "/program/tiers",
            f"/program/tiers/{gold.id}",
        ):
            assert client.get(url).status_code == 403, url
        for url in (
            f"/program/partners/{mine.id}/tier",
            f"/program/partners/{other.id}/coverage",
            f"/program/tiers/{gold.id}",
        ):
            assert client.post(url, data={"tier": "platinum", "countries": "US"}).status_code == 403
    db.expire_all()
    assert db.get(Organization, mine.id).tier == "gold"
    assert _coverage(db, other) == ([], [])


def test_customers_have_no_programme_page(client_as, db, org_factory, user_factory):
    client = client_as(user_factory(org_factory("customer"), "customer_admin"))
    with unchanged(db):
        assert client.get("/program/mine").status_code == 403
    assert 'href="/program/mine"' not in client.get("/home").get_data(as_text=True)


def test_vendor_staff_find_partners_in_the_navigation(client_as, vendor, user_factory):
    client = client_as(user_factory(vendor, "support_agent"))
    home = client.get("/home").get_data(as_text=True)
    assert 'href="/program/partners"' in home and 'href="/program/mine"' not in home


# The demo world.


def test_demo_seeder_adds_coverage_only_where_none_exists(db, org_factory):
    assert seed_partner_coverage in SEEDERS
    orgs = {
        name: org_factory(kind, name=name)
        for name, kind in [
            ("Alpine IT Solutions", "reseller"),
            ("Evergreen Components", "supplier"),
            ("Delta Office Partners", "reseller"),
        ]
    }
    _cover(db, orgs["Delta Office Partners"], ["BE"])  # already edited: kept as it is
    assert seed_partner_coverage(db, orgs) == 5 + 2
    assert _coverage(db, orgs["Alpine IT Solutions"]) == (
        ["AT", "CH", "DE"],
        ["networking", "security"],
    )
    assert _coverage(db, orgs["Evergreen Components"]) == (["DE"], ["services"])
    assert _coverage(db, orgs["Delta Office Partners"]) == (["BE"], [])
    assert seed_partner_coverage(db, orgs) == 0


# The services on their own (the API will call them without a form).


def test_services_check_everything_a_form_would(app, db, vendor, org_factory, user_factory):
    from partners.program import services
    from portal.errors import Forbidden, InvalidInput

    partner, customer = org_factory("reseller", tier="silver"), org_factory("customer")
    admin = Principal.for_user(user_factory(vendor, "vendor_admin"))
    manager = Principal.for_user(user_factory(vendor, "channel_manager"))
    with app.test_request_context():
        set_principal(portal_db.session, admin)
        session_partner = portal_db.session.get(Organization, partner.id)
        session_customer = portal_db.session.get(Organization, customer.id)
        gold = portal_db.session.scalar(select(Tier).where(Tier.code == "gold"))
        terms = {
            "name": "Gold",
            "discount_percent": Decimal("15"),
            "protection_days": 120,
            "distribution_weight": 3,
            "max_open_leads": 10,
        }
        refused = [
            (
                lambda: services.update_partner_coverage(
                    session_partner, countries=["XX"], product_lines=[], actor=admin
                ),
                "countries",
            ),
            (
                lambda: services.update_partner_coverage(
                    session_partner, countries=["DE"], product_lines=["toasters"], actor=admin
                ),
                "product_lines",
            ),
            (
                lambda: services.change_partner_tier(
                    session_partner, tier_code="diamond", actor=admin
                ),
                "tier",
            ),
            (
                lambda: services.change_partner_tier(
                    session_customer, tier_code="gold", actor=admin
                ),
                None,
            ),
            (
                lambda: services.update_tier(
                    gold, snapshot=None, **{**terms, "protection_days": True}, actor=admin
                ),
                "protection_days",
            ),
            (
                lambda: services.update_tier(
                    gold, snapshot=None, **{**terms, "discount_percent": "1e3"}, actor=admin
                ),
                "discount_percent",
            ),
        ]
        for call, field in refused:
            with unchanged(db, partner, customer, gold, counted=[Territory, Specialisation]):
                with pytest.raises(InvalidInput) as error:
                    call()
                portal_db.session.flush()
            assert error.value.field == field
        with unchanged(db, partner):
            with pytest.raises(Forbidden):
                services.change_partner_tier(session_partner, tier_code="gold", actor=manager)
            portal_db.session.flush()
        # Without an "as seen" value (an API call), the move happens without a conflict check.
        assert services.change_partner_tier(session_partner, tier_code="gold", actor=admin)
        assert not services.change_partner_tier(session_partner, tier_code="gold", actor=admin)
        portal_db.session.rollback()
