"""Schema-driven fuzzing of the REST API with schemathesis, in-process against the Flask app.

Every operation of ``/api/v1/openapi.json`` is exercised with generated requests (schemathesis'
examples, coverage and fuzzing phases) under the bearer token of organisation A's admin, holding
every scope. Each response goes through all of schemathesis' default checks (no server error,
documented status code, content type and response schema that conform to the document, and the
rest) and through ``no_foreign_records`` below: a response to organisation A never contains a
record of organisation B, by name, email or id, nor any organisation reference (``org_id``,
``managed_by_id``, ``*_org_id``) naming B; and no help-centre article A's audience may not read.
B also has an idea, a vote and a comment on the shared ideas board: the idea and the comment are
A's to read, but who wrote them (B's people, B's organisation) is not.

``schema.parametrize()`` makes one pytest test per operation, each with its own ``db``
transaction (rolled back afterwards) holding the two organisations. The document is read at
collection time from a throwaway app with no database (the app under test serves the same one,
which a test below checks); the requests go in-process to the session's ``app`` through
schemathesis' WSGI transport. (``schemathesis.pytest.from_fixture``, which would load the schema
from a fixture instead, does not run under pytest 9.2: it sets ``Function._nodeid``, which pytest
no longer has.) Hypothesis is derandomized and bounded, so CI sends the same requests every run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from feedback.ideas.models import IdeaComment, IdeaVote
from partners.funds.models import FundBudget
from partners.funds.services.common import current_quarter
from portal import access
from portal.api.pagination import encode_cursor
from portal.clock import utcnow
from portal.identity.models import Invitation, Organization, User
from portal.identity.tokens import hash_token
from portal.oauth.models import OAuthClient, OAuthToken
from tests import factories

MAX_EXAMPLES = 50
TOKEN = "fuzz-token-of-org-a-admin"

# Organisation B's records carry this in every name and email, so any trace of them is easy to spot.
B_MARK = "Qzvxb"


@dataclass
class Tenants:
    org_a: Organization
    admin_a: User
    visible_org_ids: list[int]  # what A's admin may see: A, the vendor, A's customer
    a_user_ids: list[int]
    b_org_ids: set[int]
    b_user_ids: set[int]
    b_invitation_ids: set[int]
    b_markers: list[str]
    headers: dict[str, str]
    hidden_article_ids: list[int] = field(default_factory=list)  # not for A's audience
    b_idea_id: int | None = None  # on the shared board: A reads it, never its author
    checked: int = 0  # responses no_foreign_records looked at
    leaks: list[str] = field(default_factory=list)


# The tenants of the running test, for the custom check (checks get no pytest fixtures).
_current: Tenants | None = None


def _walk(value):
    """Every JSON object inside ``value``, depth first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


ORG_REFERENCES = {"org_id", "managed_by_id"}


def foreign_records_in(tenants: Tenants, text: str) -> list[str]:
    """What of organisation B a response body shows: markers in the text, B's ids in records."""
    found = [m for m in tenants.b_markers if m.casefold() in text.casefold()]
    try:
        document = json.loads(text)
    except ValueError:
        return found
    for obj in _walk(document):
        for key, value in obj.items():  # any reference to an organisation
            if (key in ORG_REFERENCES or key.endswith("_org_id")) and value in tenants.b_org_ids:
                found.append(f"{key} {value} of B")
        if "kind" in obj and "id" in obj:  # an organisation
            if obj["id"] in tenants.b_org_ids:
                found.append(f"organisation {obj['id']} of B")
            if obj.get("managed_by_id") in tenants.b_org_ids:
                found.append(f"organisation managed by B ({obj['managed_by_id']})")
        elif "email" in obj and "id" in obj:  # a user or an invitation
            ids = tenants.b_invitation_ids if "expires_at" in obj else tenants.b_user_ids
            if obj["id"] in ids:
                found.append(f"record {obj['id']} of B: {obj}")
    return found


@schemathesis.check
def no_foreign_records(ctx, response, case):
    """A response to organisation A's token never contains a record of organisation B."""
    tenants = _current
    if tenants is None:  # another schemathesis test: nothing to compare against
        return None
    tenants.checked += 1
    found = foreign_records_in(tenants, response.text or "")
    if found:
        tenants.leaks.append(f"{case.method} {case.formatted_path}: {found}")
        raise AssertionError(
            f"{case.method} {case.formatted_path} answered {response.status_code} with records "
            f"of organisation B: {found}"
        )
    return None


@pytest.fixture
def tenants(app, db, monkeypatch):
    """Organisations A and B, with users, a customer each and a pending invitation; a token of
    A's admin with every scope. B's names and emails all carry ``B_MARK``."""
    global _current
    # Hundreds of requests in a few seconds: the per-client limit is not what is under test here.
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000 per minute")

    vendor = factories.vendor_org(db)
    org_a = factories.make_org(db, "reseller", name="Fuzz Home Reseller A")
    customer_a = factories.make_org(
        db, "customer", name="Fuzz Home Customer A", managed_by_id=org_a.id
    )
    admin_a = factories.make_user(db, org_a, "partner_admin", email="admin@fuzz-a.test")
    user_a = factories.make_user(db, org_a, "partner_user", email="member@fuzz-a.test")

    org_b = factories.make_org(db, "reseller", name=f"{B_MARK} Foreign Reseller")
    customer_b = factories.make_org(
        db, "customer", name=f"{B_MARK} Foreign Customer", managed_by_id=org_b.id
    )
    b_users = [
        factories.make_user(
            db, org_b, "partner_admin", email=f"admin@{B_MARK.lower()}-b.test", name=f"{B_MARK} Ann"
        ),
        factories.make_user(
            db, org_b, "partner_user", email=f"member@{B_MARK.lower()}-b.test", name=f"{B_MARK} Bo"
        ),
        factories.make_user(
            db,
            customer_b,
            "customer_admin",
            email=f"buyer@{B_MARK.lower()}-cust.test",
            name=f"{B_MARK} Cy",
        ),
    ]
    invitations = []
    for org, email in (
        (org_a, "invitee@fuzz-a.test"),
        (org_b, f"invitee@{B_MARK.lower()}-b.test"),
    ):
        invitation = Invitation(
            org_id=org.id,
            email=email,
            name="Invited Person",
            role="partner_user",
            token_hash=hash_token(email),
            expires_at=utcnow() + timedelta(days=3),
        )
        db.add(invitation)
        invitations.append(invitation)
    for org in (org_a, org_b):
        db.add(
            OAuthClient(
                org_id=org.id,
                client_id=f"fuzz-client-{org.id}",
                name=f"API client of {org.name}",
                secret_hash=hash_token("fuzz-secret"),
                redirect_uris=[],
                scopes=" ".join(access.SCOPES),
                service_role=None,
            )
        )
    year, quarter = current_quarter()  # a budget for fund requests (valid ones within it)
    db.add(FundBudget(org_id=org_a.id, year=year, quarter=quarter, amount=Decimal("1000000")))
    db.flush()
    client_a = db.query(OAuthClient).filter_by(org_id=org_a.id).one()
    db.add(
        OAuthToken(
            org_id=org_a.id,
            client_pk=client_a.id,
            user_id=admin_a.id,
            access_token_hash=hash_token(TOKEN),
            scope=" ".join(access.SCOPES),
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    db.flush()

    # The shared ideas board: B's idea (A may read it and vote) with B's vote and comment, and
    # an idea of A's own. Their text is no marker (everyone reads it); their authors are.
    b_idea = factories.make_idea(db, b_users[0], "Shared idea proposed elsewhere", vote_count=1)
    db.add(IdeaVote(org_id=org_b.id, idea_id=b_idea.id, user_id=b_users[0].id))
    db.add(
        IdeaComment(
            org_id=org_b.id,
            idea_id=b_idea.id,
            author_id=b_users[1].id,
            author_kind="partner",
            body="A comment from the other reseller",
        )
    )
    factories.make_idea(db, admin_a, "An idea of our own", product="security")
    # The help centre: what a partner reads, and what it must not (customers', internal, draft).
    factories.make_article(db, "Partner printer guide", "partners")
    hidden = [
        factories.make_article(db, f"{B_MARK} customers only", "customers"),
        factories.make_article(db, f"{B_MARK} internal runbook", "internal"),
        factories.make_article(db, f"{B_MARK} draft", "public", status="draft"),
    ]
    db.flush()

    markers = [B_MARK, org_b.name, customer_b.name, invitations[1].email]
    markers += [u.email for u in b_users] + [u.name for u in b_users]
    _current = Tenants(
        org_a=org_a,
        admin_a=admin_a,
        visible_org_ids=[org_a.id, vendor.id, customer_a.id],
        a_user_ids=[admin_a.id, user_a.id],
        b_org_ids={org_b.id, customer_b.id},
        b_user_ids={u.id for u in b_users},
        b_invitation_ids={invitations[1].id},
        b_markers=markers,
        headers={"Authorization": f"Bearer {TOKEN}"},
        hidden_article_ids=[a.id for a in hidden],
        b_idea_id=b_idea.id,
    )
    yield _current
    _current = None


A_ROLES = [r.name for r in access.roles_for("reseller")]


def _respect_business_rules(case) -> None:
    """Two rules the static document cannot state: an invitation's role must be one of the
    caller's organisation's roles, and a cursor must be one the API gave. A request the generator
    means to be valid (positive) gets values that follow them; everything else is sent as drawn,
    so invalid roles and made-up cursors are still sent (negative cases, and the probes below)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("role"), str) and body["role"] not in A_ROLES:
        body["role"] = A_ROLES[len(body["role"]) % len(A_ROLES)]
    if isinstance(body, dict) and "customer_domain" in body:
        # A deal registration: a registrable domain, a value above zero, a close date ahead and
        # products that are not blank, which a JSON schema cannot say.
        body["customer_domain"] = f"fuzzed-customer{len(str(body['customer_domain']))}.com"
        if not any(c in "123456789" for c in str(body.get("value", ""))):
            body["value"] = "1000.00"
        body["expected_close"] = "2099-01-01"
        body["products"] = [p if str(p).strip() else "switches" for p in body.get("products", [])]
        if not str(body.get("customer_name", "")).strip():
            body["customer_name"] = "Fuzzed Customer"
    if isinstance(body, dict) and "activity" in body and "starts_on" in body:
        # A fund request: an amount above zero within the quarter's budget (the fixture gives
        # one), for an activity that starts this quarter or later.
        body["amount"] = "100.00"
        body["starts_on"] = body["ends_on"] = utcnow().date().isoformat()
    if isinstance(body, dict) and body.get("product_id") is not None:
        # A case (issue 14, item 5): the fuzz world has no catalogue, so no product id exists;
        # the case is about its product line, or nothing.
        body["product_id"] = None
    if isinstance(body, dict) and case.operation.path.startswith("/api/v1/webhooks"):
        # A webhook endpoint: a public address (an address literal, so nothing is resolved) and
        # event patterns the catalogue knows.
        if isinstance(body.get("url"), str):
            body["url"] = f"https://93.184.215.{len(body['url']) % 250 + 1}/hook"
        if isinstance(body.get("events"), list):
            body["events"] = ["deal.*", "case.solved"][: 1 + len(body["events"]) % 2]
    query = case.query
    if isinstance(query, dict) and isinstance(query.get("cursor"), str):
        if case.operation.path == "/api/v1/ideas":  # the board's cursors carry their sort
            query.pop("cursor")
        else:
            query["cursor"] = encode_cursor(len(query["cursor"]))
    if isinstance(query, dict) and query.get("period") == "custom":
        # NPS and CSAT results: a custom period is a start before an end, within five years.
        query["start"], query["end"] = "2026-01-01", "2026-03-31"


def _served_document() -> dict:
    """The document as the API serves it, read at collection time from a throwaway app (no
    database is touched): schemathesis parametrizes at collection, before any fixture exists."""
    from portal.app import create_app

    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "fuzz",
            "DATABASE_URL": "sqlite://",
            "REDIS_URL": None,
            "SMTP_URL": None,
            "BASE_URL": "http://portal.test",
        }
    )
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200, response.status_code
    document = response.get_json()
    app.extensions["db"].engine.dispose()
    return document


DOCUMENT = _served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_api_conforms_to_its_document_and_never_shows_another_tenant(case, app, tenants):
    """One pytest test per operation (its own ``db`` transaction and tenants), sent to the app of
    the test session through schemathesis' WSGI transport."""
    _respect_business_rules(case)
    case.call_and_validate(headers=tenants.headers, app=app)


DOCUMENT_OPERATIONS = [(path, method) for path, ops in DOCUMENT["paths"].items() for method in ops]


def test_the_fuzzer_covers_every_operation_and_runs_the_tenant_check(app, tenants):
    """The document lists the operations the fuzz test walks; the custom check is registered
    and runs on every response (a check that silently never runs would prove nothing)."""
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    served = app.test_client().get("/api/v1/openapi.json").get_json()
    assert served["paths"] == DOCUMENT["paths"]  # what was fuzzed is what this app serves
    assert served["components"] == DOCUMENT["components"]
    labels = sorted(op.ok().label for op in loaded.get_all_operations())
    assert len(labels) == len(DOCUMENT_OPERATIONS)  # features' operations are fuzzed too
    assert set(labels) >= {
        "GET /api/v1/me",
        "GET /api/v1/organizations",
        "GET /api/v1/organizations/{org_id}",
        "GET /api/v1/users",
        "GET /api/v1/users/{user_id}",
        "POST /api/v1/invitations",
        "GET /api/v1/articles",
        "GET /api/v1/articles/search",
        "GET /api/v1/articles/{article_id}",
        "POST /api/v1/articles",
        "PATCH /api/v1/articles/{article_id}",
        "GET /api/v1/ideas",
        "GET /api/v1/ideas/{idea_id}",
        "POST /api/v1/ideas",
        "POST /api/v1/ideas/{idea_id}/vote",
        "POST /api/v1/ideas/{idea_id}/unvote",
        "POST /api/v1/ideas/{idea_id}/comments",
        "POST /api/v1/ideas/{idea_id}/follow",
        "POST /api/v1/ideas/{idea_id}/unfollow",
        "GET /api/v1/feedback/nps",
        "GET /api/v1/feedback/csat",
        "PATCH /api/v1/organizations/{org_id}",
    }
    me = loaded["/api/v1/me"]["GET"].Case()
    response = me.call_and_validate(headers=tenants.headers)
    assert response.status_code == 200
    assert response.json()["organization"]["id"] == tenants.org_a.id
    assert tenants.checked == 1


def test_the_tenant_check_catches_a_record_of_organisation_b(tenants):
    """The custom check itself: it sees B by name, by email and by id."""
    org_b_id = min(tenants.b_org_ids)
    user_b_id = min(tenants.b_user_ids)
    assert (
        foreign_records_in(tenants, json.dumps({"id": tenants.org_a.id, "kind": "reseller"})) == []
    )
    assert foreign_records_in(tenants, json.dumps({"items": [{"id": org_b_id, "kind": "x"}]}))
    assert foreign_records_in(
        tenants, json.dumps({"items": [{"id": user_b_id, "email": "x@y.test", "role": "r"}]})
    )
    assert foreign_records_in(tenants, json.dumps({"name": tenants.b_markers[1]}))
    assert foreign_records_in(tenants, f"<p>{tenants.b_markers[-1]}</p>")
    # Any organisation reference, wherever it sits (an idea's author, a case's org_id).
    assert foreign_records_in(tenants, json.dumps({"author": {"org_id": org_b_id}}))
    assert foreign_records_in(tenants, json.dumps([{"id": 1, "org_id": org_b_id}]))
    assert foreign_records_in(tenants, json.dumps({"customer_org_id": org_b_id}))
    assert foreign_records_in(tenants, json.dumps({"org_id": tenants.org_a.id})) == []


def test_records_of_organisation_b_answer_404_to_organisation_a(app, tenants):
    """The ids the fuzzer is unlikely to draw: B's own. Each is 404 (as a missing id would be),
    A's own records answer 200, and every list, paged to its end, shows nothing of B."""
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    get_org = loaded["/api/v1/organizations/{org_id}"]["GET"]
    get_user = loaded["/api/v1/users/{user_id}"]["GET"]
    get_article = loaded["/api/v1/articles/{article_id}"]["GET"]
    get_idea = loaded["/api/v1/ideas/{idea_id}"]["GET"]
    probes = [(get_org, "org_id", i, 404) for i in sorted(tenants.b_org_ids)]
    probes += [(get_article, "article_id", i, 404) for i in tenants.hidden_article_ids]
    probes += [(get_idea, "idea_id", tenants.b_idea_id, 200)]  # shared: its author is not
    probes += [(get_user, "user_id", i, 404) for i in sorted(tenants.b_user_ids)]
    probes += [(get_org, "org_id", i, 200) for i in tenants.visible_org_ids]
    probes += [(get_user, "user_id", i, 200) for i in tenants.a_user_ids]
    for operation, param, record_id, expected in probes:
        case = operation.Case(path_parameters={param: record_id})
        response = case.call_and_validate(headers=tenants.headers)
        assert response.status_code == expected, f"{case.formatted_path}: {response.text}"

    for path, expected_ids in (
        ("/api/v1/organizations", set(tenants.visible_org_ids)),
        ("/api/v1/users", set(tenants.a_user_ids)),
    ):
        operation, seen, cursor = loaded[path]["GET"], set(), None
        for _ in range(20):
            query = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            response = operation.Case(query=query).call_and_validate(headers=tenants.headers)
            assert response.status_code == 200, response.text
            page = response.json()
            seen |= {item["id"] for item in page["items"]}
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected_ids, path
    for path in ("/api/v1/articles", "/api/v1/ideas"):  # paged to the end: nothing of B's
        operation, cursor = loaded[path]["GET"], None
        for _ in range(20):
            query = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            response = operation.Case(query=query).call_and_validate(headers=tenants.headers)
            assert response.status_code == 200, response.text
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
    search = loaded["/api/v1/articles/search"]["GET"]
    for words in ("printer", B_MARK, "runbook", "draft"):
        response = search.Case(query={"q": words}).call_and_validate(headers=tenants.headers)
        assert response.status_code == 200, response.text
    assert not tenants.leaks


@pytest.mark.parametrize("last_id", [2**31, 2**63, -(2**63) - 1, 10**30])
@pytest.mark.parametrize("path", ["/api/v1/organizations", "/api/v1/users"])
def test_a_forged_cursor_out_of_range_is_refused_not_a_server_error(client, tenants, path, last_id):
    """A cursor the API never gave, naming an id no row can have: 422 like any other bad
    cursor (the fuzzer draws random strings, which almost never decode to such a cursor)."""
    response = client.get(
        path, query_string={"cursor": encode_cursor(last_id)}, headers=tenants.headers
    )
    assert response.status_code == 422, response.status_code
    assert response.mimetype == "application/problem+json"
