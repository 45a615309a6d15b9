"""Webhooks through the API with real tokens: create (201 with the secret), list, read, update,
rotate, delete, the delivery log and redelivery; scopes and roles are checked; bad input is a
422 naming the field with nothing written; another organisation's endpoint is a 404; the
OpenAPI document describes every event type in its ``webhooks`` section."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from partners.deals.models import DealStatus
from portal.clock import utcnow
from portal.webhooks.models import WebhookDelivery, WebhookSubscription
from tests import factories
from tests.integration.oauth_support import assert_problem, bearer, cc_token, make_api_client
from tests.integration.test_webhooks import START, Receiver, move, tick
from tests.unchanged import unchanged

BOTH = "webhooks:read webhooks:write"


def token(client, db, org, role: str, scopes: str = BOTH) -> dict:
    api_client = make_api_client(db, org, scopes=scopes, service_role=role)
    return bearer(cc_token(client, api_client, scopes)["access_token"])


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def allow_loopback(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", True)


@pytest.fixture
def orgs(db, vendor):
    partner = factories.make_org(db, "reseller", name="Api Hook Reseller")
    other = factories.make_org(db, "reseller", name="Api Other Reseller")
    return {
        "vendor": vendor,
        "partner": partner,
        "other": other,
        "manager": factories.make_user(db, vendor, "channel_manager"),
    }


def test_create_list_read_update_rotate_and_delete(app, client, db, orgs, receiver):
    headers = token(client, db, orgs["partner"], "partner_admin")
    created = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url(), "events": ["deal.*", "case.solved"], "description": "ERP"},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["active"] is True
    assert body["events"] == ["deal.*", "case.solved"]
    webhook_id = body["id"]
    listed = client.get("/api/v1/webhooks", headers=headers).get_json()
    assert [w["id"] for w in listed["items"]] == [webhook_id]
    assert "secret" not in listed["items"][0]
    read = client.get(f"/api/v1/webhooks/{webhook_id}", headers=headers)
    assert read.status_code == 200 and read.get_json()["description"] == "ERP"
    patched = client.patch(
        f"/api/v1/webhooks/{webhook_id}",
        json={"events": ["quote.*"], "active": False},
        headers=headers,
    )
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["events"] == ["quote.*"] and patched.get_json()["active"] is False
    rotated = client.post(f"/api/v1/webhooks/{webhook_id}/rotate-secret", json={}, headers=headers)
    assert rotated.status_code == 200
    assert rotated.get_json()["secret"] not in (body["secret"], None)
    gone = client.delete(f"/api/v1/webhooks/{webhook_id}", headers=headers)
    assert gone.status_code == 204
    assert_problem(client.get(f"/api/v1/webhooks/{webhook_id}", headers=headers), 404)
    db.expire_all()
    assert db.get(WebhookSubscription, webhook_id) is None


def test_the_delivery_log_and_a_redelivery_through_the_api(app, client, db, orgs, receiver):
    headers = token(client, db, orgs["partner"], "partner_admin")
    deal = factories.make_deal(db, orgs["partner"], status="submitted")
    with time_machine.travel(START, tick=False):
        webhook_id = client.post(
            "/api/v1/webhooks", json={"url": receiver.url(), "events": ["deal.*"]}, headers=headers
        ).get_json()["id"]
        move(app, orgs["manager"], deal.id, DealStatus.rejected)
        tick(app)
        log = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=headers).get_json()
        (entry,) = log["items"]
        assert entry["event_type"] == "deal.rejected" and entry["status"] == "delivered"
        assert entry["attempts"][0]["status_code"] == 200
        again = client.post(
            f"/api/v1/webhooks/deliveries/{entry['id']}/redeliver",
            json={},
            headers=headers,
        )
        assert again.status_code == 202, again.get_json()
        assert again.get_json()["event_id"] == entry["event_id"]
        tick(app)
    assert len(receiver.received) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://10.0.0.1/hook", "events": ["deal.*"]}, "url"),
        ({"url": "https://127.0.0.1/hook", "events": ["deal.*"]}, "url"),
        ({"url": "not a url", "events": ["deal.*"]}, "url"),
        ({"url": "https://hooks.example/x", "events": ["deal.nonsense"]}, "events"),
        ({"url": "https://hooks.example/x", "events": []}, "events"),
        ({"events": ["deal.*"]}, "url"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_written(
    app, client, db, orgs, monkeypatch, body, field
):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
    headers = token(client, db, orgs["partner"], "partner_admin")
    with unchanged(db, counted=(WebhookSubscription,)):
        answer = client.post("/api/v1/webhooks", json=body, headers=headers)
    problem = assert_problem(answer, 422)
    assert any(field in error["loc"] for error in problem["errors"]), problem


def test_a_patch_with_bad_input_changes_nothing(app, client, db, orgs, receiver, monkeypatch):
    headers = token(client, db, orgs["partner"], "partner_admin")
    webhook_id = client.post(
        "/api/v1/webhooks", json={"url": receiver.url(), "events": ["deal.*"]}, headers=headers
    ).get_json()["id"]
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
    with unchanged(db, (WebhookSubscription, webhook_id)):
        answer = client.patch(
            f"/api/v1/webhooks/{webhook_id}",
            json={"url": "http://169.254.169.254/", "events": ["case.*"]},
            headers=headers,
        )
    assert assert_problem(answer, 422)["errors"][0]["loc"] == ["body", "url"]


def test_scopes_and_roles_are_checked(client, db, orgs, receiver):
    reader = token(client, db, orgs["partner"], "partner_admin", "webhooks:read")
    assert client.get("/api/v1/webhooks", headers=reader).status_code == 200
    with unchanged(db, counted=(WebhookSubscription,)):
        refused = client.post(
            "/api/v1/webhooks", json={"url": receiver.url(), "events": ["*"]}, headers=reader
        )
    assert_problem(refused, 403)
    other_scope = token(client, db, orgs["partner"], "partner_admin", "deals:read")
    assert_problem(client.get("/api/v1/webhooks", headers=other_scope), 403)
    member = token(client, db, orgs["partner"], "partner_user")  # not an admin
    assert_problem(client.get("/api/v1/webhooks", headers=member), 403)


def test_another_organisations_endpoint_and_deliveries_are_404(app, client, db, orgs, receiver):
    mine = token(client, db, orgs["partner"], "partner_admin")
    theirs = token(client, db, orgs["other"], "partner_admin")
    vendor = token(client, db, orgs["vendor"], "vendor_admin")
    deal = factories.make_deal(db, orgs["partner"], status="submitted")
    with time_machine.travel(START, tick=False):
        webhook_id = client.post(
            "/api/v1/webhooks", json={"url": receiver.url(), "events": ["deal.*"]}, headers=mine
        ).get_json()["id"]
        move(app, orgs["manager"], deal.id, DealStatus.rejected)
        tick(app)
    delivery_id = db.scalar(
        select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == webhook_id)
    )
    for headers in (theirs, vendor):  # vendor staff do not see other organisations' either
        with unchanged(db, (WebhookSubscription, webhook_id), counted=(WebhookDelivery,)):
            assert_problem(client.get(f"/api/v1/webhooks/{webhook_id}", headers=headers), 404)
            assert_problem(
                client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=headers), 404
            )
            assert_problem(
                client.patch(
                    f"/api/v1/webhooks/{webhook_id}", json={"active": False}, headers=headers
                ),
                404,
            )
            assert_problem(client.delete(f"/api/v1/webhooks/{webhook_id}", headers=headers), 404)
            assert_problem(
                client.post(
                    f"/api/v1/webhooks/deliveries/{delivery_id}/redeliver",
                    json={},
                    headers=headers,
                ),
                404,
            )
        assert client.get("/api/v1/webhooks", headers=headers).get_json()["items"] == []


def test_the_openapi_document_describes_each_event_type(client):
    document = client.get("/api/v1/openapi.json").get_json()
    webhooks = document["webhooks"]
    assert {"deal.approved", "case.solved", "quote.accepted", "lead.offered"} <= set(webhooks)
    assert not [t for t in webhooks if t.startswith(("outbox_message.", "export."))]
    deal = webhooks["deal.approved"]["post"]
    body = deal["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["id", "type", "timestamp", "data"]
    assert body["properties"]["data"]["allOf"][0]["$ref"].startswith("#/components/schemas/DealOut")
    headers = {p["name"] for p in deal["parameters"]}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert document["openapi"].startswith("3.1")


def test_the_previous_secret_is_reported_until_it_expires(client, db, orgs, receiver):
    headers = token(client, db, orgs["partner"], "partner_admin")
    webhook_id = client.post(
        "/api/v1/webhooks", json={"url": receiver.url(), "events": ["deal.*"]}, headers=headers
    ).get_json()["id"]
    rotated = client.post(f"/api/v1/webhooks/{webhook_id}/rotate-secret", json={}, headers=headers)
    until = rotated.get_json()["previous_secret_valid_until"]
    assert until > (utcnow() + timedelta(hours=23)).isoformat()
