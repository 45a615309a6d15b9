"""Requests for quotation: vendor sourcing staff ask chosen suppliers, each supplier answers with
its own offer (lines, a PDF, or both), vendor staff accept or decline it; every step audited and
the other side told; a supplier sees only what it was asked and its own offer."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from partners.sourcing.models import Rfq, SupplierOffer, SupplierOfferLine
from portal.audit import AuditEvent
from portal.notify.models import Notification
from tests.integration.race_support import written_first
from tests.unchanged import unchanged

PDF = b"%PDF-1.4\n% an offer\n"
TODAY = date(2026, 12, 3)


@pytest.fixture
def people(vendor, org_factory, user_factory):
    class People:
        buyer = user_factory(vendor, "sales_rep")
        support = user_factory(vendor, "support_agent")
        evergreen = org_factory("supplier", name="Evergreen Test Parts")
        summit = org_factory("supplier", name="Summit Test Metals")
        reseller = org_factory("reseller", name="Not A Supplier Ltd")

    People.evergreen_admin = user_factory(People.evergreen, "partner_admin")
    People.summit_admin = user_factory(People.summit, "partner_admin")
    People.reseller_admin = user_factory(People.reseller, "partner_admin")
    return People


def _new_rfq(client, people, **changes) -> object:
    form = {
        "title": "Power supplies for the edge router",
        "needs": "1,000 units, 240 W",
        "respond_by": (TODAY + timedelta(days=10)).isoformat(),
        "supplier_ids": [people.evergreen.id, people.summit.id],
    } | changes
    return client.post("/sourcing/new", data=form)


def _offer_of(db, rfq, org) -> SupplierOffer:
    return db.scalar(
        select(SupplierOffer).where(SupplierOffer.rfq_id == rfq.id, SupplierOffer.org_id == org.id)
    )


@time_machine.travel("2026-12-03 09:00:00+00:00", tick=False)
def test_rfq_offer_and_acceptance(client_as, db, people):
    buyer = client_as(people.buyer)
    response = _new_rfq(buyer, people)
    assert response.status_code == 302
    rfq = db.scalar(select(Rfq).where(Rfq.title == "Power supplies for the edge router"))
    assert rfq.number == f"RFQ-2026-{rfq.id:05d}" and rfq.status == "open"
    offers = db.scalars(select(SupplierOffer).where(SupplierOffer.rfq_id == rfq.id)).all()
    assert {o.org_id for o in offers} == {people.evergreen.id, people.summit.id}
    assert {o.status for o in offers} == {"requested"}
    told = db.scalars(
        select(Notification.user_id).where(Notification.kind == "sourcing.requested")
    ).all()
    assert set(told) == {people.evergreen_admin.id, people.summit_admin.id}

    supplier = client_as(people.evergreen_admin)
    assert rfq.number in supplier.get("/sourcing/offers").get_data(as_text=True)
    offer = _offer_of(db, rfq, people.evergreen)
    response = supplier.post(
        f"/sourcing/offers/{offer.id}",
        data={
            "currency": "eur",
            "lines-0-item": "240 W power supply",
            "lines-0-quantity": "1000",
            "lines-0-unit_price": "41.50",
            "lines-1-item": "Freight",
            "lines-1-quantity": "1",
            "lines-1-unit_price": "900",
            "note": "Lead time six weeks",
            "pdf": (io.BytesIO(PDF), "offer.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.expire_all()
    assert (offer.status, offer.currency, offer.total, offer.pdf_name) == (
        "submitted",
        "EUR",
        Decimal("42400.00"),
        "offer.pdf",
    )
    assert offer.submitted_by_id == people.evergreen_admin.id
    assert [line.amount for line in offer.lines] == [Decimal("41500.00"), Decimal("900.00")]
    assert db.scalar(
        select(Notification.id).where(
            Notification.kind == "sourcing.offered", Notification.user_id == people.buyer.id
        )
    )
    download = supplier.get(f"/sourcing/offers/{offer.id}/document")
    assert download.status_code == 200 and download.data == PDF
    assert "attachment" in download.headers["Content-Disposition"]

    page = buyer.get(f"/sourcing/{rfq.id}").get_data(as_text=True)
    assert "Evergreen Test Parts" in page and "240 W power supply" in page
    assert buyer.get(f"/sourcing/offers/{offer.id}/document").data == PDF
    response = buyer.post(f"/sourcing/offers/{offer.id}/accept", data={"reason": ""})
    assert response.status_code == 302
    db.expire_all()
    assert (offer.status, offer.decided_by_id) == ("accepted", people.buyer.id)
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id.in_([rfq.id, offer.id]))
    ).all()
    assert {"rfq.created", "supplier_offer.submitted", "supplier_offer.accepted"} <= set(actions)
    decided = db.scalar(
        select(Notification).where(
            Notification.kind == "sourcing.decided",
            Notification.user_id == people.evergreen_admin.id,
        )
    )
    assert "accepted" in decided.title

    # Closing lapses the offer not sent; the supplier is told.
    assert buyer.post(f"/sourcing/{rfq.id}/close").status_code == 302
    db.expire_all()
    assert rfq.status == "closed"
    assert _offer_of(db, rfq, people.summit).status == "lapsed"


@time_machine.travel("2026-12-03 09:00:00+00:00", tick=False)
def test_declining_needs_a_reason_and_the_supplier_reads_it(client_as, db, people):
    buyer = client_as(people.buyer)
    _new_rfq(buyer, people)
    rfq = db.scalar(select(Rfq))
    offer = _offer_of(db, rfq, people.summit)
    client_as(people.summit_admin).post(
        f"/sourcing/offers/{offer.id}",
        data={"currency": "EUR", "pdf": (io.BytesIO(PDF), "summit.pdf")},
        content_type="multipart/form-data",
    )
    db.expire_all()
    assert offer.status == "submitted" and offer.total == 0 and offer.lines == []
    with unchanged(db, offer):
        response = buyer.post(
            f"/sourcing/offers/{offer.id}/decline", data={"reason": ""}, follow_redirects=True
        )
        assert "Say why the offer is declined." in response.get_data(as_text=True)
    buyer.post(f"/sourcing/offers/{offer.id}/decline", data={"reason": "Too late for us"})
    db.expire_all()
    assert (offer.status, offer.decision_reason) == ("declined", "Too late for us")
    page = client_as(people.summit_admin).get(f"/sourcing/offers/{offer.id}")
    assert "Too late for us" in page.get_data(as_text=True)


@time_machine.travel("2026-12-03 09:00:00+00:00", tick=False)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"currency": "EUR"}, "Give at least one line, or upload your offer as a PDF."),
        (
            {"currency": "EUR", "lines-0-item": "Bolts", "lines-0-quantity": "many"},
            "Line 1: give a description, a whole quantity and a unit price.",
        ),
        (
            {
                "currency": "EUR",
                "lines-0-item": "Bolts",
                "lines-0-quantity": "3",
                "lines-0-unit_price": "-1",
            },
            "Line 1: give a description, a whole quantity and a unit price.",
        ),
        (
            {"currency": "EUR", "pdf": (b"not a pdf at all", "offer.pdf")},
            "offer.pdf is not the kind of file its name says.",
        ),
        (
            {"currency": "EUR", "pdf": (b"hello", "offer.txt")},
            "Upload the offer as a PDF.",
        ),
        ({"currency": "E1X"}, "Give a three-letter currency code, such as EUR."),
    ],
)
def test_a_bad_offer_is_refused_whole(client_as, db, people, data, message):
    _new_rfq(client_as(people.buyer), people)
    offer = _offer_of(db, db.scalar(select(Rfq)), people.evergreen)
    if "pdf" in data:
        content, name = data["pdf"]
        data = data | {"pdf": (io.BytesIO(content), name)}
    supplier = client_as(people.evergreen_admin)
    with unchanged(db, offer, counted=[SupplierOfferLine]):
        response = supplier.post(
            f"/sourcing/offers/{offer.id}", data=data, content_type="multipart/form-data"
        )
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)


def test_rfq_form_refuses_past_dates_and_non_suppliers(client_as, db, people):
    buyer = client_as(people.buyer)
    with unchanged(db, counted=[Rfq, SupplierOffer]):
        past = _new_rfq(buyer, people, respond_by="2020-01-01")
        assert past.status_code == 422
        assert "Choose a respond-by date from today on." in past.get_data(as_text=True)
        # A reseller is not among the choices, so the form refuses it before the service does.
        wrong = _new_rfq(buyer, people, supplier_ids=[people.reseller.id])
        assert wrong.status_code == 422


@time_machine.travel("2026-12-03 09:00:00+00:00", tick=False)
def test_a_supplier_sees_only_what_it_was_asked(client_as, db, people, org_factory, user_factory):
    buyer = client_as(people.buyer)
    _new_rfq(buyer, people, supplier_ids=[people.summit.id], title="Only for Summit")
    rfq = db.scalar(select(Rfq))
    summit_offer = _offer_of(db, rfq, people.summit)
    evergreen = client_as(people.evergreen_admin)
    assert "Only for Summit" not in evergreen.get("/sourcing/offers").get_data(as_text=True)
    assert evergreen.get(f"/sourcing/offers/{summit_offer.id}").status_code == 404
    assert evergreen.get(f"/sourcing/offers/{summit_offer.id}/document").status_code == 404
    # Suppliers do not run RFQs, and a reseller answers none.
    assert evergreen.get(f"/sourcing/{rfq.id}").status_code == 403
    assert evergreen.get("/sourcing/new").status_code == 403
    reseller = client_as(people.reseller_admin)
    assert reseller.get("/sourcing/offers").status_code == 403
    # Vendor staff without sourcing rights read no RFQ list either.
    assert client_as(people.support).get("/sourcing/").status_code == 403


@time_machine.travel("2026-12-03 09:00:00+00:00", tick=False)
def test_no_offer_after_the_respond_by_date_or_twice(client_as, db, people):
    _new_rfq(client_as(people.buyer), people, respond_by="2026-12-05")
    offer = _offer_of(db, db.scalar(select(Rfq)), people.evergreen)
    supplier = client_as(people.evergreen_admin)
    data = {"currency": "EUR", "lines-0-item": "A", "lines-0-quantity": "1"}
    data["lines-0-unit_price"] = "10"
    with time_machine.travel("2026-12-06 08:00:00+00:00", tick=False):
        late_supplier = client_as(people.evergreen_admin)  # the earlier sign-in has timed out
        with unchanged(db, offer, counted=[SupplierOfferLine]):
            late = late_supplier.post(f"/sourcing/offers/{offer.id}", data=data)
            assert "The respond-by date of this request has passed." in late.get_data(as_text=True)
    assert supplier.post(f"/sourcing/offers/{offer.id}", data=data).status_code == 302
    with unchanged(db, offer, counted=[SupplierOfferLine]):
        again = supplier.post(f"/sourcing/offers/{offer.id}", data=data)
        assert "Your offer is sent already." in again.get_data(as_text=True)
    db.expire_all()
    assert len(offer.lines) == 1


@time_machine.travel("2026-12-03 09:00:00+00:00", tick=False)
def test_home_pages_show_what_waits(client_as, db, people):
    buyer = client_as(people.buyer)
    _new_rfq(buyer, people)
    rfq = db.scalar(select(Rfq))
    home = client_as(people.summit_admin).get("/home").get_data(as_text=True)
    assert 'data-testid="count-sourcing_to_answer"' in home and rfq.number in home
    offer = _offer_of(db, rfq, people.summit)
    client_as(people.summit_admin).post(
        f"/sourcing/offers/{offer.id}",
        data={"currency": "EUR", "lines-0-item": "X", "lines-0-quantity": "2"}
        | {"lines-0-unit_price": "5"},
    )
    vendor_home = buyer.get("/home").get_data(as_text=True)
    assert "Supplier offers to decide" in vendor_home and "Summit Test Metals" in vendor_home


@time_machine.travel("2026-12-03 09:00:00+00:00", tick=False)
def test_a_decision_racing_another_loses_with_a_clear_message(app, client_as, db, people):
    """Two buyers decide one offer at once: the second one's conditional move finds the offer
    decided already and is told so; it writes nothing (no second audit event, no notice)."""
    buyer = client_as(people.buyer)
    _new_rfq(buyer, people)
    offer = _offer_of(db, db.scalar(select(Rfq)), people.evergreen)
    client_as(people.evergreen_admin).post(
        f"/sourcing/offers/{offer.id}",
        data={"currency": "EUR", "lines-0-item": "A", "lines-0-quantity": "1"}
        | {"lines-0-unit_price": "3"},
    )
    meanwhile = f"UPDATE supplier_offers SET status = 'declined' WHERE id = {offer.id}"
    with written_first(app, "UPDATE supplier_offers SET", meanwhile) as sneaked:
        response = buyer.post(
            f"/sourcing/offers/{offer.id}/accept", data={"reason": ""}, follow_redirects=True
        )
    assert sneaked
    assert "Someone decided this offer a moment ago." in response.get_data(as_text=True)
    accepted = db.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == "supplier_offer.accepted", AuditEvent.object_id == offer.id
        )
    )
    assert accepted is None
