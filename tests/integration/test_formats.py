"""What people read instead of internals: times in their own zone (sent once by their browser,
changeable on the account page), one format for dates and money, histories as sentences with
labelled fields, status labels in filters, and a quote's discount, fingerprint and browser."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal as D

from sqlalchemy import select

from portal.audit import AuditEvent
from portal.identity.models import User
from tests import factories
from tests.unchanged import unchanged

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def _text(html: str) -> str:
    """The page as read: tags and attributes out, whitespace folded."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))


def _zone(db, user) -> str | None:
    db.expire_all()
    return db.get(User, user.id).timezone


# The time zone: the browser's, sent once.


def test_a_new_person_has_no_zone_and_the_page_asks_the_browser(
    client_as, org_factory, user_factory
):
    user = user_factory(org_factory())
    assert user.timezone is None
    page = client_as(user).get("/account").get_data(as_text=True)
    assert re.search(r'<script src="/static/timezone.js" data-url="/account/timezone"', page)
    assert 'data-csrf="' in page


def test_the_browsers_zone_is_stored_once(client_as, db, org_factory, user_factory):
    user = user_factory(org_factory())
    browser = client_as(user)
    assert browser.post("/account/timezone", data={"timezone": "Europe/Berlin"}).status_code == 204
    assert _zone(db, user) == "Europe/Berlin"
    # Another report (another tab, a trip) changes nothing: a known zone stays until the person
    # changes it on the account page.
    assert browser.post("/account/timezone", data={"timezone": "Asia/Tokyo"}).status_code == 204
    assert _zone(db, user) == "Europe/Berlin"
    assert "timezone.js" not in browser.get("/account").get_data(as_text=True)


def test_a_zone_chosen_before_is_kept(client_as, db, org_factory, user_factory):
    user = user_factory(org_factory(), timezone="America/New_York")
    assert client_as(user).post("/account/timezone", data={"timezone": "UTC"}).status_code == 204
    assert _zone(db, user) == "America/New_York"


def test_an_unknown_zone_is_refused(client_as, db, org_factory, user_factory):
    user = user_factory(org_factory())
    browser = client_as(user)
    for bad in ("Mars/Olympus", "", "../../etc/passwd", "x" * 65):
        with unchanged(db, user):
            assert browser.post("/account/timezone", data={"timezone": bad}).status_code == 400
    assert _zone(db, user) is None


def test_the_zone_report_needs_a_signed_in_person_and_a_csrf_token(
    app, client, client_as, db, org_factory, user_factory
):
    user = user_factory(org_factory())
    response = client.post("/account/timezone", data={"timezone": "Europe/Berlin"})
    assert response.status_code in (302, 401)
    browser = client_as(user)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        with unchanged(db, user):
            response = browser.post("/account/timezone", data={"timezone": "Europe/Berlin"})
            assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _zone(db, user) is None


def test_the_account_page_offers_the_zones_and_changes_it(client_as, db, org_factory, user_factory):
    user = user_factory(org_factory(), timezone="Europe/Berlin")
    browser = client_as(user)
    page = browser.get("/account").get_data(as_text=True)
    assert re.search(r'<select[^>]*name="timezone"', page)
    assert '<option selected value="Europe/Berlin">' in page or (
        'value="Europe/Berlin" selected' in page
    )
    assert ">America/New York</option>" in page
    response = browser.post("/account", data={"name": user.name, "timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert _zone(db, user) == "Asia/Tokyo"
    with unchanged(db, user):
        response = browser.post("/account", data={"name": user.name, "timezone": "Mars/Olympus"})
        assert response.status_code == 422


def test_times_are_shown_in_the_persons_zone(client_as, db, vendor, org_factory, user_factory):
    partner = org_factory()
    user = user_factory(partner, "partner_admin", timezone="Asia/Tokyo")
    deal = factories.make_deal(
        db, partner, "Zone Ltd", "submitted", submitted_at=datetime(2027, 3, 31, 22, 30, tzinfo=UTC)
    )
    page = _text(client_as(user).get(f"/deals/{deal.id}").get_data(as_text=True))
    assert "Apr 1, 2027, 7:30\u202fAM" in page  # 22:30 UTC is 07:30 the next day in Tokyo
    newcomer = user_factory(partner, "partner_admin")  # no zone known yet
    page = _text(client_as(newcomer).get(f"/deals/{deal.id}").get_data(as_text=True))
    assert "Mar 31, 2027, 10:30\u202fPM" in page  # no zone known yet: UTC


# One format for dates and money.


def test_a_deal_shows_its_value_and_dates_in_one_format(client_as, db, org_factory, user_factory):
    partner = org_factory()
    user = user_factory(partner, "partner_admin", timezone="UTC")
    deal = factories.make_deal(
        db, partner, "Format Ltd", "submitted", value=D("58000"), expected_close=date(2027, 3, 31)
    )
    page = _text(client_as(user).get(f"/deals/{deal.id}").get_data(as_text=True))
    assert "€58,000.00" in page and "58000.00 EUR" not in page
    assert "Mar 31, 2027" in page and "2027-03-31" not in page
    listing = _text(client_as(user).get("/deals/").get_data(as_text=True))
    assert "€58,000.00" in listing


# Labels instead of codes.


def test_the_status_filters_show_labels(client_as, vendor, user_factory):
    manager = client_as(user_factory(vendor, "channel_manager"))
    deals = manager.get("/deals/").get_data(as_text=True)
    assert '<option value="info_requested">Information requested</option>' in deals
    assert ">info_requested<" not in deals
    quotes = manager.get("/quotes/").get_data(as_text=True)
    assert '<option value="superseded">Superseded</option>' in quotes


def test_a_history_reads_as_sentences_with_labelled_fields(
    client_as, db, vendor, org_factory, user_factory
):
    partner = org_factory()
    manager = user_factory(vendor, "channel_manager", name="Mia Manager", timezone="UTC")
    deal = factories.make_deal(db, partner, "History Ltd", "approved", value=D("58000"))
    fields = {"customer_name": "History Ltd", "value": "58000.00", "currency": "EUR"}
    db.add_all(
        [
            AuditEvent(
                org_id=partner.id, action="deal.registered", object_type="DealRegistration",
                object_id=deal.id, before=None,
                after={"status": "submitted", **fields, "expires_at": None, "notes": ""},
            ),
            AuditEvent(
                org_id=partner.id, action="deal.approved", object_type="DealRegistration",
                object_id=deal.id, actor_user_id=manager.id,
                before={"status": "submitted", **fields, "expires_at": None},
                after={
                    "status": "approved", **fields,
                    "expires_at": "2027-06-30T00:00:00+00:00", "decided_by_id": manager.id,
                },
            ),
        ]
    )  # fmt: skip
    db.flush()
    html = client_as(manager).get(f"/deals/{deal.id}").get_data(as_text=True)
    history = _text(html[html.index('id="history-heading"') :])
    assert "Registration registered by the system" in history
    assert "Registration approved by Mia Manager" in history
    assert "Status: Under review → Approved" in history
    assert "Protected until: — → Jun 30, 2027, 12:00\u202fAM" in history
    assert "Value: €58,000.00" in history  # set when registered, with its currency
    for code in ("deal.registered", "deal.approved", "decided_by_id", "expires_at", "submitted →"):
        assert code not in history
    # Unchanged fields are left out of a change; empty ones out of a creation.
    assert history.count("Customer: History Ltd") == 1 and "Notes" not in history


def test_a_leads_statuses_read_in_the_readers_language_in_its_badge_and_history(
    client_as, db, vendor, org_factory, user_factory
):
    """Leads' statuses are labelled by their workflows, as every other record's: the badge and
    the history read "Angeboten", not the stored "offered" (which German pages showed before)."""
    partner = org_factory()
    manager = user_factory(vendor, "channel_manager", locale="de", timezone="UTC")
    lead = factories.make_lead(db, vendor, "Sprache GmbH", status="offered")
    offer = factories.make_offer(db, lead, partner)
    db.add_all(
        [
            AuditEvent(
                org_id=vendor.id, action="lead.offered", object_type="Lead", object_id=lead.id,
                actor_user_id=manager.id, before={"status": "new"}, after={"status": "offered"},
            ),
            AuditEvent(
                org_id=partner.id, action="lead_offer.recalled", object_type="LeadOffer",
                object_id=offer.id, actor_user_id=manager.id,
                before={"status": "offered"}, after={"status": "recalled"},
            ),
        ]
    )  # fmt: skip
    db.flush()
    html = client_as(manager).get(f"/leads/{lead.id}").get_data(as_text=True)
    heading = html[html.index("<h1") : html.index("</h1>")]
    assert 'data-testid="lead-status">Angeboten</span>' in heading
    history = _text(html[html.index('id="history-heading"') :])
    assert "Lead angeboten" in history and "Status: Neu → Angeboten" in history
    for code in ("lead.offered", "new →", "→ offered", "Lead offered"):
        assert code not in history


def test_the_audit_log_shows_sentences_and_keeps_the_code_to_filter_by(
    client_as, db, vendor, user_factory
):
    admin = user_factory(vendor, "vendor_admin")
    db.add(
        AuditEvent(
            org_id=vendor.id, action="user.role_changed", object_type="User", object_id=admin.id,
            before={"role": "sales_rep"}, after={"role": "vendor_admin"},
        )
    )  # fmt: skip
    db.flush()
    page = _text(client_as(admin).get("/admin/audit?action=user.").get_data(as_text=True))
    assert (
        "User role changed user.role_changed" in page and "Role: Sales rep → Vendor admin" in page
    )


# The quote: a discount as a reduction, the fingerprint on the certificate only, the browser.


def _quote(db, vendor, org_factory, user_factory, **fields):
    partner = org_factory()
    user = user_factory(partner, "partner_admin", timezone="Europe/Berlin")
    lines = [{"tier_discount_percent": D("10.00"), "discount_percent": D("5.00"),
              "tax_rate_percent": D("20.00"), "unit_price": D("85.50")}]  # fmt: skip
    quote = factories.make_quote(
        db, partner, lines=lines, tier_code="gold", tier_discount_percent=D("10.00"), **fields
    )
    return quote, user


def test_a_discount_reads_as_a_reduction_and_the_hash_is_not_in_the_header(
    client_as, db, vendor, org_factory, user_factory
):
    quote, user = _quote(db, vendor, org_factory, user_factory)
    html = client_as(user).get(f"/quotes/{quote.id}").get_data(as_text=True)
    page = _text(html)
    discount = re.search(r'data-testid="line-discount">(.*?)</span>', html).group(1)
    assert discount == "\u221210% tier, \u22125% extra"
    assert "+ 10" not in page and "10.00%" not in page
    assert "gold · 10% discount" in page and "20%" in page  # the tier and the tax rate
    assert "€100.00" in page  # the line's total, with its currency
    assert "SHA-256" not in page and "0" * 64 not in page  # kept for the certificate


def test_the_certificate_shows_the_fingerprint_and_a_readable_browser(
    client_as, db, vendor, org_factory, user_factory
):
    quote, user = _quote(
        db, vendor, org_factory, user_factory,
        status="accepted", decided_at=datetime(2027, 3, 31, 22, 30, tzinfo=UTC),
        decided_pdf_sha256="ab" * 32, decided_user_agent=CHROME, decided_ip="203.0.113.7",
        signer_name="Pat Partner", consent=True,
    )  # fmt: skip
    quote.decided_by_id = user.id
    db.flush()
    html = client_as(user).get(f"/quotes/{quote.id}/certificate").get_data(as_text=True)
    page = _text(html)
    assert "Document fingerprint" in page and "SHA-256" in page  # said what it is, below
    assert re.search(r'data-testid="document-hash">' + "ab" * 32 + "<", html)
    assert "Browser Chrome 131 on Windows 10" in page
    assert re.search(r"<details[^>]*>.*<code>" + re.escape(CHROME) + "</code>", html, re.S)
    assert "Apr 1, 2027, 12:30\u202fAM (Europe/Berlin)" in page and "UTC" not in page


def test_the_pdf_uses_the_same_formats(app, db, vendor, org_factory, user_factory):
    from partners.quotes import documents

    quote, user = _quote(db, vendor, org_factory, user_factory, valid_until=date(2027, 3, 31))
    with app.test_request_context():
        html = documents.html_of(quote, draft=False)
    assert "Mar 31, 2027" in html and "2027-03-31" not in html
    assert "\u221210% tier, \u22125% extra" in html and "€100.00" in html


def test_no_event_is_shown_as_its_code_on_a_record_page(
    client_as, db, vendor, org_factory, user_factory
):
    manager = user_factory(vendor, "channel_manager")
    partner = org_factory()
    deal = factories.make_deal(db, partner, "Codes Ltd", "submitted")
    actions = db.scalars(select(AuditEvent.action).distinct()).all()
    for action in {"deal.edited", "deal.conflicts_flagged", "deal.extension_requested", *actions}:
        if action.startswith("deal."):
            db.add(AuditEvent(org_id=partner.id, action=action, object_type="DealRegistration",
                              object_id=deal.id, after={"status": "submitted"}))  # fmt: skip
    db.flush()
    html = client_as(manager).get(f"/deals/{deal.id}").get_data(as_text=True)
    history = html[html.index('id="history-heading"') :]
    assert not re.search(r"\bdeal\.[a-z_]+", history)
    assert "Registration possible conflicts flagged" in _text(history)
