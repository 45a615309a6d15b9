"""An organisation's admins manage its API clients through the pages: the secret is shown once
and stored only as a hash; rotation and disabling take effect at the token endpoint and the API at
once; bad input is refused with a clear message and writes nothing; other people get 403 or 404."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.audit import AuditEvent
from portal.identity.tokens import hash_token
from portal.oauth.models import OAuthClient, OAuthToken
from tests.integration.oauth_support import (
    ApiClient,
    api_get,
    assert_problem,
    basic_auth,
    cc_token,
    client_credentials,
    make_api_client,
    refresh,
    shown_client,
    user_tokens,
)
from tests.unchanged import unchanged

SCOPES = ["organizations:read", "users:read"]


@pytest.fixture
def partner(org_factory):
    return org_factory("reseller", name="Client Makers Ltd")


@pytest.fixture
def admin(partner, user_factory):
    return user_factory(partner, "partner_admin")


def register(http, **fields):
    data = {
        "name": "Warehouse sync",
        "confidential": "y",
        "service_role": "partner_admin",
        "redirect_uris": "",
        "scopes": SCOPES,
        **fields,
    }
    data = {k: v for k, v in data.items() if v is not None}  # an absent checkbox is False
    return http.post("/admin/api-clients/new", data=data)


def stored(db, client_id: str) -> OAuthClient:
    return db.scalar(
        select(OAuthClient)
        .where(OAuthClient.client_id == client_id)
        .execution_options(populate_existing=True)
    )


def count_clients(db) -> int:
    return db.scalar(select(func.count()).select_from(OAuthClient))


def test_secret_is_shown_once_and_only_its_hash_is_stored(client_as, admin, db):
    client = client_as(admin)
    response = register(
        client, redirect_uris="https://app.example.test/cb\nhttp://127.0.0.1:8765/cb"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    client_id, secret = shown_client(page)
    assert secret and len(secret) >= 32
    assert "shown only once" in page

    row = stored(db, client_id)
    assert row.org_id == admin.org_id and row.service_role == "partner_admin"
    assert row.redirect_uris == ["https://app.example.test/cb", "http://127.0.0.1:8765/cb"]
    assert row.scopes == "organizations:read users:read" and row.confidential
    assert row.secret_hash == hash_token(secret) and row.secret_hash != secret
    for column in OAuthClient.__table__.columns:
        assert secret not in str(getattr(row, column.key)), column.key

    detail = client.get(f"/admin/api-clients/{row.id}")
    assert detail.status_code == 200
    body = detail.get_data(as_text=True)
    assert client_id in body
    assert secret not in body and 'data-testid="client-secret"' not in body
    index = client.get("/admin/api-clients/").get_data(as_text=True)
    assert client_id in index and secret not in index

    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "api_client.registered"))
    assert event.object_id == row.id and secret not in str(event.after)

    # The secret shown is the one that works.
    assert client_credentials(client, _as_api_client(row, secret), "users:read").status_code == 200


def _as_api_client(row: OAuthClient, secret: str) -> ApiClient:
    return ApiClient(row, row.client_id, secret)


def test_rotation_ends_the_old_secret_and_its_tokens_and_the_new_one_works(client_as, admin, db):
    client = client_as(admin)
    client_id, old_secret = shown_client(register(client).get_data(as_text=True))
    row = stored(db, client_id)
    old = _as_api_client(row, old_secret)
    issued = client_credentials(client, old, "users:read")
    assert issued.status_code == 200
    held = issued.get_json()["access_token"]
    assert api_get(client, "/api/v1/me", held).status_code == 200

    response = client.post(f"/admin/api-clients/{row.id}/rotate-secret")
    assert response.status_code == 200
    _, new_secret = shown_client(response.get_data(as_text=True))
    assert new_secret and new_secret != old_secret

    with unchanged(db, stored(db, client_id), counted=[OAuthToken]):
        refused = client_credentials(client, old, "users:read")
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    assert client_credentials(
        client, _as_api_client(row, new_secret), "users:read"
    ).status_code == (200)
    # The token obtained with the old secret stopped working with it, not 15 minutes later.
    assert_problem(api_get(client, "/api/v1/me", held), 401)
    row = stored(db, client_id)
    assert row.secret_hash == hash_token(new_secret) and row.secret_rotated_at is not None
    page = client.get(f"/admin/api-clients/{row.id}").get_data(as_text=True)
    assert new_secret not in page and old_secret not in page


def test_disabling_ends_its_tokens_and_the_token_endpoint_refuses_it(client_as, admin, db):
    client = client_as(admin)
    client_id, secret = shown_client(register(client).get_data(as_text=True))
    api_client = _as_api_client(stored(db, client_id), secret)
    token = cc_token(client, api_client, "users:read")["access_token"]
    assert api_get(client, "/api/v1/me", token).status_code == 200

    response = client.post(f"/admin/api-clients/{api_client.row.id}/disable")
    assert response.status_code == 302
    assert stored(db, client_id).status == "disabled"

    with unchanged(db, stored(db, client_id), counted=[OAuthToken]):
        problem = assert_problem(api_get(client, "/api/v1/me", token), 401)
        refused = client_credentials(client, api_client, "users:read")
    assert problem["title"] == "Unauthorized"
    assert refused.status_code in (400, 401) and refused.get_json()["error"] == "invalid_client"
    assert "Disabled" in client.get(f"/admin/api-clients/{api_client.row.id}").get_data(
        as_text=True
    )


def test_reenabling_a_client_does_not_revive_its_old_tokens(client_as, admin, db):
    client = client_as(admin)
    client_id, secret = shown_client(
        register(client, redirect_uris="https://app.example.test/callback").get_data(as_text=True)
    )
    api_client = _as_api_client(stored(db, client_id), secret)
    service_token = cc_token(client, api_client, "users:read")["access_token"]
    user = user_tokens(client, api_client, redirect_uri="https://app.example.test/callback")
    url = f"/admin/api-clients/{api_client.row.id}"
    assert client.post(url + "/disable").status_code == 302
    assert client.post(url + "/enable").status_code == 302
    assert stored(db, client_id).status == "active"
    moves = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "OAuthClient", AuditEvent.object_id == api_client.row.id)
        .where(AuditEvent.action.in_(["api_client.disabled", "api_client.enabled"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.before["status"], e.after["status"]) for e in moves] == [
        ("api_client.disabled", "active", "disabled"),
        ("api_client.enabled", "disabled", "active"),
    ]
    # The client works again, with new tokens; what it held when disabled stays dead.
    assert cc_token(client, api_client, "users:read")["access_token"]
    with unchanged(db, stored(db, client_id), counted=[OAuthToken]):
        assert_problem(api_get(client, "/api/v1/me", service_token), 401)
        assert_problem(api_get(client, "/api/v1/me", user["access_token"]), 401)
        assert refresh(client, api_client, user["refresh_token"]).status_code == 400


@pytest.mark.parametrize(
    ("fields", "field_message"),
    [
        ({"scopes": None}, "Choose at least one scope from the list."),
        ({"scopes": ["organizations:read", "everything:write"]}, "is not a valid choice"),
        (
            {"redirect_uris": "http://app.example.test/cb", "service_role": ""},
            "must use https (http only for 127.0.0.1)",
        ),
        (
            {"redirect_uris": "https://app.example.test/cb#frag", "service_role": ""},
            "without a fragment",
        ),
        ({"service_role": "vendor_admin"}, "Not a valid choice"),  # another audience's role
        (
            {"confidential": None, "redirect_uris": "https://app.example.test/cb"},
            "only a confidential client acts on its own",
        ),
        ({"service_role": "", "redirect_uris": ""}, "Give redirect URIs"),
        ({"name": "   "}, "This field is required."),
    ],
)
def test_bad_input_gets_a_clear_422_and_writes_nothing(client_as, admin, db, fields, field_message):
    client = client_as(admin)
    before = count_clients(db)
    with unchanged(db, counted=[OAuthClient]):
        response = register(client, **fields)
    assert response.status_code == 422, fields
    assert field_message in response.get_data(as_text=True), fields
    db.expire_all()
    assert count_clients(db) == before
    assert not db.scalar(select(AuditEvent).where(AuditEvent.action == "api_client.registered"))


def test_partner_user_may_not_manage_api_clients(client_as, partner, user_factory, db):
    existing = make_api_client(db, partner, service_role="partner_user")
    client = client_as(user_factory(partner, "partner_user"))
    before = count_clients(db)
    with unchanged(db, existing.row, counted=[OAuthClient]):
        assert client.get("/admin/api-clients/").status_code == 403
        assert client.get("/admin/api-clients/new").status_code == 403
        assert register(client).status_code == 403
        assert client.get(f"/admin/api-clients/{existing.row.id}").status_code == 403
        assert client.post(f"/admin/api-clients/{existing.row.id}/rotate-secret").status_code == 403
        assert client.post(f"/admin/api-clients/{existing.row.id}/disable").status_code == 403
    db.expire_all()
    assert count_clients(db) == before
    row = stored(db, existing.client_id)
    assert row.status == "active" and row.secret_hash == hash_token(existing.secret)


@pytest.mark.parametrize("viewer", ["partner_admin_of_another_partner", "vendor_admin"])
def test_another_organisations_client_is_404(
    client, client_as, partner, vendor, org_factory, user_factory, db, viewer
):
    foreign = make_api_client(db, partner, service_role="partner_admin", name="Foreign ZZQ sync")
    if viewer == "vendor_admin":
        client = client_as(user_factory(vendor, "vendor_admin"))
    else:
        client = client_as(user_factory(org_factory("reseller"), "partner_admin"))
    url = f"/admin/api-clients/{foreign.row.id}"
    with unchanged(db, foreign.row, counted=[OAuthClient]):
        assert client.get(url).status_code == 404
        assert client.post(url + "/rotate-secret").status_code == 404
        assert client.post(url + "/disable").status_code == 404
    assert "Foreign ZZQ sync" not in client.get("/admin/api-clients/").get_data(as_text=True)
    row = stored(db, foreign.client_id)
    assert row.status == "active" and row.secret_hash == hash_token(foreign.secret)
    assert client_credentials(client, foreign, "users:read").status_code == 200


def test_public_client_has_no_secret(client_as, admin, db):
    client = client_as(admin)
    response = register(
        client, confidential=None, service_role="", redirect_uris="http://127.0.0.1:9000/cb"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    client_id, secret = shown_client(response.get_data(as_text=True))
    assert secret is None
    row = stored(db, client_id)
    assert not row.confidential and row.secret_hash is None
    with unchanged(db, row, counted=[OAuthToken]):
        assert client.post(f"/admin/api-clients/{row.id}/rotate-secret").status_code == 302
        # It cannot use client_credentials, with or without a made-up secret.
        refused = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "users:read"},
            headers=basic_auth(client_id, "made-up"),
        )
    assert refused.status_code in (400, 401)
