"""The help centre as a visitor finds it (issue 13, item 7): a help link on the sign-in page,
browsing by category with the most helpful articles first, categories named only to readers who
may read one of their articles (the tenant wall's rule, so an internal "Support runbooks" is a
404 to a customer, not only missing from a list), "x of y found this helpful" (also right after a
vote), counted results in the right plural and a next step when nothing is found."""

from __future__ import annotations

import re

import pytest

from selfservice.kb.models import Article, ArticleCategory, ArticleVote
from tests.factories import make_article
from tests.unchanged import unchanged


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    partner = org_factory("reseller")
    customer = org_factory("customer", managed_by_id=partner.id)

    class People:
        agent = user_factory(vendor, "support_agent")
        partner_user = user_factory(partner, "partner_user")
        customer_user = user_factory(customer, "customer_user")

    return People


def category(db, name: str, position: int, description: str = "") -> ArticleCategory:
    row = ArticleCategory(name=name, description=description, position=position)
    db.add(row)
    db.flush()
    return row


@pytest.fixture
def shelves(db):
    printing = category(db, "Printing", 10, "Printers, drivers and queues")
    network = category(db, "Networking", 20)
    runbooks = category(db, "Support runbooks", 30, "How the support team works (internal).")
    resale = category(db, "Partner sales", 40)
    empty = category(db, "Nothing here yet", 50)
    articles = {
        "drivers": make_article(db, "Printer drivers", category_id=printing.id),
        "queue": make_article(db, "Clearing a print queue", category_id=printing.id),
        "vpn": make_article(db, "VPN tunnel drops", category_id=network.id),
        "triage": make_article(db, "Triage checklist", "internal", category_id=runbooks.id),
        "draft": make_article(db, "Runbook draft", "public", "draft", category_id=runbooks.id),
        "margins": make_article(db, "Resale margins", "partners", category_id=resale.id),
    }
    return {
        "printing": printing,
        "network": network,
        "runbooks": runbooks,
        "resale": resale,
        "empty": empty,
        **articles,
    }


def named_categories(html: str) -> list[str]:
    block = html.split('data-testid="category-nav"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'category=\d+"[^>]*>([^<]+)</a>', block)


def test_the_sign_in_page_links_to_the_help_centre_that_visitors_may_read(app, db, shelves):
    visitor = app.test_client()
    login = visitor.get("/login").get_data(as_text=True)
    assert 'data-testid="help-link"><a href="/help/"' in login
    page = visitor.get("/help/")
    assert page.status_code == 200
    assert "Printer drivers" in page.get_data(as_text=True)


def test_categories_are_named_only_to_readers_of_one_of_their_articles(
    client_as, app, db, people, shelves
):
    readers = {
        "visitor": app.test_client(),
        "customer": client_as(people.customer_user),
        "partner": client_as(people.partner_user),
        "agent": client_as(people.agent),
    }
    expected = {
        "visitor": ["Printing", "Networking"],
        "customer": ["Printing", "Networking"],
        "partner": ["Printing", "Networking", "Partner sales"],
        "agent": ["Printing", "Networking", "Support runbooks", "Partner sales",
                  "Nothing here yet"],
    }  # fmt: skip
    for who, client in readers.items():
        html = client.get("/help/").get_data(as_text=True)
        assert named_categories(html) == expected[who], who
        if who != "agent":
            assert "Support runbooks" not in html and "internal" not in html
    # Through the wall, not only the list: the category's page is not found, nothing changes.
    for who in ("visitor", "customer", "partner"):
        with unchanged(db, shelves["runbooks"], counted=[ArticleCategory, Article]):
            assert readers[who].get(f"/help/?category={shelves['runbooks'].id}").status_code == 404
            assert readers[who].get(f"/help/?category={shelves['empty'].id}").status_code == 404
    assert readers["customer"].get(f"/help/?category={shelves['resale'].id}").status_code == 404
    assert readers["partner"].get(f"/help/?category={shelves['resale'].id}").status_code == 200
    agent_page = readers["agent"].get(f"/help/?category={shelves['runbooks'].id}")
    assert "Triage checklist" in agent_page.get_data(as_text=True)


def test_browse_by_category_with_counts_and_the_most_helpful_first(
    client_as, app, db, people, shelves
):
    for voter, helpful in (("visitor:a", True), ("visitor:b", True), ("visitor:c", False)):
        db.add(ArticleVote(article_id=shelves["queue"].id, voter=voter, helpful=helpful))
    db.add(ArticleVote(article_id=shelves["vpn"].id, voter="visitor:a", helpful=True))
    # Readers found the internal article most helpful of all: still never shown to a customer.
    for n in range(5):
        db.add(ArticleVote(article_id=shelves["triage"].id, voter=f"user:{n}", helpful=True))
    db.flush()
    customer = client_as(people.customer_user)
    html = customer.get("/help/").get_data(as_text=True)
    helpful = html.split('data-testid="most-helpful"', 1)[1].split("</ol>", 1)[0]
    assert re.findall(r'fw-semibold" href="[^"]+">([^<]+)</a>', helpful) == [
        "Clearing a print queue",
        "VPN tunnel drops",
    ]
    assert html.index('data-testid="most-helpful"') < html.index('data-testid="articles"')
    cards = html.split('data-testid="categories"', 1)[1].split("</section>", 1)[0]
    assert "Printing" in cards and "2 articles" in cards
    assert "Networking" in cards and "1 article<" in cards
    assert "Triage checklist" not in html
    # A category's page: its articles, and its own most helpful first.
    page = customer.get(f"/help/?category={shelves['printing'].id}").get_data(as_text=True)
    assert "Printers, drivers and queues" in page
    listed = page.split('data-testid="articles"', 1)[1].split("</ul>", 1)[0]
    assert "Printer drivers" in listed and "Clearing a print queue" in listed
    own_best = page.split('data-testid="most-helpful"', 1)[1].split("</ol>", 1)[0]
    assert "Clearing a print queue" in own_best and "VPN tunnel drops" not in own_best
    agent = client_as(people.agent).get("/help/").get_data(as_text=True)
    assert "Triage checklist" in agent.split('data-testid="most-helpful"', 1)[1].split("</ol>")[0]


def test_a_helpful_tally_on_the_article_and_right_after_a_vote(client_as, app, db, people, shelves):
    art = shelves["drivers"]
    path = f"/help/articles/{art.id}"
    visitor = app.test_client()
    assert 'data-testid="helpful-tally"' not in visitor.get(path).get_data(as_text=True)
    client_as(people.partner_user).post(f"{path}/vote", data={"helpful": "no"})
    after = client_as(people.customer_user).post(
        f"{path}/vote", data={"helpful": "yes"}, follow_redirects=True
    )
    text = after.get_data(as_text=True)
    assert "Thank you for your feedback. 1 of 2 readers found this helpful." in text
    assert "1 of 2 readers found this helpful</p>" in text
    visitor.post(f"{path}/vote", data={"helpful": "yes"})
    assert "2 of 3 readers found this helpful" in visitor.get(path).get_data(as_text=True)
    # Totals only: who voted stays the vendor's to read.
    assert "visitor:" not in visitor.get(path).get_data(as_text=True)


def test_one_result_is_singular_and_no_result_offers_a_next_step(
    client_as, app, db, people, shelves
):
    customer = client_as(people.customer_user)
    one = customer.get("/help/?q=tunnel").get_data(as_text=True)
    assert "1 result for “tunnel”" in one and "1 results" not in one
    two = customer.get("/help/?q=print").get_data(as_text=True)
    assert "2 results for “print”" in two
    none = customer.get("/help/?q=quantum+teleporter").get_data(as_text=True)
    assert "0 results for “quantum teleporter”" in none
    assert 'data-testid="no-results"' in none
    assert 'href="/cases/new?subject=quantum+teleporter" data-testid="open-case"' in none
    assert 'href="#category-nav-heading"' in none and "Printing" in none
    in_category = customer.get(f"/help/?q=tunnel&category={shelves['printing'].id}")
    assert 'href="/help/?q=tunnel">' in in_category.get_data(as_text=True)  # search everywhere
    visitor = app.test_client().get("/help/?q=quantum").get_data(as_text=True)
    assert 'data-testid="sign-in-to-ask"' in visitor and 'data-testid="open-case"' not in visitor
