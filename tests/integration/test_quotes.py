"""Quotes on the real database: the builder with pricing and rules, discount approval, sending
with its stored PDF and emails, viewing, acceptance records, declines, versions, expiry by tick,
concurrent edits, requests from deal registrations, and tenant isolation."""

from __future__ import annotations

import hashlib
import io
import re
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import func, select

from partners.catalogue.models import PriceBreak, Product, ProductRule
from partners.deals.models import DealRegistration
from partners.quotes import services
from partners.quotes.models import Quote, QuoteLine, QuoteRequest
from portal import jobs
from portal.audit import AuditEvent
from portal.errors import Forbidden, InvalidTransition
from portal.notify.models import Notification
from portal.tenancy import Principal
from tests import factories
from tests.unchanged import unchanged

D = Decimal
IN_30_DAYS = (date.today() + timedelta(days=30)).isoformat()


@pytest.fixture
def world(db, vendor, org_factory, user_factory):
    """A gold reseller (15% tier discount) with a managed customer, another reseller, vendor
    staff, and a catalogue: a switch that needs a power supply, two licences that exclude each
    other, a service sold from 5 to 20 days, a switch with quantity breaks."""
    gold = org_factory("reseller", name="Gold Reseller QT", tier="gold")
    customer = org_factory("customer", name="Customer QT plc", managed_by_id=gold.id)
    other = org_factory("reseller", name="Other Reseller QT", tier="silver")
    products = {}
    for sku, name, price, tax, low, high in [
        ("SW-48", "48-port switch", "1000.00", "20", None, None),
        ("PSU-1", "Power supply", "99.99", "20", None, None),
        ("LIC-STD", "Standard licence", "250.00", "0", None, None),
        ("LIC-ADV", "Advanced licence", "400.00", "0", None, None),
        ("SVC-DAY", "Engineer day", "800.00", "10", 5, 20),
    ]:
        products[sku] = Product(
            sku=sku,
            name=name,
            list_price=D(price),
            currency="EUR",
            tax_rate_percent=D(tax),
            min_quantity=low,
            max_quantity=high,
        )
        db.add(products[sku])
    db.flush()
    db.add_all(
        [
            ProductRule(
                product_id=products["SW-48"].id,
                kind="requires",
                other_product_id=products["PSU-1"].id,
            ),
            ProductRule(
                product_id=products["LIC-STD"].id,
                kind="excludes",
                other_product_id=products["LIC-ADV"].id,
            ),
            PriceBreak(product_id=products["SW-48"].id, min_quantity=10, unit_price=D("900")),
            PriceBreak(product_id=products["SW-48"].id, min_quantity=50, unit_price=D("800")),
        ]
    )
    db.flush()
    return {
        "gold": gold,
        "customer": customer,
        "other": other,
        "products": products,
        "gold_admin": user_factory(gold, "partner_admin", name="Gina Gold"),
        "gold_user": user_factory(gold, "partner_user"),
        "customer_user": user_factory(customer, "customer_user", name="Carl Customer"),
        "other_admin": user_factory(other, "partner_admin"),
        "admin": user_factory(vendor, "vendor_admin"),
        "manager": user_factory(vendor, "channel_manager"),
        "sales": user_factory(vendor, "sales_rep"),
        "support": user_factory(vendor, "support_agent"),
    }


def principal(user) -> Principal:
    return Principal.for_user(user)


@contextmanager
def acting(app, user):
    with app.test_request_context():
        from portal.db import db as portal_db
        from portal.db import set_principal

        set_principal(portal_db.session, principal(user))
        yield portal_db.session


def load(db, quote_id) -> Quote:
    db.expire_all()
    return db.get(Quote, quote_id)


def new_quote(client, recipient, **fields) -> int:
    response = client.post(
        "/quotes/new",
        data={
            "recipient": recipient.id,
            "currency": "EUR",
            "valid_until": IN_30_DAYS,
            "title": "Branch refresh",
            "terms": "Net 30.",
            **fields,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def seen(client, quote_id) -> str:
    """The snapshot the draft's page carries in its forms (optimistic locking)."""
    page = client.get(f"/quotes/{quote_id}").get_data(as_text=True)
    match = re.search(r'name="snapshot" type="hidden" value="([^"]*)"', page)
    return match.group(1) if match else ""


def add(client, quote_id, sku, quantity, discount="", tax=""):
    return client.post(
        f"/quotes/{quote_id}/lines",
        data={
            "sku": sku,
            "quantity": quantity,
            "discount_percent": discount,
            "tax_rate_percent": tax,
            "snapshot": seen(client, quote_id),
        },
    )


def sent_quote(client_as, world, recipient=None, lines=(("PSU-1", 3),), who="manager") -> int:
    vendor = client_as(world[who])
    quote_id = new_quote(vendor, recipient or world["gold"])
    for sku, qty in lines:
        assert add(vendor, quote_id, sku, qty).status_code == 302
    assert (
        vendor.post(
            f"/quotes/{quote_id}/send", data={"snapshot": seen(vendor, quote_id)}
        ).status_code
        == 302
    )
    return quote_id


# Building and pricing.


def test_the_builder_prices_lines_with_break_tier_discount_and_tax(client_as, db, world):
    vendor = client_as(world["manager"])
    quote_id = new_quote(vendor, world["gold"])
    quote = load(db, quote_id)
    assert re.fullmatch(r"Q-\d{4}-\d{5}", quote.number) and quote.revision == 1
    assert quote.status == "draft" and quote.tier_code == "gold"
    assert add(vendor, quote_id, "sw-48", 10, discount="5").status_code == 302
    assert add(vendor, quote_id, "PSU-1", 10).status_code == 302
    quote = load(db, quote_id)
    switch, psu = quote.lines
    # 900 (break at 10) * 0.85 (gold) * 0.95 (line) = 726.75 a unit
    assert switch.unit_price == D("900") and switch.net_amount == D("7267.50")
    assert switch.tax_amount == D("1453.50")
    # 99.99 * 0.85 * 10 = 849.915 -> 849.92; tax 20% = 169.984 -> 169.98
    assert psu.net_amount == D("849.92") and psu.tax_amount == D("169.98")
    assert quote.subtotal == D("8117.42") and quote.tax_total == D("1623.48")
    assert quote.total == D("9740.90")
    page = vendor.get(f"/quotes/{quote_id}").get_data(as_text=True)
    assert "9,740.90" in page and "SW-48" in page


def test_a_customer_gets_no_tier_discount(client_as, db, world):
    vendor = client_as(world["manager"])
    quote_id = new_quote(vendor, world["customer"])
    add(vendor, quote_id, "PSU-1", 1, tax="0")
    quote = load(db, quote_id)
    assert quote.tier_code is None and quote.total == D("99.99")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sku": "NOPE-1", "quantity": 1}, "No product has the SKU"),
        ({"sku": "PSU-1", "quantity": 0}, "Number must be between"),
        ({"sku": "PSU-1", "quantity": 1, "discount_percent": "120"}, "Number must be between"),
    ],
)
def test_bad_lines_get_a_clear_message_and_nothing_is_written(client_as, db, world, data, message):
    vendor = client_as(world["manager"])
    quote_id = new_quote(vendor, world["gold"])
    data = {**data, "snapshot": seen(vendor, quote_id)}
    with unchanged(db, (Quote, quote_id), counted=[QuoteLine]):
        response = vendor.post(f"/quotes/{quote_id}/lines", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert load(db, quote_id).lines == []


def test_amounts_past_what_a_quote_holds_are_refused_clearly(client_as, db, world):
    db.add(Product(sku="BIG-1", name="Data centre", list_price=D("1000000000"), currency="EUR"))
    db.flush()  # the highest list price the catalogue takes
    vendor = client_as(world["admin"])
    quote_id = new_quote(vendor, world["customer"])
    with unchanged(db, (Quote, quote_id), counted=[QuoteLine]):
        response = add(vendor, quote_id, "BIG-1", 1_000_000)  # 1e15: past Numeric(14, 2)
    assert response.status_code == 422
    assert "Line 1 (BIG-1) comes to more than 999,999,999,999.99 EUR" in response.get_data(
        as_text=True
    )
    assert load(db, quote_id).lines == []
    assert add(vendor, quote_id, "BIG-1", 600, tax="0").status_code == 302
    with unchanged(db, (Quote, quote_id), counted=[QuoteLine]):
        response = add(vendor, quote_id, "BIG-1", 600, tax="0")  # each line fits, their sum not
    assert response.status_code == 422
    assert "The quote would come to more than" in response.get_data(as_text=True)
    quote = load(db, quote_id)
    assert len(quote.lines) == 1 and quote.total == D("600000000000.00")


def test_a_rule_violation_blocks_sending_naming_the_rule_and_the_lines(
    client_as, db, world, mailbox
):
    vendor = client_as(world["manager"])
    quote_id = new_quote(vendor, world["gold"])
    add(vendor, quote_id, "SW-48", 2)
    add(vendor, quote_id, "LIC-STD", 1)
    add(vendor, quote_id, "LIC-ADV", 1)
    add(vendor, quote_id, "SVC-DAY", 2)
    page = vendor.get(f"/quotes/{quote_id}").get_data(as_text=True)
    assert "Line 1: SW-48 requires PSU-1 on the same quote." in page
    assert "Line 2, 3: LIC-STD cannot be combined with LIC-ADV." in page
    assert "Line 4: SVC-DAY is sold from 5 units (the quote has 2)." in page
    response = vendor.post(
        f"/quotes/{quote_id}/send", data={"snapshot": seen(vendor, quote_id)}, follow_redirects=True
    )
    assert "SW-48 requires PSU-1" in response.get_data(as_text=True)
    assert load(db, quote_id).status == "draft" and not mailbox
    # Fix it: add the power supply, drop the advanced licence, more engineer days.
    quote = load(db, quote_id)
    vendor.post(
        f"/quotes/{quote_id}/remove-line",
        data={"line_id": quote.lines[2].id, "snapshot": seen(vendor, quote_id)},
    )
    vendor.post(
        f"/quotes/{quote_id}/remove-line",
        data={"line_id": quote.lines[3].id, "snapshot": seen(vendor, quote_id)},
    )
    add(vendor, quote_id, "SVC-DAY", 25)
    assert "sold up to 20 units" in vendor.get(f"/quotes/{quote_id}").get_data(as_text=True)
    last = load(db, quote_id).lines[-1]
    vendor.post(
        f"/quotes/{quote_id}/remove-line",
        data={"line_id": last.id, "snapshot": seen(vendor, quote_id)},
    )
    add(vendor, quote_id, "SVC-DAY", 5)
    add(vendor, quote_id, "PSU-1", 2)
    assert 'data-testid="rule-violations"' not in vendor.get(f"/quotes/{quote_id}").get_data(
        as_text=True
    )
    vendor.post(f"/quotes/{quote_id}/send", data={"snapshot": seen(vendor, quote_id)})
    assert load(db, quote_id).status == "sent"


def test_a_discount_above_the_role_limit_waits_for_a_vendor_admins_approval(client_as, db, world):
    sales = client_as(world["sales"])
    quote_id = new_quote(sales, world["gold"])
    add(sales, quote_id, "PSU-1", 1, discount="10")  # at the sales rep's limit
    add(sales, quote_id, "PSU-1", 1, discount="15")  # above it
    quote = load(db, quote_id)
    assert [ln.needs_approval for ln in quote.lines] == [False, True]
    response = sales.post(
        f"/quotes/{quote_id}/send", data={"snapshot": seen(sales, quote_id)}, follow_redirects=True
    )
    assert "Line 2: the discount is above the limit" in response.get_data(as_text=True)
    snapshot = seen(sales, quote_id)
    with unchanged(db, (Quote, quote_id), *load(db, quote_id).lines):
        refused = sales.post(f"/quotes/{quote_id}/approve-discounts", data={"snapshot": snapshot})
    assert refused.status_code == 403
    admin = client_as(world["admin"])
    admin.post(f"/quotes/{quote_id}/approve-discounts", data={"snapshot": seen(admin, quote_id)})
    line = load(db, quote_id).lines[1]
    assert line.discount_approved_by_id == world["admin"].id and line.discount_approved_at
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "quote.discount_approved"))
    assert event.after["limit_percent"] == "10.00" and event.after["discount_percent"] == "15.00"
    sales.post(f"/quotes/{quote_id}/send", data={"snapshot": seen(sales, quote_id)})
    assert load(db, quote_id).status == "sent"


def test_a_vendor_admins_own_discount_is_approved_as_given(client_as, db, world):
    admin = client_as(world["admin"])
    quote_id = new_quote(admin, world["gold"])
    add(admin, quote_id, "PSU-1", 1, discount="40")
    assert not load(db, quote_id).lines[0].needs_approval


# Sending, viewing, the PDF.


def test_sending_stores_the_pdf_once_with_its_hash_and_emails_the_recipients(
    client_as, db, world, mailbox
):
    quote_id = sent_quote(client_as, world, lines=[("SW-48", 12), ("PSU-1", 12), ("SVC-DAY", 5)])
    quote = load(db, quote_id)
    assert quote.status == "sent" and quote.sent_at
    assert quote.pdf.startswith(b"%PDF")
    assert quote.pdf_sha256 == hashlib.sha256(quote.pdf).hexdigest()
    to = {m["To"] for m in mailbox}
    assert {world["gold_admin"].email, world["gold_user"].email} <= to
    assert world["other_admin"].email not in to and world["customer_user"].email not in to
    body = mailbox.to(world["gold_user"].email)[0].get_content()
    assert f"http://portal.test/quotes/{quote_id}" in body and quote.number in mailbox[0]["Subject"]
    # Downloads are served from storage: the same bytes, whatever the catalogue does later.
    partner = client_as(world["gold_user"])
    db.get(Product, world["products"]["SW-48"].id).name = "Renamed switch"
    db.flush()
    first = partner.get(f"/quotes/{quote_id}/pdf")
    second = partner.get(f"/quotes/{quote_id}/pdf")
    assert first.data == second.data == quote.pdf
    assert first.headers["X-Content-SHA256"] == quote.pdf_sha256


def test_the_pdf_text_has_the_number_every_line_and_the_right_totals(client_as, db, world):
    quote_id = sent_quote(client_as, world, lines=[("SW-48", 12), ("PSU-1", 12), ("SVC-DAY", 5)])
    quote = load(db, quote_id)
    pages = PdfReader(io.BytesIO(quote.pdf)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())  # wraps undone
    assert quote.number in text and "Version 1" in text and "Gold Reseller QT" in text
    for line in quote.lines:
        assert f"{line.position} {line.sku} {line.name} {line.quantity} unit" in text
        assert f"€{line.net_amount:,.2f} €{line.tax_amount:,.2f}" in text
    # 12 x 900 x 0.85 = 9180.00 (+1836.00); 12 x 99.99 x 0.85 = 1019.90 (+203.98);
    # 5 x 800 x 0.85 = 3400.00 (+340.00)
    assert quote.subtotal == D("13599.90") and quote.total == D("15979.88")
    assert "€13,599.90" in text and "€2,379.98" in text and "€15,979.88" in text
    assert "DRAFT" not in text
    assert re.search(r"Page 1 of \d", text)


def test_a_draft_renders_a_preview_marked_draft_and_stores_nothing(client_as, db, world):
    vendor = client_as(world["manager"])
    quote_id = new_quote(vendor, world["gold"])
    add(vendor, quote_id, "PSU-1", 2)
    response = vendor.get(f"/quotes/{quote_id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "DRAFT" in text and load(db, quote_id).number in text
    assert load(db, quote_id).pdf is None


def test_the_first_opening_by_the_recipient_marks_it_viewed(client_as, db, world):
    quote_id = sent_quote(client_as, world)
    client_as(world["manager"]).get(f"/quotes/{quote_id}")
    assert load(db, quote_id).status == "sent"  # vendor staff opening it is not the recipient
    partner = client_as(world["gold_user"])
    assert partner.get(f"/quotes/{quote_id}").status_code == 200
    quote = load(db, quote_id)
    assert quote.status == "viewed" and quote.viewed_at
    seen = quote.viewed_at
    partner.get(f"/quotes/{quote_id}")
    assert load(db, quote_id).viewed_at == seen


def test_two_first_openings_at_once_mark_it_viewed_once_and_both_show_it(client_as, app, db, world):
    from sqlalchemy import update

    quote_id = sent_quote(client_as, world)
    with acting(app, world["gold_user"]) as session:
        quote = session.get(Quote, quote_id)  # loaded while it was still "sent"
        # Meanwhile the other opening (the PDF, a colleague) marks it viewed.
        db.execute(
            update(Quote)
            .where(Quote.id == quote_id)
            .values(status="viewed", version=Quote.version + 1)
        )
        assert services.mark_viewed(quote, actor=principal(world["gold_user"])) is False
        session.commit()  # nothing stale to write
        assert quote.status == "viewed"
    assert not db.scalars(select(AuditEvent).where(AuditEvent.action == "quote.viewed")).all()


def test_proposal_sections_are_markdown_with_html_shown_as_text(client_as, db, world):
    vendor = client_as(world["manager"])
    quote_id = new_quote(
        vendor,
        world["gold"],
        cover_letter="Dear **partner**,\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))",
    )
    page = vendor.get(f"/quotes/{quote_id}").get_data(as_text=True)
    assert "<strong>partner</strong>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'href="javascript:' not in page


# Answering.


def test_acceptance_records_who_when_where_and_the_hash_of_the_pdf_shown(
    client_as, db, world, mailbox
):
    deal = factories.make_deal(
        db, world["gold"], "Acme", "approved", number="DR-QT-1", value=D("1000"), products=["x"]
    )
    vendor = client_as(world["manager"])
    quote_id = new_quote(vendor, world["gold"], deal_number="DR-QT-1")
    add(vendor, quote_id, "PSU-1", 1)
    vendor.post(f"/quotes/{quote_id}/send", data={"snapshot": seen(vendor, quote_id)})
    mailbox.clear()
    partner = client_as(world["gold_user"])
    page = partner.get(f"/quotes/{quote_id}").get_data(as_text=True)
    quote = load(db, quote_id)
    assert quote.pdf_sha256 in page
    response = partner.post(
        f"/quotes/{quote_id}/accept",
        data={"full_name": "  Pat   Partner ", "consent": "y", "pdf_sha256": quote.pdf_sha256},
        headers={"User-Agent": "QuoteTest/1.0"},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/certificate")
    quote = load(db, quote_id)
    assert quote.status == "accepted" and quote.signer_name == "Pat Partner" and quote.consent
    assert quote.decided_by_id == world["gold_user"].id and quote.decided_at
    assert quote.decided_ip == "203.0.113.7" and quote.decided_user_agent == "QuoteTest/1.0"
    assert quote.decided_pdf_sha256 == hashlib.sha256(quote.pdf).hexdigest()
    certificate = partner.get(f"/quotes/{quote_id}/certificate").get_data(as_text=True)
    assert quote.decided_pdf_sha256 in certificate and "Pat Partner" in certificate
    assert "203.0.113.7" in certificate and "version 1" in certificate
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "quote.accepted"))
    assert event.after["pdf_sha256"] == quote.pdf_sha256 and event.actor_user_id
    assert db.get(DealRegistration, deal.id).status == "won"  # the deal moves forward
    assert [m["To"] for m in mailbox] == [world["manager"].email]  # the vendor owner
    assert db.scalar(
        select(Notification).where(
            Notification.user_id == world["manager"].id, Notification.kind == "quotes.answered"
        )
    )
    with unchanged(db, (Quote, quote_id), counted=[QuoteLine]):
        again = partner.post(
            f"/quotes/{quote_id}/accept",
            data={"full_name": "Pat Partner", "consent": "y", "pdf_sha256": quote.pdf_sha256},
        )
    assert again.status_code == 422 and "cannot be answered again" in again.get_data(as_text=True)


@pytest.mark.parametrize(("hops", "recorded"), [(1, "198.51.100.23"), (0, "10.0.0.5")])
def test_behind_trusted_proxies_the_clients_address_is_recorded(
    client_as, app, db, world, hops, recorded
):
    from portal.app import create_app

    quote_id = sent_quote(client_as, world)
    behind = create_app(
        {
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": app.config["DATABASE_URL"],
            "DATABASE_ROLE": app.config["DATABASE_ROLE"],
            "SMTP_URL": app.config["SMTP_URL"],
            "WTF_CSRF_ENABLED": False,
            "BASE_URL": "http://portal.test",
            "SERVER_NAME": None,
            "REDIS_URL": None,
            "TRUSTED_PROXIES": hops,
        }
    )
    # The same test transaction as every other session of this test.
    behind.extensions["db"].session_factory = app.extensions["db"].session_factory
    try:
        partner = client_as(world["gold_user"], app=behind)
        response = partner.post(
            f"/quotes/{quote_id}/accept",
            data={"full_name": "Pat", "consent": "y", "pdf_sha256": load(db, quote_id).pdf_sha256},
            headers={"X-Forwarded-For": "198.51.100.23"},  # as the load balancer appends it
            environ_base={"REMOTE_ADDR": "10.0.0.5"},  # the load balancer
        )
        assert response.status_code == 302
        assert load(db, quote_id).decided_ip == recorded
    finally:
        behind.extensions["db"].engine.dispose()


def test_trusted_proxies_is_a_small_number_of_hops():
    from portal.config import ConfigurationError, from_environment

    assert from_environment({})["TRUSTED_PROXIES"] == 0
    assert from_environment({"TRUSTED_PROXIES": "2"})["TRUSTED_PROXIES"] == 2
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES"):
        from_environment({"TRUSTED_PROXIES": "yes"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"full_name": "", "consent": "y"}, "This field is required"),
        ({"full_name": "Pat Partner"}, "Tick the box"),
        (
            {"full_name": "Pat Partner", "consent": "y", "pdf_sha256": "0" * 64},
            "The document changed since you opened it",
        ),
    ],
)
def test_acceptance_needs_a_name_consent_and_the_document_shown(
    client_as, db, world, data, message
):
    quote_id = sent_quote(client_as, world)
    partner = client_as(world["gold_user"])
    data = {"pdf_sha256": load(db, quote_id).pdf_sha256, **data}
    with unchanged(db, (Quote, quote_id), counted=[QuoteLine]):
        response = partner.post(f"/quotes/{quote_id}/accept", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert load(db, quote_id).status == "sent"


def test_a_decline_needs_a_reason_and_is_recorded(client_as, db, world):
    quote_id = sent_quote(client_as, world)
    customer_like = client_as(world["gold_admin"])
    with unchanged(db, (Quote, quote_id), counted=[QuoteLine]):
        refused = customer_like.post(f"/quotes/{quote_id}/decline", data={"reason": ""})
    assert refused.status_code == 422
    customer_like.post(f"/quotes/{quote_id}/decline", data={"reason": "Too expensive"})
    quote = load(db, quote_id)
    assert quote.status == "declined" and quote.decline_reason == "Too expensive"
    assert quote.decided_by_id == world["gold_admin"].id and quote.decided_pdf_sha256


def test_a_long_decline_reason_goes_in_the_body_under_a_fixed_title(client_as, db, world, mailbox):
    quote_id = sent_quote(client_as, world)
    mailbox.clear()
    reason = "Too expensive for us.\nSubject: injected\n" + "x" * 3000
    partner = client_as(world["gold_admin"])
    response = partner.post(f"/quotes/{quote_id}/decline", data={"reason": reason})
    assert response.status_code == 302
    quote = load(db, quote_id)
    assert quote.status == "declined"
    title = f"Quote {quote.label} was declined"
    notification = db.scalar(
        select(Notification).where(
            Notification.user_id == world["manager"].id, Notification.kind == "quotes.answered"
        )
    )
    assert notification.title == title and reason.replace("\r", "") in notification.body
    [mail] = mailbox.to(world["manager"].email)  # delivered, one line of subject
    assert mail["Subject"] == title
    assert "Too expensive for us." in mail.get_content() and "x" * 3000 in mail.get_content()


def test_vendor_staff_cannot_answer_a_quote(client_as, db, world):
    quote_id = sent_quote(client_as, world)
    vendor = client_as(world["manager"])
    with unchanged(db, (Quote, quote_id), counted=[QuoteLine]):
        assert vendor.post(f"/quotes/{quote_id}/accept", data={}).status_code == 403


# Versions.


def test_revising_makes_version_two_which_supersedes_version_one_when_sent(
    client_as, db, world, mailbox
):
    quote_id = sent_quote(client_as, world)
    vendor = client_as(world["manager"])
    response = vendor.post(f"/quotes/{quote_id}/revise")
    v2_id = int(response.headers["Location"].split("/")[-1])
    v1, v2 = load(db, quote_id), load(db, v2_id)
    # Version 1 stays live for the recipient while version 2 is only a draft.
    assert (v1.status, v2.status) == ("sent", "draft") and v1.superseded_by_id is None
    assert v1.number == v2.number and (v1.revision, v2.revision) == (1, 2)
    assert [ln.sku for ln in v2.lines] == ["PSU-1"]
    assert v1.pdf is not None and v2.pdf is None
    # A second revision of version 1 is refused: revise the newest.
    again = vendor.post(f"/quotes/{quote_id}/revise", follow_redirects=True)
    assert "Version 2 exists already: revise the newest version" in again.get_data(as_text=True)
    partner = client_as(world["gold_user"])
    with unchanged(db, (Quote, v2_id)):
        assert partner.get(f"/quotes/{v2_id}").status_code == 404  # a draft: the vendor's only
    page = partner.get(f"/quotes/{quote_id}").get_data(as_text=True)
    assert 'data-testid="answer"' in page and 'data-testid="not-current"' not in page
    add(vendor, v2_id, "PSU-1", 4)
    vendor.post(f"/quotes/{v2_id}/send", data={"snapshot": seen(vendor, v2_id)})
    v1, v2 = load(db, quote_id), load(db, v2_id)
    assert v2.status == "sent" and v2.pdf_sha256 != v1.pdf_sha256
    assert v1.status == "superseded" and v1.superseded_by_id == v2.id
    with unchanged(db, v1, v2):
        refused = partner.post(
            f"/quotes/{quote_id}/accept",
            data={"full_name": "Pat", "consent": "y", "pdf_sha256": v1.pdf_sha256},
        )
    assert refused.status_code == 422
    assert "Version 1 was superseded by a revised version" in refused.get_data(as_text=True)
    old = partner.get(f"/quotes/{quote_id}").get_data(as_text=True)
    assert "Open the current version (2)" in old  # every version readable; which is current
    assert partner.get(f"/quotes/{quote_id}/pdf").data == v1.pdf
    numbers = db.scalars(select(Quote.number).where(Quote.number == v1.number)).all()
    assert len(numbers) == 2


def test_a_draft_revision_is_discarded_and_the_live_version_stays(client_as, db, world):
    quote_id = sent_quote(client_as, world)
    vendor = client_as(world["manager"])
    v2_id = int(vendor.post(f"/quotes/{quote_id}/revise").headers["Location"].split("/")[-1])
    assert "Discard this revision" in vendor.get(f"/quotes/{v2_id}").get_data(as_text=True)
    assert "Discard this revision" not in vendor.get(f"/quotes/{quote_id}").get_data(as_text=True)
    response = vendor.post(f"/quotes/{v2_id}/discard")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/{quote_id}")
    db.expire_all()
    assert db.get(Quote, v2_id) is None
    v1 = load(db, quote_id)
    assert v1.status == "sent" and v1.superseded_by_id is None
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "quote.revision_discarded"))
    # Version 1 is the newest again: it can be revised anew, and still accepted.
    again = vendor.post(f"/quotes/{quote_id}/revise")
    assert again.status_code == 302 and again.headers["Location"] != f"/quotes/{quote_id}"
    refused = vendor.post(f"/quotes/{quote_id}/discard", follow_redirects=True)
    assert "Only a revision that is still a draft can be discarded" in refused.get_data(
        as_text=True
    )
    assert load(db, quote_id).status == "sent"
    partner = client_as(world["gold_user"])
    accepted = partner.post(
        f"/quotes/{quote_id}/accept",
        data={"full_name": "Pat Partner", "consent": "y", "pdf_sha256": v1.pdf_sha256},
    )
    assert accepted.status_code == 302 and load(db, quote_id).status == "accepted"


def test_a_revision_cannot_be_sent_once_its_version_was_accepted(client_as, db, world):
    quote_id = sent_quote(client_as, world)
    vendor = client_as(world["manager"])
    v2_id = int(vendor.post(f"/quotes/{quote_id}/revise").headers["Location"].split("/")[-1])
    partner = client_as(world["gold_user"])
    partner.post(
        f"/quotes/{quote_id}/accept",
        data={"full_name": "Pat", "consent": "y", "pdf_sha256": load(db, quote_id).pdf_sha256},
    )
    snapshot = seen(vendor, v2_id)
    with unchanged(db, (Quote, v2_id), (Quote, quote_id)):
        response = vendor.post(
            f"/quotes/{v2_id}/send", data={"snapshot": snapshot}, follow_redirects=True
        )
    assert "Version 1 was accepted meanwhile" in response.get_data(as_text=True)
    assert load(db, v2_id).status == "draft" and load(db, quote_id).status == "accepted"


def test_quote_numbers_are_never_reused(client_as, db, world):
    vendor = client_as(world["manager"])
    first = load(db, new_quote(vendor, world["gold"])).number
    second = load(db, new_quote(vendor, world["gold"])).number
    assert first != second and int(second[-5:]) > int(first[-5:])


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("draft", "revise"),
        ("sent", "send"),
        ("accepted", "revise"),
        ("accepted", "decline"),
        ("declined", "accept"),
        ("expired", "accept"),
        ("superseded", "revise"),
        ("superseded", "decline"),
    ],
)
def test_transitions_not_in_the_state_machine_are_refused(
    client_as, app, db, world, status, action
):
    quote_id = sent_quote(client_as, world)
    db.get(Quote, quote_id).status = status
    db.flush()
    who = world["manager"] if action in ("revise", "send") else world["gold_admin"]
    with acting(app, who) as session:
        quote = session.get(Quote, quote_id)
        call = {
            "revise": lambda: services.revise_quote(quote, actor=principal(who)),
            "send": lambda: services.send_quote(quote, actor=principal(who)),
            "accept": lambda: services.accept_quote(
                quote,
                full_name="Pat",
                consent=True,
                pdf_sha256=quote.pdf_sha256,
                user_agent="",
                actor=principal(who),
            ),
            "decline": lambda: services.decline_quote(
                quote, reason="no", user_agent="", actor=principal(who)
            ),
        }[action]
        with unchanged(db, quote, counted=[Quote, QuoteLine]):
            with pytest.raises(InvalidTransition):
                call()
            session.flush()
        session.rollback()


def test_a_draft_cannot_be_edited_once_sent(client_as, db, world):
    quote_id = sent_quote(client_as, world)
    vendor = client_as(world["manager"])
    with unchanged(db, (Quote, quote_id), counted=[QuoteLine]):
        response = add(vendor, quote_id, "PSU-1", 1)
    assert response.status_code == 422 and "revise it to change it" in response.get_data(
        as_text=True
    )


# Expiry.


def test_expiry_by_tick_with_a_frozen_clock_and_acceptance_refused(client_as, app, db, world):
    with time_machine.travel("2031-03-01 09:00 +0000", tick=False) as clock:
        vendor = client_as(world["manager"])
        quote_id = new_quote(vendor, world["gold"], valid_until="2031-03-10")
        add(vendor, quote_id, "PSU-1", 1)
        vendor.post(f"/quotes/{quote_id}/send", data={"snapshot": seen(vendor, quote_id)})
        partner = client_as(world["gold_user"])
        clock.move_to("2031-03-10 23:00 +0000")
        with app.app_context():
            assert jobs.run_periodic(["expire_quotes"]) == {"expire_quotes": 0}
        clock.move_to("2031-03-11 00:01 +0000")
        partner = client_as(world["gold_user"])  # a new day, a new sign-in
        # Past its date, not yet ticked: acceptance is refused all the same.
        with unchanged(db, (Quote, quote_id)):
            refused = partner.post(
                f"/quotes/{quote_id}/accept",
                data={
                    "full_name": "Pat",
                    "consent": "y",
                    "pdf_sha256": load(db, quote_id).pdf_sha256,
                },
            )
        assert "This quote expired on Mar 10, 2031" in refused.get_data(as_text=True)
        with app.app_context():
            assert jobs.run_periodic(["expire_quotes"]) == {"expire_quotes": 1}
            assert jobs.run_periodic(["expire_quotes"]) == {"expire_quotes": 0}
        assert load(db, quote_id).status == "expired"
        with unchanged(db, (Quote, quote_id)):
            refused = partner.post(
                f"/quotes/{quote_id}/accept",
                data={
                    "full_name": "Pat",
                    "consent": "y",
                    "pdf_sha256": load(db, quote_id).pdf_sha256,
                },
            )
        assert refused.status_code == 422 and "expired on Mar 10, 2031" in refused.get_data(
            as_text=True
        )


# Concurrent edits.


def test_two_people_editing_one_draft_the_second_is_told_what_changed(client_as, db, world):
    first, second = client_as(world["manager"]), client_as(world["sales"])
    quote_id = new_quote(first, world["gold"])

    def snapshot_of(client):
        page = client.get(f"/quotes/{quote_id}/edit").get_data(as_text=True)
        return re.search(r'name="snapshot" type="hidden" value="([^"]+)"', page).group(1)

    seen_first, seen_second = snapshot_of(first), snapshot_of(second)
    data = {"valid_until": IN_30_DAYS, "title": "Branch refresh", "terms": "Net 30."}
    assert (
        first.post(
            f"/quotes/{quote_id}/edit", data={**data, "terms": "Net 45.", "snapshot": seen_first}
        ).status_code
        == 302
    )
    with unchanged(db, (Quote, quote_id)):
        response = second.post(
            f"/quotes/{quote_id}/edit", data={**data, "terms": "Net 60.", "snapshot": seen_second}
        )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else changed this" in page and "Net 45." in page and "Net 60." in page
    assert load(db, quote_id).terms == "Net 45."


def test_two_revisions_racing_for_the_same_version_are_a_conflict(
    client_as, app, db, world, monkeypatch
):
    from partners.quotes import queries
    from portal.errors import Conflict

    quote_id = sent_quote(client_as, world)
    v1 = load(db, quote_id)
    # The other revision commits version 2 after this one read the newest version (1).
    db.add(
        Quote(
            org_id=v1.org_id,
            number=v1.number,
            revision=2,
            status="draft",
            currency="EUR",
            valid_until=v1.valid_until,
        )
    )
    db.flush()
    monkeypatch.setattr(queries, "latest_revision", lambda number: 1)
    with acting(app, world["sales"]) as session:
        quote = session.get(Quote, quote_id)
        with unchanged(db, quote, counted=[Quote, QuoteLine]):
            with pytest.raises(Conflict, match="Someone else changed this quote meanwhile"):
                services.revise_quote(quote, actor=principal(world["sales"]))
            session.flush()
        session.rollback()


def test_actions_from_a_stale_page_are_refused_as_changed_by_someone_else(client_as, db, world):
    first, second = client_as(world["admin"]), client_as(world["manager"])
    quote_id = new_quote(first, world["gold"])
    add(first, quote_id, "PSU-1", 1, discount="30")  # a vendor admin's own: approved as given
    stale = seen(first, quote_id)
    # Meanwhile a colleague adds a line above the limit (same total-changing or not: any change).
    assert add(second, quote_id, "PSU-1", 1, discount="25").status_code == 302
    line = load(db, quote_id).lines[0]
    message = "Someone else changed this quote since your page showed it"
    with unchanged(db, (Quote, quote_id), line, counted=[QuoteLine]):
        for path, data in [
            ("send", {}),
            ("approve-discounts", {}),
            ("remove-line", {"line_id": line.id}),
        ]:
            response = first.post(
                f"/quotes/{quote_id}/{path}",
                data={**data, "snapshot": stale},
                follow_redirects=True,
            )
            assert message in response.get_data(as_text=True), path
        response = first.post(
            f"/quotes/{quote_id}/lines", data={"sku": "PSU-1", "quantity": 1, "snapshot": stale}
        )
    assert response.status_code == 409 and message in response.get_data(as_text=True)
    quote = load(db, quote_id)
    assert quote.status == "draft" and len(quote.lines) == 2 and quote.lines[1].needs_approval
    # Reloaded, the page carries the new state: now it goes through.
    first.post(f"/quotes/{quote_id}/approve-discounts", data={"snapshot": seen(first, quote_id)})
    first.post(f"/quotes/{quote_id}/send", data={"snapshot": seen(first, quote_id)})
    assert load(db, quote_id).status == "sent"


def test_removing_and_re_adding_the_same_line_still_moves_the_version(client_as, db, world):
    vendor = client_as(world["manager"])
    quote_id = new_quote(vendor, world["gold"])
    add(vendor, quote_id, "PSU-1", 1)
    stale, version = seen(vendor, quote_id), load(db, quote_id).version
    line = load(db, quote_id).lines[0]
    vendor.post(
        f"/quotes/{quote_id}/remove-line",
        data={"line_id": line.id, "snapshot": seen(vendor, quote_id)},
    )
    add(vendor, quote_id, "PSU-1", 1)  # the same total as before
    assert load(db, quote_id).version > version + 1
    response = vendor.post(
        f"/quotes/{quote_id}/send", data={"snapshot": stale}, follow_redirects=True
    )
    assert "Someone else changed this quote since your page showed it" in response.get_data(
        as_text=True
    )
    assert load(db, quote_id).status == "draft"


# Requests from deal registrations.


def test_a_partner_requests_a_quote_on_an_approved_registration(client_as, db, world):
    deal = factories.make_deal(
        db, world["gold"], "Beta Corp", "submitted", number="DR-QT-2", value=D("5"), products=["x"]
    )
    partner = client_as(world["gold_user"])
    response = partner.post(
        f"/quotes/request/{deal.id}", data={"message": "50 switches"}, follow_redirects=True
    )
    assert "once the registration is approved" in response.get_data(as_text=True)
    deal.status = "approved"
    db.flush()
    partner.post(f"/quotes/request/{deal.id}", data={"message": "50 switches"})
    request = db.scalar(select(QuoteRequest))
    assert request.status == "open" and request.org_id == world["gold"].id
    other_admin = client_as(world["other_admin"])
    with unchanged(db, deal, request, counted=[QuoteRequest]):
        assert other_admin.post(f"/quotes/request/{deal.id}", data={}).status_code == 404
    vendor = client_as(world["sales"])
    queue = vendor.get("/quotes/requests").get_data(as_text=True)
    assert "DR-QT-2" in queue and "50 switches" in queue
    form = vendor.get(f"/quotes/new?request={request.id}").get_data(as_text=True)
    assert 'value="DR-QT-2"' in form
    quote_id = new_quote(vendor, world["gold"], deal_number="DR-QT-2", request_id=request.id)
    db.expire_all()
    assert request.status == "quoted" and request.quote_id == quote_id
    assert load(db, quote_id).deal_id == deal.id
    # A quote on a registration goes to its partner only.
    with unchanged(db, request, counted=[Quote]):
        wrong = vendor.post(
            "/quotes/new",
            data={
                "recipient": world["other"].id,
                "currency": "EUR",
                "valid_until": IN_30_DAYS,
                "deal_number": "DR-QT-2",
            },
        )
    assert wrong.status_code == 422 and "goes to the partner that registered it" in wrong.get_data(
        as_text=True
    )


def _approved_deal(db, world, number: str, org=None) -> DealRegistration:
    return factories.make_deal(
        db, org or world["gold"], f"Customer of {number}", "approved", number=number, value=D("5")
    )


def test_vendor_staff_decline_a_request_and_the_partner_may_ask_again(
    client_as, db, world, mailbox
):
    deal = _approved_deal(db, world, "DR-QT-3")
    partner = client_as(world["gold_user"])
    partner.post(f"/quotes/request/{deal.id}", data={"message": "Switches, please"})
    request = db.scalar(select(QuoteRequest).where(QuoteRequest.deal_id == deal.id))
    vendor = client_as(world["sales"])
    assert 'data-testid="close-request"' in vendor.get("/quotes/requests").get_data(as_text=True)
    with unchanged(db, request):
        assert partner.post(f"/quotes/requests/{request.id}/close", data={}).status_code == 403
    refused = vendor.post(
        f"/quotes/requests/{request.id}/close", data={"reason": ""}, follow_redirects=True
    )
    assert "Say why the request is declined" in refused.get_data(as_text=True)
    mailbox.clear()
    response = vendor.post(
        f"/quotes/requests/{request.id}/close",
        data={"reason": "The customer buys direct.\nAsk your channel manager."},
    )
    assert response.status_code == 302
    db.expire_all()
    assert request.status == "closed" and request.closed_at
    assert request.close_reason.startswith("The customer buys direct.")
    [mail] = mailbox.to(world["gold_user"].email)
    assert mail["Subject"] == "Your quote request on DR-QT-3 was declined"
    assert "The customer buys direct." in mail.get_content()
    assert "Switches, please" not in vendor.get("/quotes/requests").get_data(as_text=True)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "quote.request_closed"))
    assert event.actor_user_id == world["sales"].id
    again = vendor.post(
        f"/quotes/requests/{request.id}/close", data={"reason": "x"}, follow_redirects=True
    )
    assert "This quote request is closed already" in again.get_data(as_text=True)
    # A closed request no longer blocks the partner, nor can a quote be written from it.
    partner.post(f"/quotes/request/{deal.id}", data={"message": "Again, please"})
    assert (
        db.scalar(
            select(func.count(QuoteRequest.id)).where(
                QuoteRequest.deal_id == deal.id, QuoteRequest.status == "open"
            )
        )
        == 1
    )
    stale = vendor.post(
        "/quotes/new",
        data={
            "recipient": world["gold"].id,
            "currency": "EUR",
            "valid_until": IN_30_DAYS,
            "deal_number": "DR-QT-3",
            "request_id": request.id,
        },
    )
    assert stale.status_code == 422
    assert "This quote request is closed already" in stale.get_data(as_text=True)


def test_a_quote_from_a_request_is_on_the_requests_registration(client_as, db, world):
    deal = _approved_deal(db, world, "DR-QT-4")
    other_deal = _approved_deal(db, world, "DR-QT-5")
    partner = client_as(world["gold_user"])
    partner.post(f"/quotes/request/{deal.id}", data={"message": "Switches"})
    request = db.scalar(select(QuoteRequest).where(QuoteRequest.deal_id == deal.id))
    vendor = client_as(world["sales"])
    with unchanged(db, request, counted=[Quote]):
        wrong = vendor.post(
            "/quotes/new",
            data={
                "recipient": world["gold"].id,
                "currency": "EUR",
                "valid_until": IN_30_DAYS,
                "deal_number": other_deal.number,
                "request_id": request.id,
            },
        )
    assert wrong.status_code == 422
    assert "The request is for another registration" in wrong.get_data(as_text=True)
    db.expire_all()
    assert request.status == "open" and not db.scalars(select(Quote)).all()
    quote_id = new_quote(vendor, world["gold"], deal_number=deal.number, request_id=request.id)
    db.expire_all()
    assert request.status == "quoted" and request.quote_id == quote_id
    with unchanged(db, request, counted=[Quote]):
        twice = vendor.post(
            "/quotes/new",
            data={
                "recipient": world["gold"].id,
                "currency": "EUR",
                "valid_until": IN_30_DAYS,
                "request_id": request.id,
            },
        )
    assert twice.status_code == 422 and "This quote request is quoted already" in twice.get_data(
        as_text=True
    )


# Who sees what.


def test_recipients_see_only_their_own_sent_quotes(client_as, db, world):
    to_gold = sent_quote(client_as, world)
    to_customer = sent_quote(client_as, world, recipient=world["customer"])
    vendor = client_as(world["manager"])
    draft = new_quote(vendor, world["gold"])
    gold = client_as(world["gold_user"])
    assert gold.get(f"/quotes/{to_gold}").status_code == 200
    # The customer the partner manages is another organisation: its quote is not the partner's.
    with unchanged(db, (Quote, to_customer), (Quote, draft)):
        for quote_id in (to_customer, draft):
            for path in ("", "/pdf", "/certificate"):
                assert gold.get(f"/quotes/{quote_id}{path}").status_code == 404
    other = client_as(world["other_admin"])
    with unchanged(db, (Quote, to_gold)):
        assert other.get(f"/quotes/{to_gold}").status_code == 404
        assert other.post(f"/quotes/{to_gold}/accept", data={}).status_code == 404
    customer = client_as(world["customer_user"])
    assert customer.get(f"/quotes/{to_customer}").status_code == 200
    assert customer.get(f"/quotes/{to_gold}").status_code == 404
    listing = customer.get("/quotes/").get_data(as_text=True)
    assert load(db, to_customer).number in listing and load(db, to_gold).number not in listing
    support = client_as(world["support"])
    assert support.get(f"/quotes/{draft}").status_code == 200  # vendor staff read every quote
    snapshot = seen(support, draft)
    with unchanged(db, (Quote, draft)):
        refused = support.post(f"/quotes/{draft}/send", data={"snapshot": snapshot})
    assert refused.status_code == 403


def test_the_quote_list_and_the_request_queue_are_keyset_paged(client_as, db, world):
    from html import unescape

    for n in range(30):
        db.add(
            Quote(
                org_id=world["gold"].id,
                number=f"Q-PG-{n:05d}",
                status="draft" if n % 10 == 9 else "sent",
                title=f"Paged quote {n:02d}",
                currency="EUR",
                valid_until=date.today(),
            )
        )
        deal = _approved_deal(db, world, f"DR-PG-{n:02d}")
        db.add(QuoteRequest(org_id=world["gold"].id, deal_id=deal.id, message=f"Ask {n:02d}"))
    db.flush()

    def walk(client, url, marker):
        seen_titles, pages = [], 0
        while url:
            page = client.get(url).get_data(as_text=True)
            assert "Page 1 of" not in page  # no COUNT behind it
            seen_titles += re.findall(marker, page)
            found = re.search(r'rel="next" href="([^"]+)"', page)
            url, pages = unescape(found.group(1)) if found else None, pages + 1
        return seen_titles, pages

    vendor = client_as(world["manager"])
    titles, pages = walk(vendor, "/quotes/?q=Paged", r"Paged quote (\d\d)")
    assert pages == 2 and titles == [f"{n:02d}" for n in range(29, -1, -1)]  # newest first
    partner = client_as(world["gold_user"])  # its own sent versions, drafts never
    titles, pages = walk(partner, "/quotes/?q=Paged", r"Paged quote (\d\d)")
    assert pages == 2 and titles == [f"{n:02d}" for n in range(29, -1, -1) if n % 10 != 9]
    asks, pages = walk(vendor, "/quotes/requests", r"Ask (\d\d)")
    assert pages == 2 and asks == [f"{n:02d}" for n in range(30)]  # the longest-waiting first
    with unchanged(db):
        assert vendor.get("/quotes/?after=not-a-cursor").status_code == 422
        assert vendor.get("/quotes/requests?after=bm9wZQ").status_code == 422


def test_services_refuse_the_wrong_actor(client_as, app, db, world):
    quote_id = sent_quote(client_as, world)
    with acting(app, world["other_admin"]) as session:
        quote = session.get(Quote, quote_id)
        assert quote is None  # the wall: not even loaded
    with acting(app, world["support"]) as session:
        quote = session.get(Quote, quote_id)
        with unchanged(db, quote, counted=[Quote]):
            with pytest.raises(Forbidden):
                services.revise_quote(quote, actor=principal(world["support"]))
            session.flush()
        session.rollback()


def test_a_change_racing_another_on_the_same_quote_is_a_conflict_not_an_error(
    client_as, app, db, world
):
    from sqlalchemy import update

    from portal.errors import Conflict

    vendor = client_as(world["manager"])
    quote_id = new_quote(vendor, world["gold"])
    with acting(app, world["sales"]) as session:
        quote = session.get(Quote, quote_id)
        quote.lines  # loaded as this person saw it  # noqa: B018
        # Meanwhile someone else saves the same quote (its version moves on).
        db.execute(update(Quote).where(Quote.id == quote_id).values(version=Quote.version + 1))
        # (Not the quote's own row: the refused flush rolls back the shared connection's
        # savepoint, this test's own version bump with it.)
        with (
            unchanged(db, counted=[QuoteLine]),
            pytest.raises(Conflict, match="Someone else changed this quote meanwhile"),
        ):
            services.add_line(quote, sku="PSU-1", quantity=1, actor=principal(world["sales"]))
        session.rollback()
    assert load(db, quote_id).lines == []
