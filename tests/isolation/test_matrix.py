"""The tenant-isolation matrix.

It walks ``app.url_map``: every route, every method, every role. For a route with a record id,
it asks for a record of a foreign organisation and expects 404, exactly as for a record that does
not exist (a 403 is accepted only where the role lacks the route's action altogether, so the answer
is the same for every id and tells nothing). It also asks for a visible record the role may not
change and expects 403. For a list page it checks that no foreign organisation's rows appear.
GET requests must not write. A route whose parameters the matrix does not know fails the test
until someone teaches it (tests/isolation/world.py): no route can skip the wall.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal import access, export
from portal.clock import utcnow
from portal.identity.tokens import hash_token
from portal.oauth.models import OAuthToken
from tests import isolation
from tests.isolation.world import RECORD_KINDS, World, build_world

for _module in pkgutil.iter_modules(isolation.__path__):  # features' record kinds
    if _module.name.startswith("kinds_"):
        importlib.import_module(f"tests.isolation.{_module.name}")

# Endpoints that carry no tenant data at all, with the reason.
NOT_TENANT_DATA = {
    "static": "the portal's own CSS and images",
    "bootstrap.static": "Bootstrap's files, served locally",
}

# Route parameters that are not record ids, and the values the matrix uses for them.
NON_RECORD_PARAMS = {
    "change": None,  # an <any(...)> choice: the matrix takes the converter's first
    "decision": None,
    # Secret capability links (invitation, password reset): whoever holds the token may use it,
    # whatever organisation they are signed in to; a made-up token must be refused.
    "token": "made-up-token-that-does-not-exist",
    # A CSV export's list (/export/<key>.csv): every registered export is asked for, each a list
    # page whose file must hold no foreign row (and a key nobody registered answers 404).
    "key": export.keys,
}

MISSING_ID = 987_654_321

# List pages that show nothing until asked: the matrix also asks them with words that match the
# foreign organisations' records (every marker holds a word starting "zzq", and "foreign" or
# "secret"), so that a record leaking through the search would show on the page.
LIST_QUERIES = {
    "search.index": ({"q": "zzq"}, {"q": "foreign"}, {"q": "secret"}),
    "export.csv_file": ({"q": "zzq"}, {"q": "foreign"}, {"q": "secret"}),
}


@pytest.fixture
def world(db) -> World:
    return build_world(db)


# API routes answer bearer tokens only; the matrix gives each role a token with every scope, so
# what stops it is the wall and the role, never a missing scope.
PUBLIC_API_ENDPOINTS = {"api.openapi", "api.reference"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_TENANT_DATA:
            continue
        unknown = set(rule.arguments) - set(RECORD_KINDS) - set(NON_RECORD_PARAMS)
        assert not unknown, (
            f"{rule.rule}: the isolation matrix does not know the parameter(s) {sorted(unknown)}."
            " Teach it with record_kind() in a tests/isolation/kinds_*.py module."
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
def test_isolation_matrix(app, db, client_as, world, role_name, get_writes):
    role = access.ROLES[role_name]
    client = client_as(world.users[role_name])
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

        record_params = [p for p in rule.arguments if p in RECORD_KINDS]
        action = _required_action(app, rule.endpoint)
        role_lacks_action = action is not None and not role_name_allows(
            role_name, world.home[role.audience].kind, action
        )
        if not record_params:
            if method == "GET":
                for params in _non_record_values(rule):
                    for query in ({}, *LIST_QUERIES.get(rule.endpoint, ())):
                        url = adapter.build(rule.endpoint, {**params, **query})
                        _check_list_page(client, url, world, role, headers)
                    checked += 1
            continue
        (params,) = _non_record_values(rule)  # one value each beside a record id
        (param,) = record_params  # routes carry one record id; teach the matrix if that changes
        for foreign_id in RECORD_KINDS[param].foreign(db, world, role):
            url = adapter.build(rule.endpoint, {**params, param: foreign_id})
            status = ask(url)
            missing = ask(adapter.build(rule.endpoint, {**params, param: MISSING_ID}))
            assert status == missing, f"{role_name} {method} {url}: {status}, missing id {missing}"
            assert status == 404 or (status == 403 and role_lacks_action), (
                f"{role_name} {method} {url} answered {status} for a foreign record"
            )
            checked += 1
        own = RECORD_KINDS[param].own(db, world, role)  # None: the role sees none of them
        if method == "GET" and own is not None:  # a visible record renders (or is refused)
            url = adapter.build(rule.endpoint, {**params, param: own})
            status = ask(url)
            if status == 301:  # a page that moved (an old address kept): where it leads renders
                status = client.get(url, follow_redirects=True).status_code
            assert status in ((403,) if role_lacks_action else (200,)), f"{role_name} GET {url}"
            checked += 1
        if method == "POST" and role_lacks_action and own is not None:
            url = adapter.build(rule.endpoint, {**params, param: own})
            assert ask(url) == 403, f"{role_name} POST {url} must be 403"
            checked += 1
    assert checked > 10
    assert not get_writes, f"GET requests wrote to the database: {get_writes}"


def role_name_allows(role_name: str, org_kind: str, action: str) -> bool:
    """The role allows the action, and the kind of its organisation does not rule it out (the
    home partner is a reseller: a supplier's or a distributor's page is 403 for it)."""
    return access.allows(role_name, org_kind, action)


def _non_record_value(rule, param: str) -> str:
    items = getattr(rule._converters.get(param), "items", None)  # an <any(...)> choice
    return sorted(items)[0] if items else NON_RECORD_PARAMS[param]


def _non_record_values(rule) -> list[dict]:
    """The route's parameters that are no record id, as the combinations to ask for: one value
    each, except a parameter whose values are a function of the app (every export's key), which
    is asked for with each."""
    combinations: list[dict] = [{}]
    for param in rule.arguments:
        if param not in NON_RECORD_PARAMS:
            continue
        value = _non_record_value(rule, param)
        values = value() if callable(value) else [value]
        combinations = [{**c, param: v} for c in combinations for v in values]
    return combinations


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
    if response.mimetype == "application/zip":  # a person's data export: read what it holds
        import io
        import zipfile

        archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
        body = "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    else:
        body = response.get_data(as_text=True)
    markers = world.private_markers
    if role.audience != "vendor":  # vendor staff see every organisation's records by design
        markers = markers + world.markers
    for marker in markers:
        assert marker not in body, f"{role.name} GET {url} shows foreign data {marker!r}"


def test_matrix_refuses_a_route_it_does_not_know(app):
    """A new route with an unknown parameter must fail the matrix, not slip past it."""
    from flask import Flask

    probe = Flask("probe")
    probe.add_url_rule("/things/<int:thing_id>", "thing", lambda thing_id: "")
    with pytest.raises(AssertionError, match="does not know the parameter"):
        list(_routes(probe))
