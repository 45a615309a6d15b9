"""The tenant-isolation matrix.

It walks ``app.url_map``: every route, every method, every role. For a route with a record id,
it asks for a record of a foreign organisation and expects 404, exactly as for a record that does
not exist (a 403 is accepted only where the role lacks the route's action altogether, so the answer
is the same for every id and tells nothing). It also asks for a visible record the role may not
change and expects 403. For a list page it checks that no foreign organisation's rows appear.
GET requests must not write. A route whose parameters the matrix does not know fails the test
until someone teaches it below: no route can skip the wall.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal import access
from portal.clock import utcnow
from portal.identity.models import Invitation, Organization, User
from portal.identity.tokens import hash_token
from portal.notify.models import Notification
from portal.oauth.models import OAuthClient, OAuthToken
from tests import factories

# Endpoints that carry no tenant data at all, with the reason.
NOT_TENANT_DATA = {
    "static": "the portal's own CSS and images",
    "bootstrap.static": "Bootstrap's files, served locally",
}

# Route parameters that are not record ids, and the values the matrix uses for them.
NON_RECORD_PARAMS = {
    "change": None,  # an <any(...)> choice: the matrix takes the converter's first
    # Secret capability links (invitation, password reset): whoever holds the token may use it,
    # whatever organisation they are signed in to; a made-up token must be refused.
    "token": "made-up-token-that-does-not-exist",
}

MISSING_ID = 987_654_321


@dataclass
class World:
    vendor: Organization
    home: dict[str, Organization]  # audience -> the signed-in user's organisation
    foreign: list[Organization]  # organisations unrelated to any home organisation
    users: dict[str, User] = field(default_factory=dict)  # role -> signed-in user
    colleague: dict[str, User] = field(default_factory=dict)  # audience -> another user at home
    foreign_users: list[User] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)  # text that must never show to outsiders
    clients: dict[str, OAuthClient] = field(default_factory=dict)  # audience -> API client


def _invitation(db, org: Organization, email: str) -> Invitation:
    from datetime import timedelta

    from portal.clock import utcnow

    inv = Invitation(
        org_id=org.id,
        email=email,
        name="Invited Person",
        role="partner_user" if org.kind != "customer" else "customer_user",
        token_hash=email.ljust(64, "x")[:64],
        expires_at=utcnow() + timedelta(days=3),
    )
    db.add(inv)
    db.flush()
    return inv


def _api_client(db, org: Organization, name: str) -> OAuthClient:
    client = OAuthClient(
        org_id=org.id,
        client_id=f"matrix-{org.id}-{len(name)}",
        name=name,
        secret_hash=hash_token("matrix-secret"),
        redirect_uris=[],
        scopes=" ".join(access.SCOPES),
        service_role=None,
    )
    db.add(client)
    db.flush()
    return client


def _notification(db, user: User, title: str) -> Notification:
    n = Notification(org_id=user.org_id, user_id=user.id, kind="admin.member_joined", title=title)
    db.add(n)
    db.flush()
    return n


@pytest.fixture
def world(db) -> World:
    vendor = factories.vendor_org(db)
    reseller = factories.make_org(db, "reseller", name="Home Reseller Ltd")
    customer = factories.make_org(
        db, "customer", name="Home Customer plc", managed_by_id=reseller.id
    )
    foreign_reseller = factories.make_org(db, "reseller", name="Foreign Reseller ZZQX")
    foreign_customer = factories.make_org(
        db, "customer", name="Foreign Customer ZZQY", managed_by_id=foreign_reseller.id
    )
    w = World(
        vendor=vendor,
        home={"vendor": vendor, "partner": reseller, "customer": customer},
        foreign=[foreign_reseller, foreign_customer],
    )
    for role in access.ROLES.values():
        w.users[role.name] = factories.make_user(db, w.home[role.audience], role.name)
    for audience, org in w.home.items():
        w.colleague[audience] = factories.make_user(
            db, org, access.roles_for(org.kind)[-1].name, name=f"Colleague at {org.name}"
        )
        _invitation(db, org, f"pending-{audience}@home.test")
        w.clients[audience] = _api_client(db, org, f"Home client of {org.name}")
    for org in w.foreign:
        u = factories.make_user(
            db, org, email=f"secret-person@{org.kind}-zzq.test", name=f"Secret Person of {org.name}"
        )
        w.foreign_users.append(u)
        _invitation(db, org, f"invited-zzq@{org.kind}.test")
        _notification(db, u, f"Private note for {org.name}")
        _api_client(db, org, f"Secret client ZZQC of {org.name}")
        w.markers += [org.name, u.email, f"invited-zzq@{org.kind}.test"]
    for audience, colleague in w.colleague.items():
        _notification(db, colleague, f"Colleague-only notice {audience} ZZQN")
        w.markers.append(f"Colleague-only notice {audience} ZZQN")
    return w


def _foreign_ids(db, w: World, param: str, role: access.Role) -> list[int]:
    """Records of this kind that a user of ``role`` must not see."""
    vendor_staff = role.audience == "vendor"
    if param == "notification_id":  # per-user: foreign even inside one's own organisation
        return [n.id for n in db.query(Notification).all() if n.user_id != w.users[role.name].id]
    if param == "api_client_id":  # credentials: only their own organisation sees them
        home = w.home[role.audience].id
        return [c.id for c in db.query(OAuthClient).filter(OAuthClient.org_id != home)]
    if vendor_staff:
        return []  # vendor staff see every organisation's records by design
    if param == "org_id":
        return [o.id for o in w.foreign]
    if param == "user_id":
        return [u.id for u in w.foreign_users]
    if param == "invitation_id":
        return [
            i.id
            for i in db.query(Invitation).filter(Invitation.org_id.in_([o.id for o in w.foreign]))
        ]
    raise AssertionError(f"the matrix does not know the route parameter {param!r}")


def _own_id(db, w: World, param: str, role: access.Role) -> int:
    """A record of this kind that a user of ``role`` can see (to check 403 on writes)."""
    home = w.home[role.audience]
    if param == "notification_id":
        return _notification(db, w.users[role.name], "Own notice").id
    if param == "org_id":
        return home.id
    if param == "user_id":
        return w.colleague[role.audience].id
    if param == "invitation_id":
        return db.query(Invitation).filter_by(org_id=home.id).first().id
    if param == "api_client_id":
        return w.clients[role.audience].id
    raise AssertionError(f"the matrix does not know the route parameter {param!r}")


RECORD_PARAMS = {"org_id", "user_id", "invitation_id", "notification_id", "api_client_id"}

# API routes answer bearer tokens only; the matrix gives each role a token with every scope, so
# what stops it is the wall and the role, never a missing scope.
PUBLIC_API_ENDPOINTS = {"api.openapi", "api.reference"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_TENANT_DATA:
            continue
        unknown = set(rule.arguments) - RECORD_PARAMS - set(NON_RECORD_PARAMS)
        assert not unknown, (
            f"{rule.rule}: the isolation matrix does not know the parameter(s) {sorted(unknown)}."
            " Teach it in tests/isolation/test_matrix.py how to build a foreign record."
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _required_action(app, endpoint: str) -> str | None:
    return getattr(app.view_functions[endpoint], "required_action", None)


@pytest.fixture
def get_writes(app):
    """Records every flush that writes during a GET request (there must be none)."""
    from flask import has_request_context, request

    writes: list[str] = []

    def check(session, flush_context, instances):
        if (
            has_request_context()
            and request.method == "GET"
            and (session.new or session.dirty or session.deleted)
        ):
            writes.append(f"{request.path}: {list(session.new) + list(session.dirty)}")

    event.listen(Session, "before_flush", check)
    yield writes
    event.remove(Session, "before_flush", check)


@pytest.mark.parametrize("role_name", list(access.ROLES))
def test_isolation_matrix(app, db, world, role_name, get_writes):
    role = access.ROLES[role_name]
    client = app.test_client()
    response = client.post(
        "/login", data={"email": world.users[role_name].email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    bearer = _bearer_headers(db, world, role)
    adapter = app.url_map.bind("localhost")
    checked = 0
    for rule, method in _routes(app):
        if rule.endpoint == "identity.logout":
            continue  # would end this session; covered in test_sign_in
        is_api = rule.endpoint.startswith("api.") and rule.endpoint not in PUBLIC_API_ENDPOINTS
        headers = bearer if is_api else {}

        def ask(url, method=method, headers=headers):
            return client.open(url, method=method, headers=headers).status_code

        params = {p: _non_record_value(rule, p) for p in rule.arguments if p in NON_RECORD_PARAMS}
        record_params = [p for p in rule.arguments if p in RECORD_PARAMS]
        action = _required_action(app, rule.endpoint)
        role_lacks_action = action is not None and not role_name_allows(role_name, action)
        if not record_params:
            if method == "GET":
                _check_list_page(client, adapter.build(rule.endpoint, params), world, role, headers)
                checked += 1
            continue
        (param,) = record_params  # routes carry one record id; teach the matrix if that changes
        for foreign_id in _foreign_ids(db, world, param, role):
            url = adapter.build(rule.endpoint, {**params, param: foreign_id})
            status = ask(url)
            missing = ask(adapter.build(rule.endpoint, {**params, param: MISSING_ID}))
            assert status == missing, f"{role_name} {method} {url}: {status}, missing id {missing}"
            assert status == 404 or (status == 403 and role_lacks_action), (
                f"{role_name} {method} {url} answered {status} for a foreign record"
            )
            checked += 1
        if method == "GET":  # the visible record's page renders (or is refused) without error
            url = adapter.build(rule.endpoint, {**params, param: _own_id(db, world, param, role)})
            status = ask(url)
            assert status in ((403,) if role_lacks_action else (200,)), f"{role_name} GET {url}"
            checked += 1
        if method == "POST" and role_lacks_action:
            url = adapter.build(rule.endpoint, {**params, param: _own_id(db, world, param, role)})
            assert ask(url) == 403, f"{role_name} POST {url} must be 403"
            checked += 1
    assert checked > 10
    assert not get_writes, f"GET requests wrote to the database: {get_writes}"


def role_name_allows(role_name: str, action: str) -> bool:
    return access.role_allows(role_name, action)


def _non_record_value(rule, param: str) -> str:
    items = getattr(rule._converters.get(param), "items", None)  # an <any(...)> choice
    return sorted(items)[0] if items else NON_RECORD_PARAMS[param]


def _bearer_headers(db, w: World, role: access.Role) -> dict:
    """A token of the role's user, through its organisation's client, with every scope."""
    raw = f"matrix-token-{role.name}"
    db.add(
        OAuthToken(
            org_id=w.home[role.audience].id,
            client_pk=w.clients[role.audience].id,
            user_id=w.users[role.name].id,
            access_token_hash=hash_token(raw),
            scope=" ".join(access.SCOPES),
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    db.flush()
    return {"Authorization": f"Bearer {raw}"}


def _check_list_page(
    client, url: str, world: World, role: access.Role, headers: dict | None = None
) -> None:
    response = client.get(url, headers=headers or {})
    assert response.status_code < 500, f"{role.name} GET {url}: {response.status_code}"
    body = response.get_data(as_text=True)
    markers = world.markers
    if role.audience == "vendor":  # vendor staff see all organisations, never others' notices
        markers = [m for m in markers if "ZZQN" in m]
    for marker in markers:
        assert marker not in body, f"{role.name} GET {url} shows foreign data {marker!r}"


def test_matrix_refuses_a_route_it_does_not_know(app):
    """A new route with an unknown parameter must fail the matrix, not slip past it."""
    from flask import Flask

    probe = Flask("probe")
    probe.add_url_rule("/things/<int:thing_id>", "thing", lambda thing_id: "")
    with pytest.raises(AssertionError, match="does not know the parameter"):
        list(_routes(probe))
