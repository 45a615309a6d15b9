"""The quotes API: read with quotes:read, accept or decline as the recipient with quotes:write,
through the same services as the pages; problem+json errors; the tenant wall."""

from __future__ import annotations

import pytest

from partners.quotes.models import Quote
from tests.integration.test_quotes import add, load, seen, sent_quote
from tests.integration.test_quotes import world as world  # noqa: F401, PLW0127  (fixture)
from tests.isolation.kinds_leads import bearer_for
from tests.unchanged import unchanged

PROBLEM = "application/problem+json"


@pytest.fixture
def api(app):
    return app.test_client()


def test_a_recipient_reads_and_accepts_through_the_api(client_as, api, db, world):
    quote_id = sent_quote(client_as, world, lines=[("PSU-1", 2)])
    headers = bearer_for(db, world["gold_user"], "quotes:read quotes:write")
    listing = api.get("/api/v1/quotes", headers=headers)
    assert listing.status_code == 200
    assert [q["id"] for q in listing.get_json()["items"]] == [quote_id]
    body = api.get(f"/api/v1/quotes/{quote_id}", headers=headers).get_json()
    quote = load(db, quote_id)
    assert body["number"] == quote.number and body["version"] == 1 and body["status"] == "sent"
    assert body["total"] == str(quote.total) and body["lines"][0]["sku"] == "PSU-1"
    assert body["pdf_sha256"] == quote.pdf_sha256
    with unchanged(db, (Quote, quote_id)):
        wrong = api.post(
            f"/api/v1/quotes/{quote_id}/accept",
            json={"full_name": "Pat Partner", "consent": True, "pdf_sha256": "a" * 64},
            headers=headers,
        )
    assert wrong.status_code == 409 and wrong.mimetype == PROBLEM
    with unchanged(db, (Quote, quote_id)):
        no_consent = api.post(
            f"/api/v1/quotes/{quote_id}/accept",
            json={"full_name": "Pat Partner", "consent": False, "pdf_sha256": body["pdf_sha256"]},
            headers={**headers, "User-Agent": "Integration/2"},
        )
    assert no_consent.status_code == 422 and "Tick the box" in no_consent.get_json()["detail"]
    accepted = api.post(
        f"/api/v1/quotes/{quote_id}/accept",
        json={"full_name": "Pat Partner", "consent": True, "pdf_sha256": body["pdf_sha256"]},
        headers={**headers, "User-Agent": "Integration/2"},
    )
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    quote = load(db, quote_id)
    assert quote.decided_user_agent == "Integration/2" and quote.decided_by_id
    assert quote.decided_pdf_sha256 == quote.pdf_sha256
    with unchanged(db, (Quote, quote_id)):
        again = api.post(
            f"/api/v1/quotes/{quote_id}/decline", json={"reason": "changed mind"}, headers=headers
        )
    assert again.status_code == 409 and again.mimetype == PROBLEM


def test_scopes_roles_and_the_wall(client_as, api, db, world):
    quote_id = sent_quote(client_as, world)
    draft_client = client_as(world["manager"])
    draft_id = int(
        draft_client.post(
            "/quotes/new",
            data={"recipient": world["gold"].id, "currency": "EUR", "valid_until": "2099-01-01"},
        )
        .headers["Location"]
        .split("/")[-1]
    )
    read_only = bearer_for(db, world["gold_user"], "quotes:read")
    no_scope = bearer_for(db, world["gold_user"], "deals:read")
    other = bearer_for(db, world["other_admin"], "quotes:read quotes:write")
    gold = bearer_for(db, world["gold_user"], "quotes:read")
    vendor = bearer_for(db, world["manager"], "quotes:read quotes:write")
    with unchanged(db, (Quote, quote_id), (Quote, draft_id)):
        assert api.get(f"/api/v1/quotes/{quote_id}", headers=read_only).status_code == 200
        refused = api.post(
            f"/api/v1/quotes/{quote_id}/decline", json={"reason": "x"}, headers=read_only
        )
        assert refused.status_code == 403 and refused.mimetype == PROBLEM
        assert api.get("/api/v1/quotes", headers=no_scope).status_code == 403
        assert api.get(f"/api/v1/quotes/{quote_id}", headers=other).status_code == 404
        assert (
            api.post(
                f"/api/v1/quotes/{quote_id}/decline", json={"reason": "x"}, headers=other
            ).status_code
            == 404
        )
        assert api.get("/api/v1/quotes", headers=other).get_json()["items"] == []
        assert api.get(f"/api/v1/quotes/{draft_id}", headers=gold).status_code == 404
        assert api.get(f"/api/v1/quotes/{draft_id}", headers=vendor).status_code == 200
        # Vendor staff read every quote but never answer one.
        assert (
            api.post(
                f"/api/v1/quotes/{quote_id}/decline", json={"reason": "x"}, headers=vendor
            ).status_code
            == 403
        )
    assert db.get(Quote, quote_id).status == "sent"
    assert "/api/v1/quotes/{quote_id}/accept" in api.get("/api/v1/openapi.json").get_json()["paths"]


def test_a_draft_revision_leaves_the_recipient_its_live_version(client_as, api, db, world):
    quote_id = sent_quote(client_as, world)
    vendor = client_as(world["manager"])
    v2_id = int(vendor.post(f"/quotes/{quote_id}/revise").headers["Location"].split("/")[-1])
    headers = bearer_for(db, world["gold_user"], "quotes:read quotes:write")
    body = api.get(f"/api/v1/quotes/{quote_id}", headers=headers).get_json()
    assert body["status"] == "sent" and body["superseded_by_id"] is None  # never a draft
    with unchanged(db, (Quote, v2_id)):
        assert api.get(f"/api/v1/quotes/{v2_id}", headers=headers).status_code == 404
    add(vendor, v2_id, "PSU-1", 2)
    vendor.post(f"/quotes/{v2_id}/send", data={"snapshot": seen(vendor, v2_id)})
    body = api.get(f"/api/v1/quotes/{quote_id}", headers=headers).get_json()
    assert body["status"] == "superseded" and body["superseded_by_id"] == v2_id
    assert api.get(f"/api/v1/quotes/{v2_id}", headers=headers).get_json()["status"] == "sent"
