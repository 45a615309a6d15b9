"""The knowledge base on the real database (SQLite FTS5 or PostgreSQL full-text search): ranking
and highlighted snippets, audience and drafts in pages, search and suggestions, visitors who are
not signed in, one helpful vote per person or visitor, cases avoided and raised after reading,
and the per-article report."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from selfservice.kb.models import Article, ArticleCategory, ArticleEvent, ArticleVote
from tests.factories import make_article
from tests.unchanged import unchanged


@pytest.fixture
def readers(db, vendor, org_factory, user_factory):
    partner = org_factory("reseller")
    customer = org_factory("customer", managed_by_id=partner.id)

    class Readers:
        agent = user_factory(vendor, "support_agent")
        partner_user = user_factory(partner, "partner_user")
        customer_user = user_factory(customer, "customer_user")

    return Readers


@pytest.fixture
def library(db):
    return {
        "title": make_article(
            db, "Printer offline after driver update",
            body="Reinstall the driver, then restart the print spooler service.",
        ),
        "body": make_article(
            db, "Network checklist",
            body="Check cables. A printer that drops off the network often has a stale DHCP "
            "lease; reserve its address.",
        ),
        "other": make_article(db, "Reset your password", body="Use the sign-in page link."),
        "customers": make_article(
            db, "Printer firmware for customers", "customers", body="printer firmware steps"
        ),
        "partners": make_article(
            db, "Printer margins for partners", "partners", body="printer resale margins"
        ),
        "internal": make_article(db, "Printer known bugs", "internal", body="printer bug 4711"),
        "draft": make_article(db, "Printer draft", "public", "draft", body="printer unreleased"),
    }  # fmt: skip


def titles(html: str) -> list[str]:
    block = html.split('data-testid="search-results"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<a class="fw-semibold" href="[^"]+">([^<]+)</a>', block)


def test_title_matches_rank_first_with_highlighted_snippets(client_as, db, readers, library):
    html = client_as(readers.customer_user).get("/help/?q=printer").get_data(as_text=True)
    found = titles(html)
    # Title matches (weighted) before an article that mentions the word only in its body.
    assert found[-1] == "Network checklist"
    assert set(found[:-1]) == {
        "Printer offline after driver update",
        "Printer firmware for customers",
    }
    assert "Reset your password" not in found
    assert "<mark>printer</mark>" in html.lower()


def test_search_respects_audience_and_drafts(client_as, app, db, readers, library):
    def found(user):
        client = client_as(user) if user else app.test_client()
        return set(titles(client.get("/help/?q=printer").get_data(as_text=True)))

    common = {"Printer offline after driver update", "Network checklist"}
    assert found(None) == common
    assert found(readers.customer_user) == common | {"Printer firmware for customers"}
    assert found(readers.partner_user) == common | {"Printer margins for partners"}
    assert found(readers.agent) >= common | {
        "Printer firmware for customers", "Printer margins for partners", "Printer known bugs",
        "Printer draft",
    }  # fmt: skip


def test_article_pages_follow_the_audience(client_as, app, db, readers, library):
    anonymous = app.test_client()
    assert anonymous.get(f"/help/articles/{library['title'].id}").status_code == 200
    for key in ("customers", "partners", "internal", "draft"):
        with unchanged(db, library[key]):
            assert anonymous.get(f"/help/articles/{library[key].id}").status_code == 404
    customer = client_as(readers.customer_user)
    assert customer.get(f"/help/articles/{library['customers'].id}").status_code == 200
    with unchanged(db, library["partners"]):
        assert customer.get(f"/help/articles/{library['partners'].id}").status_code == 404
    assert "Printer known bugs" not in customer.get("/help/").get_data(as_text=True)


def test_markdown_is_sanitised(app, db, readers):
    art = make_article(
        db, "Scripted", body="Hello <script>alert(1)</script> [x](javascript:alert(1))"
    )
    html = app.test_client().get(f"/help/articles/{art.id}").get_data(as_text=True)
    body = html.split('class="article-body"', 1)[1].split("</article>", 1)[0]
    assert "<script" not in body and 'href="javascript' not in body
    assert "&lt;script&gt;" in body  # shown as text, never run


def test_suggestions_while_typing(client_as, db, readers, library):
    client = client_as(readers.customer_user)
    fragment = client.get("/help/suggest?q=printer offl").get_data(as_text=True)
    assert "Printer offline after driver update" in fragment
    assert "Printer known bugs" not in fragment
    assert client.get("/help/suggest?q=zz").get_data(as_text=True).strip() == ""
    # Search syntax is never passed through: quotes and operators are just words.
    assert client.get('/help/suggest?q=" OR * NEAR(').status_code == 200


def test_one_vote_per_person_and_per_visitor(client_as, app, db, readers, library, mailbox):
    art = library["title"]
    art.author_id = readers.agent.id
    db.flush()
    client = client_as(readers.customer_user)
    client.post(f"/help/articles/{art.id}/vote", data={"helpful": "yes"})
    client.post(f"/help/articles/{art.id}/vote", data={"helpful": "no", "comment": "Still broken"})
    visitor = app.test_client()
    visitor.post(f"/help/articles/{art.id}/vote", data={"helpful": "yes"})
    visitor.post(f"/help/articles/{art.id}/vote", data={"helpful": "yes"})
    votes = db.scalars(select(ArticleVote).where(ArticleVote.article_id == art.id)).all()
    assert len(votes) == 2
    mine = next(v for v in votes if v.user_id == readers.customer_user.id)
    assert mine.helpful is False and mine.comment == "Still broken"
    # The author reads the comment; the customer does not see other people's votes.
    page = client_as(readers.agent).get(f"/help/articles/{art.id}").get_data(as_text=True)
    assert "Still broken" in page
    (to_author,) = mailbox.to(readers.agent.email)
    assert "Still broken" in to_author.get_content()


def test_case_avoided_and_raised_after_reading_show_in_the_report(client_as, db, readers, library):
    art = library["title"]
    customer = client_as(readers.customer_user)
    page = customer.get(f"/help/articles/{art.id}?from=case&subject=Printer+offline")
    assert 'data-testid="from-case"' in page.get_data(as_text=True)
    customer.post(f"/help/articles/{art.id}/viewed")
    customer.post(f"/help/articles/{art.id}/solved")
    # Another reader opens the case anyway, from the same article.
    form = customer.get(f"/cases/new?subject=Printer+offline&read_article={art.id}")
    assert f'value="{art.id}"' in form.get_data(as_text=True)
    response = customer.post(
        "/cases/new",
        data={"subject": "Printer offline", "description": "Still offline", "priority": "normal",
              "read_article": str(art.id)},
    )  # fmt: skip
    assert response.status_code == 302
    kinds = db.scalars(select(ArticleEvent.kind).where(ArticleEvent.article_id == art.id)).all()
    assert sorted(kinds) == ["case_avoided", "case_raised", "view"]
    report = client_as(readers.agent).get("/help/report").get_data(as_text=True)
    row = report.split(f'data-article="{art.id}"', 1)[1].split("</tr>", 1)[0]
    assert [int(n) for n in re.findall(r'text-end">(\d+)<', row)] == [1, 0, 0, 1, 1]
    with unchanged(db):
        assert client_as(readers.customer_user).get("/help/report").status_code == 403


def test_support_writes_and_publishes_articles(client_as, db, readers):
    agent = client_as(readers.agent)
    response = agent.post(
        "/help/manage/new",
        data={"title": "Scanner jams", "body": "Open *tray 2*.", "audience": "customers",
              "status": "draft", "category_id": 0},
    )  # fmt: skip
    assert response.status_code == 302
    art = db.scalar(select(Article).where(Article.title == "Scanner jams"))
    customer = client_as(readers.customer_user)
    with unchanged(db, art):
        assert customer.get(f"/help/articles/{art.id}").status_code == 404
    page = agent.get(f"/help/manage/{art.id}/edit").get_data(as_text=True)
    snap = re.search(r'name="snapshot" type="hidden" value="([^"]+)"', page).group(1)
    data = {"title": "Scanner jams", "body": "Open *tray 2*.", "audience": "customers",
            "status": "published", "category_id": 0, "snapshot": snap}  # fmt: skip
    assert agent.post(f"/help/manage/{art.id}/edit", data=data).status_code == 302
    assert customer.get(f"/help/articles/{art.id}").status_code == 200
    assert "Scanner jams" in customer.get("/help/?q=scanner").get_data(as_text=True)
    # The same stale snapshot again: someone changed it meanwhile.
    with unchanged(db, art, counted=[Article]):
        assert agent.post(f"/help/manage/{art.id}/edit", data=data).status_code == 409
        assert customer.post("/help/manage/new", data={"title": "x"}).status_code == 403


def test_support_adds_categories(client_as, db, readers):
    agent = client_as(readers.agent)
    assert agent.post("/help/manage/categories", data={"name": "Storage"}).status_code == 302
    with unchanged(db, counted=[ArticleCategory]):
        assert agent.post("/help/manage/categories", data={"name": "Storage"}).status_code == 422
    assert "Storage" in agent.get("/help/").get_data(as_text=True)
    customer = client_as(readers.customer_user)
    with unchanged(db, counted=[ArticleCategory]):
        assert customer.post("/help/manage/categories", data={"name": "Mine"}).status_code == 403


def test_a_case_is_avoided_once_per_reader_and_article(client_as, app, db, readers, library):
    """Saying "solved" again (a reload, a script) does not inflate the cases avoided: one per
    reader and article; another reader counts."""
    art = library["title"]
    customer = client_as(readers.customer_user)
    for _ in range(3):
        assert customer.post(f"/help/articles/{art.id}/solved").status_code == 302
    visitor = app.test_client()
    visitor.post(f"/help/articles/{art.id}/solved")
    visitor.post(f"/help/articles/{art.id}/solved")
    avoided = db.scalars(
        select(ArticleEvent.voter).where(
            ArticleEvent.article_id == art.id, ArticleEvent.kind == "case_avoided"
        )
    ).all()
    assert len(avoided) == 2 and len(set(avoided)) == 2


def test_visitors_without_cookies_cannot_flood_cases_avoided(app, db, readers, library):
    """A visitor who drops their cookie is a new reader each time: the endpoint is rate limited
    as the vote and view endpoints are."""
    art = library["title"]
    answers = [app.test_client().post(f"/help/articles/{art.id}/solved") for _ in range(35)]
    assert answers[-1].status_code == 429
    counted = db.scalars(
        select(ArticleEvent.id).where(
            ArticleEvent.article_id == art.id, ArticleEvent.kind == "case_avoided"
        )
    ).all()
    assert len(counted) <= 30
