"""Two-tier distribution: a distributor sees its resellers' registrations, offers and quotes,
read-only, and nobody else's; it passes a lead offered to it down to one of its resellers with a
respond-by of its own, which the reseller answers, the distributor recalls, the tick expires,
and the vendor's recall ends too."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from partners.leads import services
from partners.leads.models import LeadOffer
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.notify.models import Notification
from tests.factories import make_deal, make_lead, make_offer, make_quote
from tests.isolation.kinds_leads import acting_as, bearer_for, mine
from tests.unchanged import fresh, unchanged


@pytest.fixture
def two_tier(db, vendor, org_factory, user_factory):
    class Scene:
        distributor = org_factory("distributor", name="Tier Two Distribution")
        other = org_factory("distributor", name="Other Distribution ZZQ")

    Scene.reseller = org_factory(
        "reseller", name="Attached Reseller", managed_by_id=Scene.distributor.id
    )
    Scene.sibling = org_factory(
        "reseller", name="Sibling Reseller", managed_by_id=Scene.distributor.id
    )
    Scene.stranger = org_factory(
        "reseller", name="Stranger Reseller ZZQ", managed_by_id=Scene.other.id
    )
    Scene.admin = user_factory(Scene.distributor, "partner_admin")
    Scene.user = user_factory(Scene.distributor, "partner_user")
    Scene.reseller_user = user_factory(Scene.reseller, "partner_admin")
    Scene.sibling_user = user_factory(Scene.sibling, "partner_admin")
    Scene.manager = user_factory(vendor, "channel_manager")
    Scene.vendor = vendor
    return Scene


def _records(db, s, org, label: str) -> dict:
    lead = make_lead(db, s.vendor, f"{label} lead", "offered")
    return {
        "deal": make_deal(db, org, f"{label} customer"),
        "quote": make_quote(db, org, f"{label} quote", "viewed"),
        "draft": make_quote(db, org, f"{label} draft", "draft"),
        "lead": lead,
        "offer": make_offer(db, lead, org),
    }


def test_a_distributor_reads_its_resellers_records_and_nobody_elses(client_as, db, two_tier):
    s = two_tier
    ours = _records(db, s, s.reseller, "Resold")
    theirs = _records(db, s, s.stranger, "Stranger ZZQ")
    client = client_as(s.user)
    for path, record in (
        ("/deals/{}", "deal"),
        ("/quotes/{}", "quote"),
        ("/leads/{}", "lead"),
    ):
        assert client.get(path.format(ours[record].id)).status_code == 200, record
        assert client.get(path.format(theirs[record].id)).status_code == 404, record
    assert client.get(f"/quotes/{ours['draft'].id}").status_code == 404  # drafts: the vendor's
    for listing, name in (("/deals/", "Resold customer"), ("/quotes/", "Resold quote")):
        body = client.get(listing).get_data(as_text=True)
        assert name in body
        assert "Stranger ZZQ" not in body
    leads = client.get("/leads/").get_data(as_text=True)
    assert "Resold lead" in leads and "Stranger ZZQ" not in leads
    page = client.get(f"/leads/{ours['lead'].id}").get_data(as_text=True)
    assert "Attached Reseller" in page  # its reseller's offer, read-only
    # A reseller sees nothing of its sibling's.
    sibling = client_as(s.sibling_user)
    for path, record in (("/deals/{}", "deal"), ("/quotes/{}", "quote"), ("/leads/{}", "lead")):
        assert sibling.get(path.format(ours[record].id)).status_code == 404, record


def test_the_api_reads_the_same_way(app, db, two_tier):
    s = two_tier
    ours = _records(db, s, s.reseller, "Resold")
    theirs = _records(db, s, s.stranger, "Stranger ZZQ")
    headers = bearer_for(db, s.user, "leads:read deals:read quotes:read")
    client = app.test_client()
    for path, record in (
        ("/api/v1/deals/{}", "deal"),
        ("/api/v1/quotes/{}", "quote"),
        ("/api/v1/leads/{}", "lead"),
    ):
        assert client.get(path.format(ours[record].id), headers=headers).status_code == 200
        assert client.get(path.format(theirs[record].id), headers=headers).status_code == 404
    items = client.get("/api/v1/leads", headers=headers).get_json()["items"]
    assert [item["company"] for item in items] == ["Resold lead"]


def test_a_distributor_changes_none_of_its_resellers_records(client_as, app, db, two_tier):
    s = two_tier
    ours = _records(db, s, s.reseller, "Resold")
    draft = make_deal(db, s.reseller, "Resold draft customer", status="draft")
    client = client_as(s.admin)
    headers = bearer_for(db, s.admin, "leads:write deals:write quotes:write")
    api = app.test_client()
    lead, quote = ours["lead"], ours["quote"]
    attempts = [
        (client.post, f"/leads/{lead.id}/accept", {}),
        (client.post, f"/leads/{lead.id}/decline", {"reason": "not ours"}),
        (client.post, f"/leads/{lead.id}/close", {"outcome": "won"}),
        (client.post, f"/leads/{lead.id}/pass-down", {"reseller_id": s.sibling.id}),
        (client.post, f"/quotes/{quote.id}/accept", {"signer_name": "D", "consent": "y"}),
        (client.post, f"/quotes/{quote.id}/decline", {"reason": "no"}),
        (client.post, f"/deals/{draft.id}/submit", {}),
        (client.post, f"/deals/{draft.id}/edit", {"customer_name": "Taken over"}),
        (api.post, f"/api/v1/leads/{lead.id}/accept", {}),
        (api.post, f"/api/v1/quotes/{quote.id}/decline", {"reason": "no"}),
        (api.post, f"/api/v1/deals/{draft.id}/submit", {}),
    ]
    for post, url, data in attempts:
        with unchanged(db, lead, ours["offer"], quote, draft, counted=(LeadOffer,)):
            if url.startswith("/api/"):
                response = post(url, json=data, headers=headers)
            else:
                response = post(url, data=data)
        assert response.status_code in (403, 404, 409, 422), (url, response.get_data(as_text=True))


def _pass_down_scene(db, s):
    lead = make_lead(db, s.vendor, "Two Tier Lead Co", "offered")
    offer = make_offer(db, lead, s.distributor)
    return lead, offer


def test_the_distributor_passes_a_lead_down_and_its_reseller_accepts(client_as, db, two_tier):
    s = two_tier
    lead, offer = _pass_down_scene(db, s)
    distributor = client_as(s.user)
    page = distributor.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "Pass it down to a reseller" in page and "Sibling Reseller" in page
    due = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    response = distributor.post(
        f"/leads/{lead.id}/pass-down",
        data={"reseller_id": s.reseller.id, "respond_by": due.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    fresh(db)
    passed = db.scalar(select(LeadOffer).where(LeadOffer.passed_down_from_id == offer.id))
    assert (passed.org_id, passed.status, passed.respond_by) == (s.reseller.id, "offered", due)
    assert (offer.status, lead.status) == ("accepted", "accepted")  # taken on to pass it on
    told = db.scalars(select(Notification.kind).where(Notification.user_id == s.reseller_user.id))
    assert "leads.offered" in list(told)
    assert db.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == "lead_offer.passed_down", AuditEvent.object_id == offer.id
        )
    )
    reseller = client_as(s.reseller_user)
    page = reseller.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "Passed down by Tier Two Distribution." in page
    assert reseller.post(f"/leads/{lead.id}/accept").status_code == 302
    fresh(db)
    assert (passed.status, offer.status, lead.status) == ("accepted", "accepted", "accepted")
    kinds = db.scalars(select(Notification.kind).where(Notification.user_id == s.admin.id))
    assert "leads.response" in list(kinds)
    # The sibling sees none of it; the reseller records the outcome.
    assert client_as(s.sibling_user).get(f"/leads/{lead.id}").status_code == 404
    assert reseller.post(f"/leads/{lead.id}/close", data={"outcome": "won"}).status_code == 302
    assert fresh(db).get(type(lead), lead.id).status == "won"


def test_pass_down_refuses_what_it_must(app, db, two_tier):
    s = two_tier
    lead, offer = _pass_down_scene(db, s)
    due = utcnow() + timedelta(days=1)
    cases = [
        (s.stranger, due, "Choose one of your resellers."),
        (s.reseller, utcnow() - timedelta(minutes=1), "must be in the future"),
        (s.reseller, utcnow() + timedelta(days=31), "at most 30 days"),
        (s.reseller, None, "Give the time to answer by."),
    ]
    for reseller, respond_by, message in cases:
        with acting_as(app, s.admin), pytest.raises(InvalidInput, match=message):
            services.pass_down(mine(offer), reseller, respond_by, actor=_principal(s.admin))
    with acting_as(app, s.admin) as actor:
        services.pass_down(mine(offer), s.reseller, due, actor=actor)
    with acting_as(app, s.admin) as actor, pytest.raises(InvalidTransition):
        services.pass_down(mine(offer), s.sibling, due, actor=actor)  # one reseller at a time
    with acting_as(app, s.reseller_user) as actor, pytest.raises(Forbidden):
        passed = db.scalar(select(LeadOffer).where(LeadOffer.passed_down_from_id == offer.id))
        services.pass_down(mine(passed), s.sibling, due, actor=actor)  # resellers pass nothing


def _principal(user):
    from portal.tenancy import Principal

    return Principal.for_user(user)


def test_the_database_keeps_one_reseller_at_a_time(db, two_tier):
    from sqlalchemy.exc import IntegrityError

    s = two_tier
    lead, offer = _pass_down_scene(db, s)
    make_offer(db, lead, s.reseller, passed_down_from_id=offer.id)
    with (
        pytest.raises(
            IntegrityError, match="uq_lead_offers_open_per_parent|lead_offers.passed_down_from_id"
        ),
        db.begin_nested(),
    ):
        make_offer(db, lead, s.sibling, passed_down_from_id=offer.id)


def _passed(app, db, s, days=1):
    lead, offer = _pass_down_scene(db, s)
    with acting_as(app, s.admin) as actor:
        services.pass_down(mine(offer), s.reseller, utcnow() + timedelta(days=days), actor=actor)
    fresh(db)
    passed = db.scalar(select(LeadOffer).where(LeadOffer.passed_down_from_id == offer.id))
    return lead, offer, passed


def test_a_reseller_declines_and_the_lead_stays_with_the_distributor(client_as, app, db, two_tier):
    s = two_tier
    lead, offer, passed = _passed(app, db, s)
    reseller = client_as(s.reseller_user)
    response = reseller.post(f"/leads/{lead.id}/decline", data={"reason": "Too far away"})
    assert response.status_code == 302
    fresh(db)
    assert (passed.status, passed.decline_reason) == ("declined", "Too far away")
    assert (offer.status, lead.status) == ("accepted", "accepted")
    assert reseller.get(f"/leads/{lead.id}").status_code == 404
    # The distributor may pass it to another reseller now.
    with acting_as(app, s.admin) as actor:
        again = services.pass_down(
            mine(offer), s.sibling, utcnow() + timedelta(days=1), actor=actor
        )
    assert again.org_id == s.sibling.id


def test_the_tick_expires_what_was_passed_down_only(app, db, two_tier):
    s = two_tier
    lead, offer, passed = _passed(app, db, s)
    with time_machine.travel(utcnow() + timedelta(days=2), tick=False), app.app_context():
        from portal import jobs

        jobs.run_periodic(["expire_lead_offers"])
    fresh(db)
    assert passed.status == "expired"
    assert (offer.status, lead.status) == ("accepted", "accepted")


def test_recalls_end_what_was_passed_down(client_as, app, db, two_tier):
    s = two_tier
    lead, offer, passed = _passed(app, db, s)
    distributor = client_as(s.admin)
    assert distributor.post(f"/leads/{lead.id}/recall-pass-down").status_code == 302
    assert fresh(db).get(LeadOffer, passed.id).status == "recalled"
    assert client_as(s.reseller_user).get(f"/leads/{lead.id}").status_code == 404
    with acting_as(app, s.admin) as actor:
        again = services.pass_down(
            mine(offer), s.sibling, utcnow() + timedelta(days=1), actor=actor
        )
    assert client_as(s.manager).post(f"/leads/{lead.id}/recall").status_code == 302
    fresh(db)
    assert db.get(LeadOffer, again.id).status == "recalled"
    assert (db.get(LeadOffer, offer.id).status, lead.status) == ("recalled", "new")


def test_the_api_passes_down_and_recalls(app, db, two_tier):
    s = two_tier
    lead, offer = _pass_down_scene(db, s)
    api = app.test_client()
    headers = bearer_for(db, s.user, "leads:read leads:write")
    due = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    url = f"/api/v1/leads/{lead.id}/pass-down"
    with unchanged(db, lead, offer, counted=(LeadOffer,)):
        refused = api.post(
            url, json={"reseller_id": s.stranger.id, "respond_by": due.isoformat()}, headers=headers
        )
    assert refused.status_code == 422, refused.get_json()
    naive = api.post(
        url,
        json={"reseller_id": s.reseller.id, "respond_by": due.replace(tzinfo=None).isoformat()},
        headers=headers,
    )
    assert naive.status_code == 422
    made = api.post(
        url, json={"reseller_id": s.reseller.id, "respond_by": due.isoformat()}, headers=headers
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["partner_id"], body["passed_down_from_id"]) == (s.reseller.id, offer.id)
    again = api.post(
        url, json={"reseller_id": s.sibling.id, "respond_by": due.isoformat()}, headers=headers
    )
    assert again.status_code == 409
    reseller = bearer_for(db, s.reseller_user, "leads:read leads:write")
    mine_now = api.get(f"/api/v1/leads/{lead.id}", headers=reseller).get_json()
    assert mine_now["offer"]["passed_down_from_id"] == offer.id
    recalled = api.post(f"/api/v1/leads/{lead.id}/recall-pass-down", json={}, headers=headers)
    assert recalled.status_code == 200 and recalled.get_json()["status"] == "recalled"
    assert api.get(f"/api/v1/leads/{lead.id}", headers=reseller).status_code == 404


def test_a_reseller_is_refused_passing_down_its_own_lead(client_as, db, two_tier):
    s = two_tier
    lead = make_lead(db, s.vendor, "Reseller Held Lead", "offered")
    offer = make_offer(db, lead, s.reseller)
    reseller = client_as(s.reseller_user)
    assert "Pass it down" not in reseller.get(f"/leads/{lead.id}").get_data(as_text=True)
    with unchanged(db, lead, offer, counted=(LeadOffer,)):
        data = {"reseller_id": s.sibling.id, "respond_by": "2099-01-01T10:00"}
        assert reseller.post(f"/leads/{lead.id}/pass-down", data=data).status_code == 403
        assert reseller.post(f"/leads/{lead.id}/recall-pass-down").status_code == 403
