"""The API's machinery, over real HTTP with real tokens: problem+json errors, the tenant wall
(404 for foreign records), the role behind a token, cursor pagination, Idempotency-Key, the JSON
content type, and rate limits per client."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from portal.identity.models import Invitation, Organization, User
from portal.notify.models import OutboxMessage
from tests.integration.oauth_support import (
    REDIRECT_URI,
    api_get,
    assert_problem,
    bearer,
    cc_token,
    make_api_client,
    user_tokens,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORG_SCOPES = "organizations:read users:read"


@pytest.fixture
def partner(org_factory):
    return org_factory("reseller", name="API Resellers Ltd")


@pytest.fixture
def partner_token(client, db, partner):
    api_client = make_api_client(
        db,
        partner,
        service_role="partner_admin",
        scopes="organizations:read users:read users:write",
    )
    return cc_token(client, api_client, "organizations:read users:read users:write")["access_token"]


def walk(http, token: str, limit: int = 2) -> list[list[int]]:
    """Every page of /api/v1/organizations, following next_cursor; the ids of each page."""
    pages, cursor = [], None
    for _ in range(1000):
        url = f"/api/v1/organizations?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = api_get(http, url, token)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        pages.append([o["id"] for o in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("pagination never ended")


# errors


def test_no_token_is_401_problem_with_www_authenticate(client):
    response = client.get("/api/v1/me")
    problem = assert_problem(response, 401)
    assert problem["type"] == "about:blank" and problem["title"] == "Unauthorized"
    assert set(problem) <= {"type", "title", "status", "detail"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Cache-Control"] == "no-store"


def test_an_unknown_token_is_401_invalid_token(client):
    response = api_get(client, "/api/v1/me", "made-up-token")
    assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_signed_in_browser_session_counts_for_nothing_at_the_api(
    client_as, partner, user_factory
):
    client = client_as(user_factory(partner, "partner_admin"))
    assert_problem(client.get("/api/v1/me"), 401)


def test_unknown_api_route_is_a_404_problem(client, partner_token):
    assert_problem(api_get(client, "/api/v1/no-such-thing", partner_token), 404)


def test_foreign_records_are_404_like_missing_ones(
    client, db, org_factory, user_factory, partner, partner_token
):
    other = org_factory("reseller", name="Other Reseller ZZQ")
    other_user = user_factory(other, "partner_user")
    own_user = user_factory(partner, "partner_user")
    for path in (f"/api/v1/organizations/{other.id}", f"/api/v1/users/{other_user.id}"):
        problem = assert_problem(api_get(client, path, partner_token), 404)
        assert problem["title"] == "Not Found"
        assert "ZZQ" not in str(problem) and other_user.email not in str(problem)
    missing = assert_problem(api_get(client, "/api/v1/organizations/987654321", partner_token), 404)
    assert missing["title"] == "Not Found"
    assert api_get(client, f"/api/v1/organizations/{partner.id}", partner_token).status_code == 200
    own = api_get(client, f"/api/v1/users/{own_user.id}", partner_token)
    assert own.status_code == 200 and own.get_json()["email"] == own_user.email
    listed = api_get(client, "/api/v1/users?limit=100", partner_token).get_json()["items"]
    assert own_user.id in {u["id"] for u in listed}
    assert other_user.id not in {u["id"] for u in listed}


def test_both_ways_the_wall_holds(client, db, org_factory, user_factory, partner, partner_token):
    """Organisation A's token on B's records, and B's token on A's."""
    other = org_factory("supplier")
    other_client = make_api_client(db, other, service_role="partner_admin")
    other_token = cc_token(client, other_client, ORG_SCOPES)["access_token"]
    mine = user_factory(partner, "partner_user")
    theirs = user_factory(other, "partner_user")
    assert_problem(api_get(client, f"/api/v1/organizations/{partner.id}", other_token), 404)
    assert_problem(api_get(client, f"/api/v1/users/{mine.id}", other_token), 404)
    assert_problem(api_get(client, f"/api/v1/organizations/{other.id}", partner_token), 404)
    assert_problem(api_get(client, f"/api/v1/users/{theirs.id}", partner_token), 404)


def test_a_users_token_gets_no_more_than_the_users_role(client_as, db, partner, user_factory):
    """Scopes intersected with the role: a partner user's token with users:* still may not list
    or invite users, because the role does not allow it."""
    app_client = make_api_client(
        db,
        partner,
        redirect_uris=[REDIRECT_URI],
        scopes="organizations:read users:read users:write",
    )
    client = client_as(user_factory(partner, "partner_user"))
    token = user_tokens(client, app_client, scope="organizations:read users:read users:write")[
        "access_token"
    ]
    assert_problem(api_get(client, "/api/v1/users", token), 403)
    posted = client.post(
        "/api/v1/invitations",
        json={"email": "nope@example.test", "name": "N", "role": "partner_user"},
        headers=bearer(token),
    )
    assert_problem(posted, 403)
    assert api_get(client, "/api/v1/organizations", token).status_code == 200


def test_a_token_of_a_deactivated_user_stops_working(client_as, db, partner, user_factory):
    app_client = make_api_client(db, partner, redirect_uris=[REDIRECT_URI])
    user = user_factory(partner, "partner_user")
    client = client_as(user)
    token = user_tokens(client, app_client)["access_token"]
    assert api_get(client, "/api/v1/me", token).status_code == 200
    db.get(User, user.id, populate_existing=True).active = False
    db.flush()
    assert_problem(api_get(client, "/api/v1/me", token), 401)


def test_a_client_token_of_a_deactivated_organisation_stops_working(client, db, partner):
    api_client = make_api_client(db, partner, service_role="partner_admin")
    token = cc_token(client, api_client, ORG_SCOPES)["access_token"]
    assert api_get(client, "/api/v1/me", token).status_code == 200
    db.get(Organization, partner.id, populate_existing=True).active = False
    db.flush()
    assert_problem(api_get(client, "/api/v1/me", token), 401)
    refused = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=api_client.basic
    )
    assert refused.status_code == 401


# pagination


def test_cursor_pagination_walks_every_visible_row_exactly_once(client, db, vendor, org_factory):
    for kind in ("reseller", "supplier", "distributor", "customer", "customer"):
        org_factory(kind)
    vendor_client = make_api_client(db, vendor, service_role="vendor_admin")
    token = cc_token(client, vendor_client, "organizations:read")["access_token"]
    pages = walk(client, token, limit=2)
    ids = [i for page in pages for i in page]
    everyone = db.scalars(select(Organization.id).order_by(Organization.id)).all()
    assert ids == everyone  # every row, once, in id order
    assert all(len(page) == 2 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 2
    assert len(pages) == -(-len(everyone) // 2)


def test_pagination_shows_a_partner_only_what_it_may_see(
    client, db, vendor, org_factory, partner, partner_token
):
    managed = [org_factory("customer", managed_by_id=partner.id) for _ in range(3)]
    org_factory("customer")
    org_factory("reseller")
    ids = [i for page in walk(client, partner_token, limit=2) for i in page]
    assert sorted(ids) == ids and len(set(ids)) == len(ids)
    assert set(ids) == {vendor.id, partner.id, *(m.id for m in managed)}


def test_rows_added_while_walking_are_neither_skipped_nor_repeated(client, db, vendor, org_factory):
    vendor_client = make_api_client(db, vendor, service_role="vendor_admin")
    token = cc_token(client, vendor_client, "organizations:read")["access_token"]
    for _ in range(3):
        org_factory("reseller")
    first = api_get(client, "/api/v1/organizations?limit=2", token).get_json()
    late = org_factory("reseller")
    seen = [o["id"] for o in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        body = api_get(client, f"/api/v1/organizations?limit=2&cursor={cursor}", token).get_json()
        seen += [o["id"] for o in body["items"]]
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen)) and late.id in seen


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        base64.urlsafe_b64encode(b"id:abc").decode().rstrip("="),
        base64.urlsafe_b64encode(b"offset:3").decode().rstrip("="),
        "%FF%FE",
    ],
)
def test_a_bad_cursor_is_a_422_problem(client, partner_token, cursor):
    response = api_get(client, f"/api/v1/organizations?limit=2&cursor={cursor}", partner_token)
    problem = assert_problem(response, 422)
    assert problem["title"] == "Unprocessable Content"


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=two", "cursor=" + "A" * 101])
def test_bad_paging_parameters_are_422_problems(client, partner_token, query):
    response = api_get(client, f"/api/v1/organizations?{query}", partner_token)
    problem = assert_problem(response, 422)
    assert problem.get("errors"), problem


# Idempotency-Key


def invite(http, token: str, key: str | None, **body):
    payload = {"email": "ivy@example.test", "name": "Ivy Invitee", "role": "partner_user", **body}
    headers = bearer(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post("/api/v1/invitations", json=payload, headers=headers)


def invitations(db, email: str, org_id: int | None = None) -> list[Invitation]:
    stmt = select(Invitation).where(Invitation.email == email).order_by(Invitation.id)
    if org_id is not None:
        stmt = stmt.where(Invitation.org_id == org_id)
    return db.scalars(stmt.execution_options(populate_existing=True)).all()


def test_the_same_key_and_body_is_done_once(client, db, partner, partner_token, mailbox):
    first = invite(client, partner_token, "key-1")
    assert first.status_code == 201, first.get_data(as_text=True)
    again = invite(client, partner_token, "key-1")
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    rows = invitations(db, "ivy@example.test")
    assert len(rows) == 1 and rows[0].org_id == partner.id
    assert rows[0].id == first.get_json()["id"]
    assert len(mailbox.to("ivy@example.test")) == 1
    outbox = db.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.to_address == "ivy@example.test")
    )
    assert outbox == 1


def test_the_same_key_with_another_body_is_422(client, db, partner_token, mailbox):
    assert invite(client, partner_token, "key-2").status_code == 201
    problem = assert_problem(invite(client, partner_token, "key-2", name="Someone Else"), 422)
    assert "Idempotency-Key" in problem["detail"]
    assert len(invitations(db, "ivy@example.test")) == 1
    assert len(mailbox.to("ivy@example.test")) == 1


def test_without_a_key_each_post_acts(client, db, partner_token, mailbox):
    assert invite(client, partner_token, None).status_code == 201
    assert invite(client, partner_token, None).status_code == 201
    assert len(invitations(db, "ivy@example.test")) == 2  # the second replaces the first
    assert len(mailbox.to("ivy@example.test")) == 2


def test_keys_are_independent_per_client_and_organisation(
    client, db, org_factory, partner, partner_token, mailbox
):
    assert invite(client, partner_token, "shared-key").status_code == 201
    other = org_factory("distributor")
    other_client = make_api_client(db, other, service_role="partner_admin", scopes="users:write")
    other_token = cc_token(client, other_client, "users:write")["access_token"]
    theirs = invite(client, other_token, "shared-key")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert [i.org_id for i in invitations(db, "ivy@example.test")] == [partner.id, other.id]
    assert len(mailbox.to("ivy@example.test")) == 2

    # Another client of the same organisation has its own keys too.
    sibling = make_api_client(db, partner, service_role="partner_admin", scopes="users:write")
    sibling_token = cc_token(client, sibling, "users:write")["access_token"]
    again = invite(client, sibling_token, "shared-key", email="other@example.test")
    assert again.status_code == 201 and again.get_json()["email"] == "other@example.test"


def test_an_idempotency_key_of_bad_length_is_422(client, partner_token):
    assert_problem(invite(client, partner_token, "k" * 201), 422)


def test_a_refused_request_is_not_remembered(client, db, partner_token):
    bad = invite(client, partner_token, "key-3", role="vendor_admin")
    assert_problem(bad, 422)
    good = invite(client, partner_token, "key-3", role="vendor_admin")
    assert_problem(good, 422)  # evaluated again, not a replay of a stored answer
    assert not invitations(db, "ivy@example.test")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (
            "email=ivy%40example.test&name=Ivy&role=partner_user",
            "application/x-www-form-urlencoded",
        ),
        ('{"email": "ivy@example.test"}', "text/plain"),
    ],
)
def test_a_post_that_is_not_json_is_415(client, db, partner_token, data, content_type):
    response = client.post(
        "/api/v1/invitations", data=data, content_type=content_type, headers=bearer(partner_token)
    )
    problem = assert_problem(response, 415)
    assert problem["title"] == "Unsupported Media Type"
    assert not invitations(db, "ivy@example.test")


def test_a_json_body_that_breaks_the_schema_is_a_422_problem(client, partner_token):
    response = client.post(
        "/api/v1/invitations",
        json={"email": "not-an-email", "name": "", "role": "partner_user"},
        headers=bearer(partner_token),
    )
    problem = assert_problem(response, 422)
    fields = {e["loc"][-1] for e in problem["errors"]}
    assert {"email", "name"} <= fields


# rate limits


@pytest.fixture
def api_rate_limit(app):
    original = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "3 per minute"
    yield
    app.config["API_RATE_LIMIT"] = original


def test_rate_limit_per_client(client, db, partner, org_factory, api_rate_limit):
    busy = make_api_client(db, partner, service_role="partner_admin")
    calm = make_api_client(db, org_factory("supplier"), service_role="partner_admin")
    with time_machine.travel(START, tick=False):
        busy_token = cc_token(client, busy, ORG_SCOPES)["access_token"]
        calm_token = cc_token(client, calm, ORG_SCOPES)["access_token"]
        for _ in range(3):
            assert api_get(client, "/api/v1/me", busy_token).status_code == 200
        limited = api_get(client, "/api/v1/me", busy_token)
        problem = assert_problem(limited, 429)
        assert problem["title"] == "Too Many Requests"
        assert int(limited.headers["Retry-After"]) > 0
        # Another client is not affected.
        assert api_get(client, "/api/v1/me", calm_token).status_code == 200


def test_the_rate_limit_counts_every_api_route_of_a_client(client, db, partner, api_rate_limit):
    busy = make_api_client(db, partner, service_role="partner_admin")
    with time_machine.travel(START, tick=False):
        token = cc_token(client, busy, ORG_SCOPES)["access_token"]
        for _ in range(3):
            assert api_get(client, "/api/v1/me", token).status_code == 200
        assert_problem(api_get(client, "/api/v1/me", token), 429)
        # The limit is the client's across the API, not per route.
        assert_problem(api_get(client, "/api/v1/organizations", token), 429)
