"""The distributor's first approval (issue 15, item 3's "first approval"): where the programme
asks for it, a reseller attached to a distributor submits to the distributor first; the
distributor's admins send the registration on to the vendor (conflicts are looked for then) or
reject it with a reason. Through the workflow (``distributor_review``), pages and API alike;
nobody else gives that approval."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from partners.deals.models import DealConflict, DealProgramme, DealRegistration
from portal.audit import AuditEvent
from portal.notify.models import Notification
from tests.integration import test_deals as deals
from tests.unchanged import unchanged


@pytest.fixture
def two_tier(db, vendor, org_factory, user_factory):
    """Fjord (a distributor) with its reseller Harbour, a reseller of its own (Solo), another
    distributor, and the channel manager."""
    fjord = org_factory("distributor", name="Fjord Distribution")
    harbour = org_factory("reseller", name="Harbour Resale", managed_by_id=fjord.id)
    solo = org_factory("reseller", name="Solo Resale")
    other = org_factory("distributor", name="Other Distribution")
    return {
        "fjord": fjord,
        "harbour": harbour,
        "solo": solo,
        "fjord_admin": user_factory(fjord, "partner_admin"),
        "fjord_user": user_factory(fjord, "partner_user"),
        "harbour_admin": user_factory(harbour, "partner_admin"),
        "solo_admin": user_factory(solo, "partner_admin"),
        "other_admin": user_factory(other, "partner_admin"),
        "manager": user_factory(vendor, "channel_manager"),
    }


def first_approval(client_as, two_tier, on: bool = True) -> None:
    manager = client_as(two_tier["manager"])
    data = {"distributor_first_approval": "y"} if on else {}
    assert manager.post("/deals/programme", data=data).status_code == 302


def register(app, two_tier, who: str, **fields) -> int:
    return deals.register(app, two_tier, who, **fields)


def test_off_by_default_a_resellers_registration_goes_straight_to_the_vendor(
    app, client_as, two_tier, db
):
    deal = register(app, two_tier, "harbour_admin")
    assert deals.load(db, deal).status == "submitted"


def test_the_setting_is_the_channel_managers_and_audited(app, client_as, two_tier, db):
    page = client_as(two_tier["manager"]).get("/deals/review").get_data(as_text=True)
    assert 'data-testid="programme"' in page
    first_approval(client_as, two_tier)
    assert db.scalar(select(DealProgramme.distributor_first_approval)) is True
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "deal_programme.updated"))
    assert event.after == {"distributor_first_approval": True}
    refused = client_as(two_tier["fjord_admin"]).post(
        "/deals/programme", data={"distributor_first_approval": ""}
    )
    assert refused.status_code == 403
    assert db.scalar(select(DealProgramme.distributor_first_approval)) is True


def test_the_distributor_approves_first_then_the_vendor_reviews(app, client_as, two_tier, db):
    first_approval(client_as, two_tier)
    rival = register(app, two_tier, "solo_admin", customer_domain="quillfeather.io")
    assert deals.load(db, rival).status == "submitted"  # Solo has no distributor
    deal = register(app, two_tier, "harbour_admin", customer_domain="quillfeather.io")
    assert deals.load(db, deal).status == "distributor_review"
    assert db.scalar(select(func.count()).select_from(DealConflict)) == 0  # not yet
    told = db.scalars(
        select(Notification.title).where(Notification.user_id == two_tier["fjord_admin"].id)
    ).all()
    assert any("for your approval" in t for t in told)

    harbour = client_as(two_tier["harbour_admin"]).get(f"/deals/{deal}").get_data(as_text=True)
    assert "With the distributor" in harbour and 'data-testid="first-review-forms"' not in harbour
    queue = client_as(two_tier["manager"]).get("/deals/review").get_data(as_text=True)
    assert deals.load(db, deal).number not in queue  # the vendor waits for the distributor

    fjord = client_as(two_tier["fjord_admin"])
    listed = fjord.get("/deals/first-review").get_data(as_text=True)
    assert deals.load(db, deal).number in listed and "Harbour Resale" in listed
    assert 'data-testid="first-review-forms"' in fjord.get(f"/deals/{deal}").get_data(as_text=True)
    submitted_at = deals.load(db, deal).submitted_at
    with time_machine.travel(submitted_at + timedelta(hours=5)):
        assert fjord.post(f"/deals/{deal}/pass-on").status_code == 302

    passed = deals.load(db, deal)
    assert passed.status == "submitted"
    assert passed.submitted_at == submitted_at  # when the reseller claimed the customer
    # Conflicts are looked for when it reaches the vendor.
    assert db.scalar(select(DealConflict.registration_id)) == deal
    events = db.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == deal).order_by(AuditEvent.id)
    ).all()
    assert events.index("deal.distributor_review") < events.index("deal.submitted")
    queue = client_as(two_tier["manager"]).get("/deals/review").get_data(as_text=True)
    assert passed.number in queue


def test_the_distributor_rejects_with_a_reason_the_reseller_reads(app, client_as, two_tier, db):
    first_approval(client_as, two_tier)
    deal = register(app, two_tier, "harbour_admin")
    fjord = client_as(two_tier["fjord_admin"])
    with unchanged(db, (DealRegistration, deal)):
        assert fjord.post(f"/deals/{deal}/first-reject", data={"reason": " "}).status_code == 422
    assert (
        fjord.post(f"/deals/{deal}/first-reject", data={"reason": "We sell there ourselves."})
    ).status_code == 302
    assert deals.load(db, deal).status == "rejected"
    page = client_as(two_tier["harbour_admin"]).get(f"/deals/{deal}").get_data(as_text=True)
    assert "Rejected: We sell there ourselves." in page


def test_nobody_else_gives_the_first_approval(app, client_as, two_tier, db):
    first_approval(client_as, two_tier)
    deal = register(app, two_tier, "harbour_admin")
    with unchanged(db, (DealRegistration, deal)):
        assert client_as(two_tier["fjord_user"]).post(f"/deals/{deal}/pass-on").status_code == 403
        assert client_as(two_tier["other_admin"]).post(f"/deals/{deal}/pass-on").status_code == 404
        assert (
            client_as(two_tier["harbour_admin"]).post(f"/deals/{deal}/pass-on").status_code == 403
        )
        assert client_as(two_tier["manager"]).post(f"/deals/{deal}/pass-on").status_code == 403
        vendor = client_as(two_tier["manager"]).post(f"/deals/{deal}/approve", data={})
        assert vendor.status_code == 422  # not under the vendor's review yet
    assert deals.load(db, deal).status == "distributor_review"


def test_the_api_passes_on_and_rejects(app, two_tier, db, client_as):
    first_approval(client_as, two_tier)
    one = register(app, two_tier, "harbour_admin")
    two = register(app, two_tier, "harbour_admin", customer_domain="second-site.com")
    api, headers = deals.api_as(app, db, two_tier["fjord"], "partner_admin")
    passed = api.post(f"/api/v1/deals/{one}/pass-on", json={}, headers=headers)
    assert passed.status_code == 200, passed.get_data(as_text=True)
    assert passed.json["status"] == "submitted"
    again = api.post(f"/api/v1/deals/{one}/pass-on", json={}, headers=headers)
    assert again.status_code == 409
    rejected = api.post(
        f"/api/v1/deals/{two}/first-reject", json={"reason": "Not ours."}, headers=headers
    )
    assert rejected.status_code == 200 and rejected.json["decision_reason"] == "Not ours."
