"""The help centre through the API (``articles:read``) with real tokens: each audience reads the
published articles for it, pages through them, searches them with snippets; drafts and other
audiences' articles are 404; a token without the scope is refused with ``insufficient_scope``.
Support staff write and publish articles (``articles:write``)."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.identity.tokens import hash_token
from portal.oauth.models import OAuthToken
from selfservice.kb.models import Article, ArticleCategory
from tests import factories
from tests.integration.oauth_support import assert_problem, bearer, make_api_client
from tests.unchanged import unchanged


def user_token(db, user, scopes: str) -> dict:
    """Bearer headers of a token acting for ``user`` (as an authorization-code token does),
    through a client of the user's organisation, with ``scopes``."""
    api_client = make_api_client(db, user.org, scopes=scopes)
    raw = "api-test-" + secrets.token_urlsafe(16)
    db.add(
        OAuthToken(
            org_id=user.org_id,
            client_pk=api_client.row.id,
            user_id=user.id,
            access_token_hash=hash_token(raw),
            scope=scopes,
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    db.flush()
    return bearer(raw)


def assert_insufficient_scope(response, scope: str) -> None:
    assert_problem(response, 403)
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and f'scope="{scope}"' in challenge


@pytest.fixture
def help_centre(db, vendor, org_factory, user_factory):
    category = ArticleCategory(name="API printers", position=1)
    db.add(category)
    db.flush()
    articles = {
        "public": factories.make_article(
            db, "Printer jams explained", "public", category_id=category.id,
            body="When the printer jams, open the tray.",
        ),
        "customers": factories.make_article(db, "Customer printer billing", "customers"),
        "partners": factories.make_article(db, "Partner printer margins", "partners"),
        "internal": factories.make_article(db, "Internal printer runbook", "internal"),
        "draft": factories.make_article(db, "Draft printer notes", "public", status="draft"),
    }  # fmt: skip
    partner = org_factory("reseller")
    customer = org_factory("customer")
    return {
        "articles": articles,
        "category": category,
        "customer": user_factory(customer, "customer_user"),
        "partner": user_factory(partner, "partner_user"),
        "agent": user_factory(vendor, "support_agent"),
    }


def titles(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["title"] for item in response.get_json()["items"]}


OURS = {"Printer jams explained", "Customer printer billing", "Partner printer margins",
        "Internal printer runbook", "Draft printer notes"}  # fmt: skip


def test_each_audience_lists_the_published_articles_for_it(client, db, help_centre):
    h = help_centre
    expected = {
        "customer": {"Printer jams explained", "Customer printer billing"},
        "partner": {"Printer jams explained", "Partner printer margins"},
        "agent": {
            "Printer jams explained", "Customer printer billing", "Partner printer margins",
            "Internal printer runbook",
        },
    }  # fmt: skip
    for who, wanted in expected.items():
        headers = user_token(db, h[who], "articles:read")
        seen, cursor = set(), None
        for _ in range(50):  # one article a page: the cursor walks them all, none twice
            query = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            page = client.get("/api/v1/articles", query_string=query, headers=headers)
            assert page.status_code == 200, page.get_data(as_text=True)
            items = page.get_json()["items"]
            assert not {i["title"] for i in items} & seen
            seen |= {i["title"] for i in items}
            cursor = page.get_json()["next_cursor"]
            if cursor is None:
                break
        assert seen & OURS == wanted, who
    agent = user_token(db, h["agent"], "articles:read")
    drafts = client.get("/api/v1/articles?status=draft", headers=agent)
    assert titles(drafts) & OURS == {"Draft printer notes"}
    customer = user_token(db, h["customer"], "articles:read")
    assert titles(client.get("/api/v1/articles?status=draft", headers=customer)) & OURS == set()
    in_category = client.get(
        "/api/v1/articles", query_string={"category_id": h["category"].id}, headers=customer
    )
    assert titles(in_category) == {"Printer jams explained"}
    assert in_category.get_json()["items"][0]["category"] == "API printers"


def test_one_article_with_its_body_and_helpfulness(client, db, help_centre):
    h = help_centre
    headers = user_token(db, h["customer"], "articles:read")
    article = h["articles"]["public"]
    answer = client.get(f"/api/v1/articles/{article.id}", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["body"] == "When the printer jams, open the tray."
    assert (body["status"], body["audience"], body["helpful"], body["votes"]) == (
        "published", "public", 0, 0,
    )  # fmt: skip
    for hidden in ("partners", "internal", "draft"):
        assert_problem(
            client.get(f"/api/v1/articles/{h['articles'][hidden].id}", headers=headers), 404
        )
    assert_problem(client.get("/api/v1/articles/987654321", headers=headers), 404)


def test_search_finds_the_readers_articles_with_snippets(client, db, help_centre):
    h = help_centre
    customer = user_token(db, h["customer"], "articles:read")
    found = client.get("/api/v1/articles/search", query_string={"q": "printer"}, headers=customer)
    assert titles(found) == {"Printer jams explained", "Customer printer billing"}
    jams = client.get("/api/v1/articles/search", query_string={"q": "tray"}, headers=customer)
    (hit,) = jams.get_json()["items"]
    assert hit["title"] == "Printer jams explained"
    assert "<mark>tray</mark>" in hit["snippet"].lower()
    agent = user_token(db, h["agent"], "articles:read")
    assert "Internal printer runbook" in titles(
        client.get("/api/v1/articles/search", query_string={"q": "runbook"}, headers=agent)
    )
    assert (
        titles(
            client.get("/api/v1/articles/search", query_string={"q": "runbook"}, headers=customer)
        )
        == set()
    )


def test_invalid_queries_are_422_naming_the_field(client, db, help_centre):
    headers = user_token(db, help_centre["customer"], "articles:read")
    for url, field in (
        ("/api/v1/articles/search", "q"),
        ("/api/v1/articles/search?q=" + "x" * 201, "q"),
        ("/api/v1/articles?limit=0", "limit"),
        ("/api/v1/articles?status=archived", "status"),
    ):
        problem = assert_problem(client.get(url, headers=headers), 422)
        assert any(field in e["loc"] for e in problem["errors"]), (url, problem)
    assert_problem(client.get("/api/v1/articles?cursor=forged", headers=headers), 422)


def test_a_token_without_the_scope_is_refused(client, db, help_centre):
    h = help_centre
    headers = user_token(db, h["customer"], "cases:read")
    article = h["articles"]["public"]
    for url in (
        "/api/v1/articles",
        f"/api/v1/articles/{article.id}",
        "/api/v1/articles/search?q=printer",
    ):
        assert_insufficient_scope(client.get(url, headers=headers), "articles:read")


def test_a_page_of_articles_costs_the_same_statements_whatever_the_rows(
    app, client, db, help_centre
):
    from tests.integration.test_api_ideas import statements

    headers = user_token(db, help_centre["customer"], "articles:read")
    url = "/api/v1/articles?limit=50"
    few = statements(app, client, url, headers)
    categories = [ArticleCategory(name=f"API category {n}", position=10 + n) for n in range(3)]
    db.add_all(categories)
    db.flush()
    for n in range(30):
        factories.make_article(
            db, f"More reading {n}", "customers", category_id=categories[n % 3].id
        )
    assert statements(app, client, url, headers) == few


def test_support_staff_write_and_publish_articles(client, db, help_centre):
    h = help_centre
    agent = user_token(db, h["agent"], "articles:read articles:write")
    created = client.post(
        "/api/v1/articles",
        json={"title": "  Toner recycling ", "body": "Send the **empty** toner back.",
              "audience": "customers", "category_id": h["category"].id},
        headers=agent | {"Idempotency-Key": "article-1"},
    )  # fmt: skip
    assert created.status_code == 201, created.get_data(as_text=True)
    article = created.get_json()
    assert (article["title"], article["status"], article["version"]) == (
        "Toner recycling", "draft", 1,
    )  # fmt: skip
    replay = client.post(
        "/api/v1/articles",
        json={"title": "  Toner recycling ", "body": "Send the **empty** toner back.",
              "audience": "customers", "category_id": h["category"].id},
        headers=agent | {"Idempotency-Key": "article-1"},
    )  # fmt: skip
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["id"] == article["id"]
    created_events = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "article.created"
    )  # fmt: skip
    assert db.scalar(created_events) == 1
    customer = user_token(db, h["customer"], "articles:read")
    url = f"/api/v1/articles/{article['id']}"
    assert_problem(client.get(url, headers=customer), 404)  # a draft: for support staff only
    published = client.patch(url, json={"version": 1, "status": "published"}, headers=agent)
    assert published.status_code == 200, published.get_data(as_text=True)
    body = published.get_json()
    assert (body["status"], body["title"], body["audience"]) == (
        "published", "Toner recycling", "customers",
    )  # fmt: skip
    assert body["published_at"] and body["version"] > 1
    assert client.get(url, headers=customer).status_code == 200
    moved = select(AuditEvent.action).where(AuditEvent.action.like("article.%"))
    assert "article.published" in set(db.scalars(moved))
    # Another edit meanwhile (the version read is old): 409, nothing overwritten.
    with unchanged(db, (Article, article["id"])):
        stale = client.patch(url, json={"version": 1, "title": "Overwritten"}, headers=agent)
        assert_problem(stale, 409)


def test_writing_articles_is_refused_to_others_and_checked(client, db, help_centre):
    h = help_centre
    public = h["articles"]["public"]
    agent = user_token(db, h["agent"], "articles:read articles:write")
    read_only = user_token(db, h["agent"], "articles:read")
    customer = user_token(db, h["customer"], "articles:read articles:write")
    good = {"title": "A new article", "body": "Text."}
    with unchanged(db, public, counted=[Article]):
        assert_insufficient_scope(
            client.post("/api/v1/articles", json=good, headers=read_only), "articles:write"
        )
        assert_problem(client.post("/api/v1/articles", json=good, headers=customer), 403)
        assert_problem(
            client.patch(f"/api/v1/articles/{public.id}", json={"version": 1}, headers=customer),
            403,
        )
        assert_problem(
            client.patch("/api/v1/articles/987654321", json={"version": 1}, headers=agent), 404
        )
        for body, field in (
            ({"title": "  ab  ", "body": "Text."}, "title"),
            ({"title": "A new article", "body": "   "}, "body"),
            ({"title": "A new article"}, "body"),
            (good | {"audience": "everyone"}, "audience"),
            (good | {"category_id": 987654321}, "category_id"),
            (good | {"colour": "red"}, "colour"),
        ):
            problem = assert_problem(client.post("/api/v1/articles", json=body, headers=agent), 422)
            assert any(field in e["loc"] for e in problem["errors"]), (body, problem)
        for body, field in (
            ({"title": "No version"}, "version"),
            ({"version": public.version, "title": None}, "title"),
            ({"version": public.version, "status": "archived"}, "status"),
        ):
            problem = assert_problem(
                client.patch(f"/api/v1/articles/{public.id}", json=body, headers=agent), 422
            )
            assert any(field in e["loc"] for e in problem["errors"]), (body, problem)
