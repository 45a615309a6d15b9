"""Promoted articles (issue 13, item 7: "a help centre with categories, promoted articles"):
support staff tick "Promote on the help centre's front page" in the article editor (audited with
the article's other fields); the front page lists the promoted articles the reader may read as
"Featured", before the most helpful ones and the categories; an internal or draft article is
never featured to a reader who may not read it; only editors may set the flag; the editor's list
marks promoted articles; the demo help centre promotes two public articles."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.audit import AuditEvent
from selfservice.kb import seed
from selfservice.kb.models import Article, ArticleCategory, ArticleEvent
from tests.factories import make_article
from tests.unchanged import unchanged


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    partner = org_factory("reseller")
    customer = org_factory("customer", managed_by_id=partner.id)

    class People:
        agent = user_factory(vendor, "support_agent")
        sales_rep = user_factory(vendor, "sales_rep")
        partner_admin = user_factory(partner, "partner_admin")
        partner_user = user_factory(partner, "partner_user")
        customer_admin = user_factory(customer, "customer_admin")
        customer_user = user_factory(customer, "customer_user")

    return People


@pytest.fixture
def shelf(db):
    printing = ArticleCategory(name="Printing", position=10)
    runbooks = ArticleCategory(name="Support runbooks", position=20)
    db.add_all([printing, runbooks])
    db.flush()
    articles = {
        "start": make_article(db, "Getting started", category_id=printing.id, promoted=True),
        "drivers": make_article(db, "Printer drivers", category_id=printing.id),
        "firmware": make_article(db, "Firmware for customers", "customers", promoted=True),
        "margins": make_article(db, "Resale margins", "partners", promoted=True),
        "triage": make_article(
            db, "Triage checklist", "internal", category_id=runbooks.id, promoted=True
        ),
        "draft": make_article(db, "Unreleased fix", "public", "draft", promoted=True),
    }
    # Readers read "Printer drivers" most: it leads the most helpful list.
    for n in range(3):
        db.add(ArticleEvent(article_id=articles["drivers"].id, kind="view", voter=f"visitor:{n}"))
    db.add(ArticleEvent(article_id=articles["start"].id, kind="view", voter="visitor:9"))
    db.flush()
    return articles


def listed(html: str, testid: str) -> list[str]:
    """The article titles in the front page's list ``testid`` (featured, most-helpful)."""
    if f'data-testid="{testid}"' not in html:
        return []
    block = html.split(f'data-testid="{testid}"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<a class="fw-semibold" href="/help/articles/\d+">([^<]+)</a>', block)


def editor_form(client, article: Article) -> dict:
    page = client.get(f"/help/manage/{article.id}/edit").get_data(as_text=True)
    snap = re.search(r'name="snapshot" type="hidden" value="([^"]+)"', page).group(1)
    return {
        "title": article.title,
        "body": article.body,
        "audience": article.audience,
        "status": article.status,
        "category_id": article.category_id or 0,
        "snapshot": snap,
    }


def audited(db, action: str, article: Article) -> AuditEvent:
    return db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.object_id == article.id)
        .order_by(AuditEvent.id.desc())
    ).first()


def test_an_editor_promotes_and_withdraws_an_article_audited(client_as, db, people):
    agent = client_as(people.agent)
    form = agent.get("/help/manage/new").get_data(as_text=True)
    assert "Promote on the help centre's front page" in form
    assert re.search(r'<input[^>]*id="promoted"[^>]*type="checkbox"', form)
    response = agent.post(
        "/help/manage/new",
        data={"title": "Pairing a scanner", "body": "Hold *pair* for five seconds.",
              "audience": "public", "status": "published", "category_id": 0, "promoted": "y"},
    )  # fmt: skip
    assert response.status_code == 302
    art = db.scalar(select(Article).where(Article.title == "Pairing a scanner"))
    assert art.promoted is True
    assert audited(db, "article.created", art).after["promoted"] is True
    assert listed(client_as(people.customer_user).get("/help/").get_data(as_text=True),
                  "featured") == ["Pairing a scanner"]  # fmt: skip

    # The editor's list marks it; the edit form shows the box ticked.
    manage = agent.get("/help/manage").get_data(as_text=True)
    row = manage.split(f'href="/help/manage/{art.id}/edit"', 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="promoted"' in row
    data = editor_form(agent, art)
    assert re.search(
        r'<input[^>]*checked[^>]*id="promoted"|<input[^>]*id="promoted"[^>]*checked',
        agent.get(f"/help/manage/{art.id}/edit").get_data(as_text=True),
    )

    # An unticked box is no "promoted" in the form: the article leaves the front page.
    assert agent.post(f"/help/manage/{art.id}/edit", data=data).status_code == 302
    db.expire_all()
    assert art.promoted is False
    edited = audited(db, "article.edited", art)
    assert (edited.before["promoted"], edited.after["promoted"]) == (True, False)
    assert listed(client_as(people.customer_user).get("/help/").get_data(as_text=True),
                  "featured") == []  # fmt: skip
    manage = agent.get("/help/manage").get_data(as_text=True)
    row = manage.split(f'href="/help/manage/{art.id}/edit"', 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="promoted"' not in row


def test_visitors_see_featured_first_then_most_helpful_then_categories(app, db, shelf):
    html = app.test_client().get("/help/").get_data(as_text=True)
    assert listed(html, "featured") == ["Getting started"]
    # Featured once: the most helpful list does not repeat it.
    assert listed(html, "most-helpful") == ["Printer drivers"]
    positions = [html.index(f'data-testid="{t}"') for t in ("featured", "most-helpful")]
    positions.append(html.index('data-testid="categories"'))
    assert positions == sorted(positions)
    # The front page's choice: a category's page and a search list no featured articles.
    printing = shelf["start"].category_id
    assert listed(app.test_client().get(f"/help/?category={printing}").get_data(as_text=True),
                  "featured") == []  # fmt: skip
    assert 'data-testid="featured"' not in app.test_client().get("/help/?q=printer").get_data(
        as_text=True
    )


def test_a_promoted_article_is_featured_only_to_its_readers(app, client_as, db, people, shelf):
    """The wall's audience rule: an internal promoted article is never shown to a visitor, a
    customer or a partner; a promoted draft to nobody, staff included."""
    featured = {
        "visitor": listed(app.test_client().get("/help/").get_data(as_text=True), "featured"),
        **{
            name: listed(
                client_as(getattr(people, name)).get("/help/").get_data(as_text=True), "featured"
            )
            for name in ("customer_user", "partner_user", "agent")
        },
    }
    assert {name: sorted(titles) for name, titles in featured.items()} == {
        "visitor": ["Getting started"],
        "customer_user": ["Firmware for customers", "Getting started"],
        "partner_user": ["Getting started", "Resale margins"],
        "agent": [
            "Firmware for customers", "Getting started", "Resale margins", "Triage checklist"
        ],
    }  # fmt: skip
    for name in ("visitor", "customer_user", "partner_user"):
        assert "Triage checklist" not in featured[name]
    for reader in (app.test_client(), client_as(people.customer_user)):
        html = reader.get("/help/").get_data(as_text=True)
        assert "Triage checklist" not in html and "Unreleased fix" not in html


@pytest.mark.parametrize("role", ["sales_rep", "partner_admin", "customer_admin", "customer_user"])
def test_the_promotion_is_refused_to_non_editors(client_as, db, people, shelf, role):
    art = shelf["drivers"]
    outsider = client_as(getattr(people, role))
    data = {"title": art.title, "body": art.body, "audience": art.audience,
            "status": art.status, "category_id": art.category_id, "promoted": "y"}  # fmt: skip
    with unchanged(db, art, counted=[Article]):
        assert outsider.get(f"/help/manage/{art.id}/edit").status_code == 403
        assert outsider.post(f"/help/manage/{art.id}/edit", data=data).status_code == 403
        assert outsider.post("/help/manage/new", data={**data, "title": "Mine"}).status_code == 403
    db.expire_all()
    assert art.promoted is False


def test_the_demo_help_centre_features_two_public_articles(app, db):
    seed.seed_help_centre(db, {})
    db.flush()
    promoted = db.scalars(select(Article).where(Article.promoted.is_(True))).all()
    assert sorted(a.title for a in promoted) == sorted(seed.PROMOTED)
    assert len(promoted) == 2
    assert {(a.audience, a.status) for a in promoted} == {("public", "published")}
    html = app.test_client().get("/help/").get_data(as_text=True)
    assert sorted(listed(html, "featured")) == sorted(seed.PROMOTED)
