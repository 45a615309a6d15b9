"""The leads API: the same services and rules as the pages, scopes (leads:read, leads:write) on
top of the role, problem+json errors, cursor pagination, idempotent POSTs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from partners.leads.models import Lead, LeadOffer, SharedLead
from tests.factories import make_lead, make_offer, make_shared_lead
from tests.isolation.kinds_leads import bearer_for, cover
from tests.unchanged import unchanged

PROBLEM = "application/problem+json"


@pytest.fixture
def api(app):
    return app.test_client()


@pytest.fixture
def team(db, vendor, org_factory, user_factory):
    class Team:
        manager = user_factory(vendor, "channel_manager")
        reseller = org_factory("reseller", name="API Reseller", tier="gold")
        supplier = org_factory("supplier", name="API Supplier")

    Team.partner = user_factory(Team.reseller, "partner_admin")
    Team.supplier_admin = user_factory(Team.supplier, "partner_admin")
    cover(db, Team.reseller, ("DE",), ("cloud",))
    return Team


def test_vendor_creates_and_offers_leads_by_rule_and_by_hand(api, db, team):
    headers = bearer_for(db, team.manager)
    response = api.post(
        "/api/v1/leads",
        json={
            "company": "API Cloud GmbH",
            "country": "DE",
            "product_line": "cloud",
            "contact_email": "cto@apicloud.test",
            "offer_by_rule": True,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "offered" and body["contact_email"] == "cto@apicloud.test"
    assert body["offer"]["partner_id"] == team.reseller.id and body["offer"]["status"] == "offered"
    lead = db.get(Lead, body["id"])
    assert lead.source == "api"
    plain = api.post(
        "/api/v1/leads",
        json={"company": "Hand Picked SA", "country": "FR", "product_line": "cloud"},
        headers=headers,
    ).get_json()
    offered = api.post(
        f"/api/v1/leads/{plain['id']}/offer",
        json={"partner_id": team.reseller.id, "note": "Asked for FR"},
        headers=headers,
    )
    assert offered.status_code == 200 and offered.get_json()["status"] == "offered"
    # Nobody fits an Italian storage lead: 409, and the lead stays new.
    italian = api.post(
        "/api/v1/leads",
        json={"company": "Milano Storage", "country": "IT", "product_line": "storage"},
        headers=headers,
    ).get_json()
    with unchanged(db, (Lead, italian["id"]), counted=[LeadOffer]):
        refused = api.post(f"/api/v1/leads/{italian['id']}/offer", json={}, headers=headers)
        supplier = api.post(
            f"/api/v1/leads/{italian['id']}/offer",
            json={"partner_id": team.supplier.id},
            headers=headers,
        )
        unknown = api.post(
            f"/api/v1/leads/{italian['id']}/offer", json={"partner_id": 987654}, headers=headers
        )
    assert refused.status_code == 409 and refused.mimetype == PROBLEM
    assert "No partner is eligible" in refused.get_json()["detail"]
    assert (
        supplier.status_code == 422
        and "resellers and distributors" in supplier.get_json()["detail"]
    )
    assert unknown.status_code == 404


def test_partner_accepts_and_declines_through_the_api(api, db, team):
    headers = bearer_for(db, team.partner)
    one = make_lead(db, team.manager.org, "Accept Me", "offered")
    make_offer(db, one, team.reseller)
    two = make_lead(db, team.manager.org, "Decline Me", "offered")
    offer_of_two = make_offer(db, two, team.reseller)
    accepted = api.post(f"/api/v1/leads/{one.id}/accept", json={}, headers=headers)
    assert accepted.status_code == 200
    assert accepted.get_json()["status"] == "accepted"
    assert accepted.get_json()["offer"]["status"] == "accepted"
    with unchanged(db, one, two, *one.offers, offer_of_two):
        again = api.post(f"/api/v1/leads/{one.id}/accept", json={}, headers=headers)
        no_reason = api.post(
            f"/api/v1/leads/{two.id}/decline", json={"reason": "   "}, headers=headers
        )
    assert again.status_code == 409 and again.mimetype == PROBLEM
    assert no_reason.status_code == 422 and no_reason.mimetype == PROBLEM
    declined = api.post(
        f"/api/v1/leads/{two.id}/decline", json={"reason": "Not our market"}, headers=headers
    )
    assert declined.status_code == 200
    assert declined.get_json()["offer"]["decline_reason"] == "Not our market"
    assert api.get(f"/api/v1/leads/{two.id}", headers=headers).status_code == 404
    with unchanged(db, one, *one.offers):
        not_json = api.post(f"/api/v1/leads/{one.id}/accept", data="x", headers=headers)
    assert not_json.status_code == 415


def test_scopes_limit_what_a_token_may_do(api, db, team):
    lead = make_lead(db, team.manager.org, "Scoped Co", "offered")
    offer = make_offer(db, lead, team.reseller)
    read_only = bearer_for(db, team.partner, "leads:read")
    no_leads = bearer_for(db, team.partner, "deals:read")
    everything = bearer_for(db, team.partner)
    with unchanged(db, lead, offer, counted=[Lead]):
        assert api.get("/api/v1/leads", headers=read_only).status_code == 200
        assert api.get(f"/api/v1/leads/{lead.id}", headers=read_only).status_code == 200
        refused = api.post(f"/api/v1/leads/{lead.id}/accept", json={}, headers=read_only)
        assert refused.status_code == 403 and refused.mimetype == PROBLEM
        assert api.get("/api/v1/leads", headers=no_leads).status_code == 403
        assert api.get(f"/api/v1/leads/{lead.id}", headers=no_leads).status_code == 403
        db.expire_all()
        assert db.get(LeadOffer, lead.offers[0].id).status == "offered"
        # The role still decides: a partner token with every scope cannot create leads.
        assert (
            api.post(
                "/api/v1/leads",
                json={"company": "X", "country": "DE", "product_line": "cloud"},
                headers=everything,
            ).status_code
            == 403
        )


def test_lists_page_by_cursor_and_filter(api, db, team):
    headers = bearer_for(db, team.manager)
    for n in range(7):
        make_lead(db, team.manager.org, f"Paged {n}", country="AT" if n % 2 else "DE")
    seen, cursor = [], None
    for _ in range(10):
        query = {"limit": 3, "country": "DE"} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/v1/leads", query_string=query, headers=headers).get_json()
        seen += [item["company"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Paged 0", "Paged 2", "Paged 4", "Paged 6"]
    found = api.get("/api/v1/leads", query_string={"q": "paged 5"}, headers=headers).get_json()
    assert [item["company"] for item in found["items"]] == ["Paged 5"]
    with unchanged(db):
        bad = api.get("/api/v1/leads", query_string={"status": "bogus"}, headers=headers)
    assert bad.status_code == 422 and bad.mimetype == PROBLEM


def test_partners_share_leads_and_read_only_their_own(api, db, team):
    headers = bearer_for(db, team.supplier_admin)
    body = {
        "company": "Shared By API",
        "country": "NO",
        "product_line": "storage",
        "contact_email": "buyer@shared.test",
    }
    created = api.post(
        "/api/v1/shared-leads", json=body, headers={**headers, "Idempotency-Key": "share-1"}
    )
    assert created.status_code == 201
    shared = created.get_json()
    assert shared["status"] == "submitted" and shared["partner_id"] == team.supplier.id
    replay = api.post(
        "/api/v1/shared-leads", json=body, headers={**headers, "Idempotency-Key": "share-1"}
    )
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert db.scalar(select(func.count()).select_from(SharedLead)) == 1
    other = make_shared_lead(db, team.reseller, "Someone Else's Find")
    listing = api.get("/api/v1/shared-leads", headers=headers).get_json()
    assert [s["company"] for s in listing["items"]] == ["Shared By API"]
    with unchanged(db, other):
        assert api.get(f"/api/v1/shared-leads/{other.id}", headers=headers).status_code == 404
    assert api.get(f"/api/v1/shared-leads/{shared['id']}", headers=headers).status_code == 200
    # Vendor staff decide.
    vendor_headers = bearer_for(db, team.manager)
    rejected = api.post(
        f"/api/v1/shared-leads/{shared['id']}/reject",
        json={"reason": "Known to us"},
        headers=vendor_headers,
    )
    assert rejected.status_code == 200 and rejected.get_json()["decision_reason"] == "Known to us"
    approved = api.post(
        f"/api/v1/shared-leads/{other.id}/approve", json={}, headers=vendor_headers
    ).get_json()
    assert approved["status"] == "approved" and approved["lead_id"]
    assert db.get(Lead, approved["lead_id"]).credited_to_org_id == team.reseller.id
    with unchanged(db, other, (SharedLead, shared["id"]), counted=[Lead]):
        twice = api.post(
            f"/api/v1/shared-leads/{other.id}/approve", json={}, headers=vendor_headers
        )
        # A partner cannot decide, whatever its scopes.
        decided = api.post(f"/api/v1/shared-leads/{shared['id']}/approve", json={}, headers=headers)
    assert twice.status_code == 409
    assert decided.status_code == 403


def test_schema_refuses_what_the_services_would(api, db, team):
    headers = bearer_for(db, team.partner)
    for body in (
        {"company": "X", "country": "XX", "product_line": "cloud"},
        {"company": "X", "country": "DE", "product_line": "toasters"},
        {"company": " \t", "country": "DE", "product_line": "cloud"},
        {"company": "\u0000\u0000", "country": "DE", "product_line": "cloud"},  # NULs dropped
        {"company": "X", "country": "DE", "product_line": "cloud", "contact_email": "nope"},
    ):
        with unchanged(db, counted=[SharedLead]):
            response = api.post("/api/v1/shared-leads", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.mimetype == PROBLEM
    assert db.scalar(select(func.count()).select_from(SharedLead)) == 0


def test_ids_beyond_32_bits_are_404_not_errors(api, db, team):
    headers = bearer_for(db, team.partner)
    with unchanged(db, counted=[Lead, LeadOffer]):
        assert api.get("/api/v1/leads/2147483648", headers=headers).status_code == 404
        assert (
            api.post("/api/v1/leads/99999999999/accept", json={}, headers=headers).status_code
            == 404
        )
