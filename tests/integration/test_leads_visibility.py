"""Who sees which lead, through the pages and the API alike: a partner sees the leads offered to
it or accepted by it and nothing else; after a recall (or an expiry, or its own decline) the lead
answers 404, exactly like one that does not exist; another partner's lead is 404; customers see
no leads at all."""

from __future__ import annotations

from contextlib import nullcontext

import pytest

from tests.factories import make_lead, make_offer
from tests.isolation.kinds_leads import bearer_for
from tests.unchanged import unchanged


@pytest.fixture
def scene(db, vendor, org_factory, user_factory):
    class Scene:
        mine = org_factory("reseller", name="Viewer Reseller")
        theirs = org_factory("distributor", name="Other Distributor")

    Scene.me = user_factory(Scene.mine, "partner_user")
    Scene.customer = user_factory(org_factory("customer", managed_by_id=Scene.mine.id))
    Scene.staff = user_factory(vendor, "support_agent")
    leads = {}
    for name, partner, status in (
        ("offered", Scene.mine, "offered"),
        ("accepted", Scene.mine, "accepted"),
        ("recalled", Scene.mine, "recalled"),
        ("expired", Scene.mine, "expired"),
        ("declined", Scene.mine, "declined"),
        ("theirs", Scene.theirs, "offered"),
    ):
        lead_status = status if status in ("offered", "accepted") else "new"
        lead = make_lead(db, vendor, f"Visibility {name} Co", lead_status)
        make_offer(db, lead, partner, status)
        leads[name] = lead
    leads["unoffered"] = make_lead(db, vendor, "Visibility unoffered Co")
    Scene.leads = leads
    return Scene


VISIBLE = {"offered", "accepted"}


def test_pages_show_a_partner_only_its_open_offers(client_as, db, scene):
    client = client_as(scene.me)
    listing = client.get("/leads/").get_data(as_text=True)
    for name, lead in scene.leads.items():
        expected = 200 if name in VISIBLE else 404
        with unchanged(db, lead):
            assert client.get(f"/leads/{lead.id}").status_code == expected, name
        assert (lead.company in listing) == (name in VISIBLE), name
    assert client.get("/leads/987654321").status_code == 404


def test_the_api_shows_a_partner_only_its_open_offers(app, db, scene):
    headers = bearer_for(db, scene.me)
    client = app.test_client()
    listing = client.get("/api/v1/leads", headers=headers).get_json()
    assert sorted(item["company"] for item in listing["items"]) == sorted(
        scene.leads[name].company for name in VISIBLE
    )
    assert all(item["offer"]["partner_id"] == scene.mine.id for item in listing["items"])
    for name, lead in scene.leads.items():
        response = client.get(f"/api/v1/leads/{lead.id}", headers=headers)
        assert response.status_code == (200 if name in VISIBLE else 404), name
        if response.status_code == 404:
            assert response.mimetype == "application/problem+json"
        for action, body in (("accept", {}), ("decline", {"reason": "no"})):
            refused = name not in VISIBLE
            with unchanged(db, lead, *lead.offers) if refused else nullcontext():
                answer = client.post(
                    f"/api/v1/leads/{lead.id}/{action}", json=body, headers=headers
                )
            if name not in VISIBLE:
                assert answer.status_code == 404, (name, action)


def test_a_recall_takes_the_lead_away_at_once(client_as, app, db, scene, user_factory):
    lead = scene.leads["offered"]
    partner = client_as(scene.me)
    headers = bearer_for(db, scene.me)
    api = app.test_client()
    assert partner.get(f"/leads/{lead.id}").status_code == 200
    assert api.get(f"/api/v1/leads/{lead.id}", headers=headers).status_code == 200
    manager = client_as(user_factory(scene.staff.org, "channel_manager"))
    assert manager.post(f"/leads/{lead.id}/recall").status_code == 302
    with unchanged(db, lead, *lead.offers):
        assert partner.get(f"/leads/{lead.id}").status_code == 404
        assert partner.post(f"/leads/{lead.id}/accept").status_code == 404
        assert api.get(f"/api/v1/leads/{lead.id}", headers=headers).status_code == 404
        assert (
            api.post(f"/api/v1/leads/{lead.id}/accept", json={}, headers=headers).status_code == 404
        )


def test_vendor_staff_see_every_lead_and_customers_none(client_as, app, db, scene):
    staff = client_as(scene.staff)
    listing = staff.get("/leads/").get_data(as_text=True)
    for lead in scene.leads.values():
        assert lead.company in listing
        assert staff.get(f"/leads/{lead.id}").status_code == 200
    customer = client_as(scene.customer)
    with unchanged(db, *scene.leads.values()):
        assert customer.get("/leads/").status_code == 403
        for lead in scene.leads.values():
            assert customer.get(f"/leads/{lead.id}").status_code == 403  # the same for every id
        headers = bearer_for(db, scene.customer)
        assert app.test_client().get("/api/v1/leads", headers=headers).status_code == 403


def test_the_partner_page_never_shows_the_vendors_reasoning(client_as, db, scene):
    lead = scene.leads["offered"]
    offer = lead.offers[0]
    offer.reason = "By rule: ... Skipped: declined this lead (1)."
    db.flush()
    page = client_as(scene.me).get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "Skipped" not in page and "History" not in page
    assert "Accept the lead" in page and "Decline" in page
