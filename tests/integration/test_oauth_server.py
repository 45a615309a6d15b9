"""The portal as OAuth 2 authorisation server, over real HTTP: client credentials, authorisation
code with PKCE S256 and consent, refresh-token rotation, revocation (RFC 7009), introspection
(RFC 7662), the server's metadata (RFC 8414), and no plaintext credential at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from sqlalchemy import select, text

from portal import access
from portal.db import Base
from portal.identity.models import User
from portal.identity.tokens import hash_token
from portal.oauth.models import OAuthAuthorizationCode, OAuthClient, OAuthToken
from tests.integration.oauth_support import (
    REDIRECT_URI,
    ApiClient,
    Pkce,
    api_get,
    assert_problem,
    authorize_url,
    cc_token,
    client_credentials,
    exchange_code,
    introspect,
    make_api_client,
    obtain_code,
    redirect_params,
    refresh,
    revoke,
    shown_client,
    token_request,
    user_tokens,
)
from tests.unchanged import unchanged

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def partner(org_factory):
    return org_factory("reseller", name="Token Resellers Ltd")


@pytest.fixture
def managed(org_factory, partner):
    return org_factory("customer", name="Managed Customer", managed_by_id=partner.id)


@pytest.fixture
def stranger(org_factory):
    return org_factory("customer", name="Unrelated Customer")


@pytest.fixture
def member(partner, user_factory):
    return user_factory(partner, "partner_user")


@pytest.fixture
def app_client(db, partner):
    """A confidential client of the partner that acts for users (authorisation code)."""
    return make_api_client(
        db, partner, redirect_uris=[REDIRECT_URI], scopes="organizations:read users:read"
    )


@pytest.fixture
def service_client(db, partner):
    """A confidential client of the partner that acts as the organisation (client credentials)."""
    return make_api_client(
        db, partner, service_role="partner_admin", scopes="organizations:read users:read"
    )


def visible_org_ids(http, token: str) -> set[int]:
    response = api_get(http, "/api/v1/organizations?limit=100", token)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {o["id"] for o in response.get_json()["items"]}


def fetch_token_row(db, access_token: str) -> OAuthToken:
    return db.scalar(
        select(OAuthToken)
        .where(OAuthToken.access_token_hash == hash_token(access_token))
        .execution_options(populate_existing=True)
    )


# client_credentials


def test_client_credentials_token_acts_as_the_organisation_with_its_service_role(
    client, db, vendor, partner, managed, stranger, service_client
):
    answer = cc_token(client, service_client, "organizations:read users:read")
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 900
    assert "refresh_token" not in answer
    assert fetch_token_row(db, answer["access_token"]).refresh_token_hash is None

    me = api_get(client, "/api/v1/me", answer["access_token"])
    assert me.status_code == 200
    body = me.get_json()
    assert body["organization"]["id"] == partner.id
    assert body["role"] == "partner_admin" and body["user"] is None
    assert body["scopes"] == ["organizations:read", "users:read"]
    # Its own organisation, the vendor, and the customers it manages: nothing else.
    assert visible_org_ids(client, answer["access_token"]) == {partner.id, vendor.id, managed.id}


def test_a_customer_client_sees_only_itself_and_the_vendor(client, db, vendor, managed, stranger):
    customer_client = make_api_client(db, managed, service_role="customer_user")
    token = cc_token(client, customer_client, "organizations:read")["access_token"]
    assert visible_org_ids(client, token) == {managed.id, vendor.id}
    me = api_get(client, "/api/v1/me", token).get_json()
    assert me["role"] == "customer_user" and me["organization"]["id"] == managed.id


def test_client_secret_post_works_too(client, service_client):
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "scope": "users:read",
            "client_id": service_client.client_id,
            "client_secret": service_client.secret,
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_scope_not_granted_is_403_problem(client, service_client):
    token = cc_token(client, service_client, "users:read")["access_token"]
    problem = assert_problem(api_get(client, "/api/v1/organizations", token), 403)
    assert "organizations:read" in problem["detail"]
    assert 'error="insufficient_scope"' in client.get(
        "/api/v1/organizations", headers={"Authorization": f"Bearer {token}"}
    ).headers.get("WWW-Authenticate", "")


def test_scopes_beyond_the_clients_are_refused_as_invalid_scope(client, db, partner):
    """RFC 6749 §5.2: asking for a scope the client lacks is ``invalid_scope``, naming what it
    lacks, and no token is issued (it used to be narrowed silently, possibly to none)."""
    narrow = make_api_client(db, partner, service_role="partner_admin", scopes="organizations:read")
    with unchanged(db, counted=[OAuthToken]):
        refused = client_credentials(client, narrow, "organizations:read users:write leads:write")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_scope"
    assert "leads:write users:write" in refused.get_json()["error_description"]
    answer = cc_token(client, narrow, "organizations:read")
    assert answer["scope"] == "organizations:read"
    assert fetch_token_row(db, answer["access_token"]).scope == "organizations:read"
    me = api_get(client, "/api/v1/me", answer["access_token"]).get_json()
    assert me["scopes"] == ["organizations:read"]
    # No scope asked: everything the client was given.
    assert cc_token(client, narrow, "")["scope"] == "organizations:read"


def test_a_client_without_service_role_or_with_a_wrong_secret_gets_no_client_token(
    client, app_client, service_client
):
    refused = client_credentials(client, app_client, "users:read")
    assert refused.status_code == 400 and refused.get_json()["error"] == "unauthorized_client"
    service_client.secret = "not-the-secret"
    refused = client_credentials(client, service_client, "users:read")
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in refused.headers


# authorization_code


def test_authorization_code_with_pkce_acts_as_the_user(client_as, db, member, partner, app_client):
    client = client_as(member)
    pkce = Pkce.new()
    url = authorize_url(app_client, pkce=pkce, state="s-123")
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert app_client.row.name in html and "organizations:read" in html
    assert 'value="approve"' in html

    response = client.post(url, data={"decision": "approve"})
    target, params = redirect_params(response)
    assert target == REDIRECT_URI and params["state"] == "s-123" and params["code"]
    code_row = db.scalar(select(OAuthAuthorizationCode))
    assert code_row.code_challenge == pkce.challenge and code_row.code_challenge_method == "S256"

    answer = exchange_code(client, app_client, params["code"], pkce.verifier)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    tokens = answer.get_json()
    assert tokens["access_token"] and tokens["refresh_token"]
    assert tokens["scope"] == "organizations:read users:read"

    me = api_get(client, "/api/v1/me", tokens["access_token"]).get_json()
    assert me["user"]["id"] == member.id and me["user"]["email"] == member.email
    assert me["role"] == "partner_user" and me["organization"]["id"] == partner.id


def test_a_public_client_exchanges_its_code_with_pkce_and_no_secret(client_as, db, member, partner):
    public = make_api_client(db, partner, redirect_uris=[REDIRECT_URI], confidential=False)
    client = client_as(member)
    tokens = user_tokens(client, public)
    me = api_get(client, "/api/v1/me", tokens["access_token"]).get_json()
    assert me["user"]["id"] == member.id


def test_a_confidential_client_cannot_exchange_a_code_without_its_secret(
    client_as, member, app_client
):
    client = client_as(member)
    pkce = Pkce.new()
    code = obtain_code(client, app_client, pkce)
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": pkce.verifier,
            "client_id": app_client.client_id,
        },
    )
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    assert exchange_code(client, app_client, code, pkce.verifier).status_code == 200


def test_a_user_is_never_asked_to_grant_scopes_the_client_lacks(client_as, db, member, app_client):
    """The consent page refuses (``invalid_scope``, naming what the client lacks) a request for
    scopes beyond the client's, on the page and on approval; no code is issued."""
    client = client_as(member)
    url = authorize_url(app_client, scope="organizations:read leads:write users:write")
    page = client.get(url)
    assert page.status_code == 400
    assert "leads:write users:write" in page.get_data(as_text=True)
    with unchanged(db, counted=[OAuthAuthorizationCode, OAuthToken]):
        assert client.post(url, data={"decision": "approve"}).status_code == 400
    tokens = user_tokens(client, app_client, scope="organizations:read")
    assert tokens["scope"] == "organizations:read"
    assert fetch_token_row(db, tokens["access_token"]).scope == "organizations:read"


def test_pkce_is_required(client_as, member, app_client, db):
    client = client_as(member)
    url = authorize_url(app_client, omit=("code_challenge", "code_challenge_method"))
    page = client.get(url)
    assert page.status_code == 400
    assert "PKCE is required" in page.get_data(as_text=True)
    assert client.post(url, data={"decision": "approve"}).status_code == 400
    assert db.scalar(select(OAuthAuthorizationCode)) is None


def test_plain_code_challenge_method_is_refused(client_as, member, app_client, db):
    client = client_as(member)
    pkce = Pkce.new()
    url = authorize_url(app_client, pkce=pkce, method="plain")
    page = client.get(url)
    assert page.status_code == 400
    assert "S256" in page.get_data(as_text=True)
    assert client.post(url, data={"decision": "approve"}).status_code == 400
    assert db.scalar(select(OAuthAuthorizationCode)) is None


def test_a_wrong_or_missing_verifier_is_refused(client_as, member, app_client):
    client = client_as(member)
    pkce = Pkce.new()
    code = obtain_code(client, app_client, pkce)
    missing = exchange_code(client, app_client, code, None)
    assert missing.status_code == 400 and missing.get_json()["error"] == "invalid_request"
    wrong = exchange_code(client, app_client, code, Pkce.new().verifier)
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"


def test_a_reused_code_is_refused_and_revokes_what_it_gave(client_as, member, app_client):
    client = client_as(member)
    pkce = Pkce.new()
    code = obtain_code(client, app_client, pkce)
    first = exchange_code(client, app_client, code, pkce.verifier)
    assert first.status_code == 200
    tokens = first.get_json()
    assert api_get(client, "/api/v1/me", tokens["access_token"]).status_code == 200

    again = exchange_code(client, app_client, code, pkce.verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    assert_problem(api_get(client, "/api/v1/me", tokens["access_token"]), 401)
    assert refresh(client, app_client, tokens["refresh_token"]).get_json()["error"] == (
        "invalid_grant"
    )


def test_an_expired_code_is_refused(client_as, member, app_client):
    client = client_as(member)
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        pkce = Pkce.new()
        code = obtain_code(client, app_client, pkce)
        traveller.shift(timedelta(seconds=121))
        late = exchange_code(client, app_client, code, pkce.verifier)
    assert late.status_code == 400 and late.get_json()["error"] == "invalid_grant"


def test_a_code_of_another_client_is_refused(client_as, db, member, partner, app_client):
    other = make_api_client(db, partner, redirect_uris=[REDIRECT_URI])
    client = client_as(member)
    pkce = Pkce.new()
    code = obtain_code(client, app_client, pkce)
    stolen = exchange_code(client, other, code, pkce.verifier)
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"
    assert exchange_code(client, app_client, code, pkce.verifier).status_code == 200


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT_URI + "/extra",
        REDIRECT_URI + "?next=https://evil.test/",
        REDIRECT_URI + "/",
        "https://evil.test/callback",
        REDIRECT_URI.replace("https://", "http://"),
    ],
)
def test_a_redirect_uri_not_exactly_registered_is_refused(
    client_as, member, app_client, db, redirect_uri
):
    client = client_as(member)
    url = authorize_url(app_client, redirect_uri=redirect_uri)
    page = client.get(url)
    assert page.status_code == 400 and "Location" not in page.headers
    refused = client.post(url, data={"decision": "approve"})
    assert refused.status_code == 400 and "Location" not in refused.headers
    assert db.scalar(select(OAuthAuthorizationCode)) is None


def test_the_token_request_must_repeat_the_codes_redirect_uri(client_as, db, member, partner):
    second = REDIRECT_URI.replace("callback", "other")
    two = make_api_client(db, partner, redirect_uris=[REDIRECT_URI, second])
    client = client_as(member)
    pkce = Pkce.new()
    code = obtain_code(client, two, pkce)
    mismatch = exchange_code(client, two, code, pkce.verifier, redirect_uri=second)
    assert mismatch.status_code == 400 and mismatch.get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("who", ["vendor_admin", "partner_admin_elsewhere"])
def test_users_may_authorise_only_their_own_organisations_clients(
    client, client_as, db, vendor, org_factory, user_factory, app_client, who
):
    if who == "vendor_admin":
        client = client_as(user_factory(vendor, "vendor_admin"))
    else:
        client = client_as(user_factory(org_factory("reseller"), "partner_admin"))
    url = authorize_url(app_client)
    page = client.get(url)
    assert page.status_code == 400
    assert "cannot be authorised" in page.get_data(as_text=True)
    refused = client.post(url, data={"decision": "approve"})
    assert refused.status_code == 400 and "Location" not in refused.headers
    assert db.scalar(select(OAuthAuthorizationCode)) is None


def test_deny_redirects_with_access_denied(client_as, member, app_client, db):
    client = client_as(member)
    url = authorize_url(app_client, state="deny-me")
    assert client.get(url).status_code == 200
    target, params = redirect_params(client.post(url, data={"decision": "deny"}))
    assert target == REDIRECT_URI
    assert params["error"] == "access_denied" and params["state"] == "deny-me"
    assert "code" not in params
    assert db.scalar(select(OAuthAuthorizationCode)) is None


def test_consent_needs_a_signed_in_user(client, app_client):
    response = client.get(authorize_url(app_client))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# refresh_token


def test_refresh_rotates_the_refresh_token_and_keeps_the_user(client_as, member, app_client):
    client = client_as(member)
    first = user_tokens(client, app_client)
    response = refresh(client, app_client, first["refresh_token"])
    assert response.status_code == 200, response.get_data(as_text=True)
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == first["scope"]

    me = api_get(client, "/api/v1/me", second["access_token"]).get_json()
    assert me["user"]["id"] == member.id and me["role"] == "partner_user"

    old = refresh(client, app_client, first["refresh_token"])
    assert old.status_code == 400 and old.get_json()["error"] == "invalid_grant"
    third = refresh(client, app_client, second["refresh_token"])
    assert third.status_code == 200
    assert api_get(client, "/api/v1/me", third.get_json()["access_token"]).get_json()["user"][
        "id"
    ] == (member.id)


def test_another_client_cannot_use_a_refresh_token(client_as, db, member, partner, app_client):
    other = make_api_client(db, partner, redirect_uris=[REDIRECT_URI])
    client = client_as(member)
    tokens = user_tokens(client, app_client)
    stolen = refresh(client, other, tokens["refresh_token"])
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"
    assert refresh(client, app_client, tokens["refresh_token"]).status_code == 200


# revocation (RFC 7009)


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
@pytest.mark.parametrize("with_hint", [True, False])
def test_revocation_ends_the_token_at_the_api(client_as, member, app_client, which, with_hint):
    client = client_as(member)
    tokens = user_tokens(client, app_client)
    assert api_get(client, "/api/v1/me", tokens["access_token"]).status_code == 200
    response = revoke(client, app_client, tokens[which], which if with_hint else None)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    problem = assert_problem(api_get(client, "/api/v1/me", tokens["access_token"]), 401)
    assert problem["title"] == "Unauthorized"
    assert refresh(client, app_client, tokens["refresh_token"]).status_code == 400


def test_revocation_with_a_wrong_hint_still_revokes(client_as, member, app_client):
    client = client_as(member)
    tokens = user_tokens(client, app_client)
    assert revoke(client, app_client, tokens["access_token"], "refresh_token").status_code == 200
    assert_problem(api_get(client, "/api/v1/me", tokens["access_token"]), 401)


def test_revoking_a_client_credentials_token(client, service_client):
    token = cc_token(client, service_client, "users:read")["access_token"]
    assert revoke(client, service_client, token).status_code == 200
    assert_problem(api_get(client, "/api/v1/me", token), 401)
    # An unknown token is answered 200 too (RFC 7009 2.2): nothing to tell an attacker.
    assert revoke(client, service_client, "no-such-token").status_code == 200


def test_a_client_cannot_revoke_another_clients_token(client, db, partner, service_client):
    other = make_api_client(db, partner, service_role="partner_admin")
    token = cc_token(client, service_client, "users:read")["access_token"]
    response = revoke(client, other, token)
    assert response.status_code == 400  # refused (RFC 7009 2.1), and nothing revoked
    assert api_get(client, "/api/v1/me", token).status_code == 200
    assert fetch_token_row(db, token).revoked_at is None


def test_revocation_needs_client_authentication(client, service_client):
    token = cc_token(client, service_client, "users:read")["access_token"]
    response = client.post("/oauth/revoke", data={"token": token})
    assert response.status_code == 401
    assert api_get(client, "/api/v1/me", token).status_code == 200


# introspection (RFC 7662)


def test_introspection_tells_the_owner_about_its_token(client, db, partner, service_client):
    with time_machine.travel(START, tick=False):
        answer = cc_token(client, service_client, "organizations:read users:read")
        response = introspect(client, service_client, answer["access_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    info = response.get_json()
    assert info["active"] is True
    assert info["client_id"] == service_client.client_id
    assert info["scope"] == "organizations:read users:read"
    assert info["token_type"] == "Bearer"
    assert info["exp"] == int((START + timedelta(seconds=900)).timestamp())
    assert info["iat"] == int(START.timestamp())
    assert info["sub"] == f"client:{service_client.client_id}"


def test_introspection_of_a_user_token_names_the_user(client_as, member, app_client):
    client = client_as(member)
    tokens = user_tokens(client, app_client)
    info = introspect(client, app_client, tokens["refresh_token"], "refresh_token").get_json()
    assert info["active"] is True and info["sub"] == str(member.id)


def test_introspection_of_another_clients_token_is_inactive(
    client, db, org_factory, service_client
):
    foreign = make_api_client(db, org_factory("supplier"), service_role="partner_admin")
    token = cc_token(client, service_client, "users:read")["access_token"]
    assert introspect(client, foreign, token).get_json() == {"active": False}


def test_introspection_of_a_revoked_token_is_inactive(client, service_client):
    token = cc_token(client, service_client, "users:read")["access_token"]
    assert revoke(client, service_client, token).status_code == 200
    assert introspect(client, service_client, token).get_json() == {"active": False}


def test_introspection_of_an_expired_token_is_inactive(client, service_client):
    with time_machine.travel(START, tick=False) as traveller:
        token = cc_token(client, service_client, "users:read")["access_token"]
        traveller.shift(timedelta(seconds=899))
        assert introspect(client, service_client, token).get_json()["active"] is True
        assert api_get(client, "/api/v1/me", token).status_code == 200
        traveller.shift(timedelta(seconds=2))
        assert introspect(client, service_client, token).get_json() == {"active": False}
        assert_problem(api_get(client, "/api/v1/me", token), 401)


def test_introspection_with_a_wrong_hint_still_finds_the_token(client, service_client):
    token = cc_token(client, service_client, "users:read")["access_token"]
    info = introspect(client, service_client, token, "refresh_token").get_json()
    assert info["active"] is True


def test_introspection_agrees_with_the_api_about_a_deactivated_user(
    client_as, db, member, app_client
):
    client = client_as(member)
    tokens = user_tokens(client, app_client)
    db.get(User, member.id, populate_existing=True).active = False
    db.flush()
    assert_problem(api_get(client, "/api/v1/me", tokens["access_token"]), 401)
    assert introspect(client, app_client, tokens["access_token"]).get_json() == {"active": False}


def test_introspection_needs_a_confidential_client(client, db, partner, service_client):
    token = cc_token(client, service_client, "users:read")["access_token"]
    assert client.post("/oauth/introspect", data={"token": token}).status_code == 401
    public = make_api_client(db, partner, redirect_uris=[REDIRECT_URI], confidential=False)
    response = client.post(
        "/oauth/introspect", data={"token": token, "client_id": public.client_id}
    )
    assert response.status_code == 401


# metadata (RFC 8414)


def test_metadata_lists_exactly_the_supported_grants(app, client):
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    doc = response.get_json()
    base = app.config["BASE_URL"]
    assert doc["issuer"] == base
    assert doc["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    flat = str(doc)
    assert "implicit" not in flat and "password" not in flat and "plain" not in flat
    assert doc["token_endpoint"] == base + "/oauth/token"
    assert doc["authorization_endpoint"] == base + "/oauth/authorize"
    assert doc["revocation_endpoint"] == base + "/oauth/revoke"
    assert doc["introspection_endpoint"] == base + "/oauth/introspect"
    assert doc["scopes_supported"] == list(access.SCOPES)
    assert "none" not in doc["introspection_endpoint_auth_methods_supported"]

    # RFC 8414 wants an https issuer: the test app's http://portal.test fails authlib's check...
    with pytest.raises(ValueError, match="https"):
        AuthorizationServerMetadata(doc).validate()
    # ...and the same document for an https deployment passes it whole.
    original = app.config["BASE_URL"]
    app.config["BASE_URL"] = "https://portal.example.test"
    try:
        secure = client.get("/.well-known/oauth-authorization-server").get_json()
    finally:
        app.config["BASE_URL"] = original
    AuthorizationServerMetadata(secure).validate()
    assert secure["issuer"] == "https://portal.example.test"


def test_the_scopes_offered_are_the_scopes_the_api_asks_for(app):
    """No scope is offered that no endpoint needs (an unused scope promises what the API does
    not do), and every scope an endpoint needs is offered."""
    needed = set()
    without_action = set()
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("api."):
            action = getattr(view, "required_action", None)
            if action is None:
                without_action.add(endpoint)
            else:
                needed.add(access.scope_for(action))
    # The organisation endpoints check their scope themselves; the others need none.
    assert without_action == {
        "api.openapi", "api.reference", "api.me", "api.list_organizations", "api.get_organization"
    }  # fmt: skip
    needed.add("organizations:read")
    assert None not in needed
    assert needed == set(access.SCOPES)


def test_the_metadata_grant_list_matches_what_the_token_endpoint_accepts(
    client, client_as, member, app_client, service_client
):
    for grant in ("password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"):
        response = token_request(
            client,
            service_client,
            {"grant_type": grant, "username": member.email, "password": "x"},
        )
        assert response.status_code == 400
        assert response.get_json()["error"] == "unsupported_grant_type"
    client = client_as(member)
    implicit = client.get(
        authorize_url(app_client).replace("response_type=code", "response_type=token")
    )
    assert implicit.status_code == 400


# nothing in plaintext at rest


def test_no_secret_token_or_code_is_stored_in_plaintext(client_as, db, partner, user_factory):
    client = client_as(user_factory(partner, "partner_admin"))
    created = client.post(
        "/admin/api-clients/new",
        data={
            "name": "Everything client",
            "confidential": "y",
            "service_role": "partner_admin",
            "redirect_uris": REDIRECT_URI,
            "scopes": ["organizations:read", "users:read", "users:write"],
        },
    )
    assert created.status_code == 200
    client_id, first_secret = shown_client(created.get_data(as_text=True))
    row = db.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    rotated = client.post(f"/admin/api-clients/{row.id}/rotate-secret")
    _, secret = shown_client(rotated.get_data(as_text=True))
    api_client = ApiClient(row, client_id, secret)
    plaintexts = {"first secret": first_secret, "secret": secret}

    service = cc_token(client, api_client, "organizations:read users:write")
    plaintexts["client token"] = service["access_token"]
    pkce = Pkce.new()
    code = obtain_code(client, api_client, pkce)
    plaintexts["code"] = code
    plaintexts["verifier"] = pkce.verifier
    user = exchange_code(client, api_client, code, pkce.verifier).get_json()
    plaintexts["user access"] = user["access_token"]
    plaintexts["user refresh"] = user["refresh_token"]
    rotated_tokens = refresh(client, api_client, user["refresh_token"]).get_json()
    plaintexts["rotated access"] = rotated_tokens["access_token"]
    plaintexts["rotated refresh"] = rotated_tokens["refresh_token"]
    pkce2 = Pkce.new()
    plaintexts["unused code"] = obtain_code(client, api_client, pkce2)
    invited = client.post(
        "/api/v1/invitations",
        json={"email": "plain@example.test", "name": "P", "role": "partner_user"},
        headers={"Authorization": f"Bearer {service['access_token']}", "Idempotency-Key": "k"},
    )
    assert invited.status_code == 201, invited.get_data(as_text=True)

    db.expire_all()
    seen_rows = {}
    for table in Base.metadata.sorted_tables:
        rows = db.execute(text(f"SELECT * FROM {table.name}")).all()  # noqa: S608
        seen_rows[table.name] = len(rows)
        for values in rows:
            for cell in values:
                for what, plain in plaintexts.items():
                    assert plain not in str(cell), f"{what} in plaintext in {table.name}"
    # The scan saw the rows it was meant to look at.
    assert seen_rows["oauth_clients"] >= 1
    assert seen_rows["oauth_tokens"] >= 3
    assert seen_rows["oauth_authorization_codes"] >= 2
