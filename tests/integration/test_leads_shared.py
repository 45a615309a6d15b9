"""Leads partners share: a partner (reseller, distributor or supplier) submits; vendor staff approve
it into the pipeline, credited to the partner, or reject it with a reason; the partner sees the
outcome and only its own submissions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from partners.leads.models import Lead, SharedLead
from portal.audit import AuditEvent
from portal.notify.models import Notification
from tests.factories import make_shared_lead
from tests.unchanged import unchanged

FORM = {
    "company": "Innsbruck Alpine Hotels",
    "contact_name": "Sophie Huber",
    "email": "s.huber@iah.test",
    "country": "AT",
    "product_line": "networking",
    "notes": "Renovating all 12 hotels",
}


@pytest.fixture
def people(vendor, org_factory, user_factory):
    class People:
        manager = user_factory(vendor, "channel_manager")
        sales = user_factory(vendor, "sales_rep")
        reseller = org_factory("reseller", name="Sharing Reseller")
        supplier = org_factory("supplier", name="Sharing Supplier")
        other = org_factory("reseller", name="Other Reseller")

    People.partner = user_factory(People.reseller, "partner_user")
    People.supplier_admin = user_factory(People.supplier, "partner_admin")
    People.other_admin = user_factory(People.other, "partner_admin")
    People.customer = user_factory(org_factory("customer"), "customer_admin")
    return People


def test_partner_shares_and_vendor_approves_into_the_pipeline(client_as, db, people, mailbox):
    partner = client_as(people.partner)
    response = partner.post("/leads/shared/new", data=FORM, follow_redirects=True)
    assert "is shared with the vendor for review" in response.get_data(as_text=True)
    shared = db.scalar(select(SharedLead).where(SharedLead.company == FORM["company"]))
    assert (shared.status, shared.org_id, shared.submitted_by_id) == (
        "submitted",
        people.reseller.id,
        people.partner.id,
    )
    assert (
        db.scalar(select(Notification.kind).where(Notification.user_id == people.manager.id))
        == "leads.shared_submitted"
    )

    manager = client_as(people.manager)
    queue = manager.get("/leads/shared/").get_data(as_text=True)
    assert FORM["company"] in queue and "Sharing Reseller" in queue
    response = manager.post(f"/leads/shared/{shared.id}/approve", data={"note": "Thanks!"})
    assert response.status_code == 302
    db.expire_all()
    lead = db.get(Lead, shared.lead_id)
    assert (lead.company, lead.credited_to_org_id, lead.source, lead.status) == (
        FORM["company"],
        people.reseller.id,
        "partner",
        "new",
    )
    assert (shared.status, shared.decided_by_id, shared.decision_reason) == (
        "approved",
        people.manager.id,
        "Thanks!",
    )
    assert "Credited to" in manager.get(f"/leads/{lead.id}").get_data(as_text=True)
    page = partner.get(f"/leads/shared/{shared.id}").get_data(as_text=True)
    assert "Approved on" in page and "credited to Sharing Reseller" in page
    assert (
        "leads.shared_decided"
        in db.scalars(
            select(Notification.kind).where(Notification.user_id == people.partner.id)
        ).all()
    )
    assert mailbox.to(people.partner.email)
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_type == "SharedLead", AuditEvent.object_id == shared.id
        )
    ).all()
    assert actions == ["shared_lead.submitted", "shared_lead.approved"]
    # The partner is credited, but the lead itself is the vendor's: not visible to the partner
    # until the vendor offers it.
    with unchanged(db, lead, shared):
        assert partner.get(f"/leads/{lead.id}").status_code == 404


def test_rejection_needs_a_reason_and_the_partner_reads_it(client_as, db, people):
    shared = make_shared_lead(
        db, people.supplier, "Oslo Fish Export", submitted_by_id=people.supplier_admin.id
    )
    manager = client_as(people.manager)
    with unchanged(db, shared, counted=[Lead]):
        response = manager.post(f"/leads/shared/{shared.id}/reject", data={"reason": " "})
    assert response.status_code == 422
    db.expire_all()
    assert shared.status == "submitted"
    assert (
        manager.post(
            f"/leads/shared/{shared.id}/reject", data={"reason": "Already a customer of ours"}
        ).status_code
        == 302
    )
    page = client_as(people.supplier_admin).get(f"/leads/shared/{shared.id}")
    assert "Rejected on" in page.get_data(as_text=True)
    assert "Already a customer of ours" in page.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Lead)) == 0


@pytest.mark.parametrize("status", ["approved", "rejected"])
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_decided_shared_lead_cannot_be_decided_again(client_as, db, people, status, decision):
    shared = make_shared_lead(db, people.reseller, "Decided Co", status, decision_reason="first")
    manager = client_as(people.manager)
    with unchanged(db, shared, counted=[Lead]):
        response = manager.post(
            f"/leads/shared/{shared.id}/{decision}", data={"reason": "again", "note": "again"}
        )
    assert response.status_code == 409
    assert f"is {status} already" in response.get_data(as_text=True)
    db.expire_all()
    assert (shared.status, shared.decision_reason) == (status, "first")
    assert db.scalar(select(func.count()).select_from(Lead)) == 0


def test_who_may_share_and_who_may_decide(client_as, db, people):
    assert (
        client_as(people.supplier_admin).post("/leads/shared/new", data=FORM).status_code == 302
    )  # suppliers share leads too
    customer = client_as(people.customer)
    with unchanged(db, counted=[SharedLead]):
        assert customer.get("/leads/shared/new").status_code == 403
        assert client_as(people.manager).get("/leads/shared/new").status_code == 403
    shared = make_shared_lead(db, people.reseller, "Not Yours To Decide")
    sales = client_as(people.sales)  # sees leads, does not review shared ones
    assert sales.get(f"/leads/shared/{shared.id}").status_code == 200
    with unchanged(db, shared, counted=[Lead]):
        assert sales.post(f"/leads/shared/{shared.id}/approve").status_code == 403
    partner = client_as(people.partner)
    with unchanged(db, shared, counted=[Lead]):
        assert partner.post(f"/leads/shared/{shared.id}/approve").status_code == 403


def test_bad_shared_lead_input_is_422_and_writes_nothing(client_as, db, people):
    partner = client_as(people.partner)
    for change in ({"company": ""}, {"country": "XX"}, {"email": "nope"}):
        with unchanged(db, counted=[SharedLead]):
            assert partner.post("/leads/shared/new", data={**FORM, **change}).status_code == 422
    assert db.scalar(select(func.count()).select_from(SharedLead)) == 0


def test_a_partner_sees_only_its_own_submissions(client_as, db, people):
    mine = make_shared_lead(db, people.reseller, "My Own Find")
    theirs = make_shared_lead(db, people.other, "Their Secret Find")
    partner = client_as(people.partner)
    listing = partner.get("/leads/shared/").get_data(as_text=True)
    assert "My Own Find" in listing and "Their Secret Find" not in listing
    assert partner.get(f"/leads/shared/{mine.id}").status_code == 200
    with unchanged(db, theirs):
        assert partner.get(f"/leads/shared/{theirs.id}").status_code == 404
        assert (
            partner.post(f"/leads/shared/{theirs.id}/reject", data={"reason": "x"}).status_code
            == 403
        )
    # Vendor staff see all; the review queue shows submitted ones, oldest first.
    make_shared_lead(db, people.other, "Already Approved Find", "approved")
    queue = client_as(people.manager).get("/leads/shared/").get_data(as_text=True)
    assert queue.index("My Own Find") < queue.index("Their Secret Find")
    assert "Already Approved Find" not in queue
    everything = client_as(people.manager).get("/leads/shared/?status=").get_data(as_text=True)
    assert "Already Approved Find" in everything
