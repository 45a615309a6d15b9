"""The portal-wide search (GET /search): every kind found and grouped, through the tenant wall
(a partner, a customer and vendor staff each find only what they may see), what people type
never reaching the engine's query syntax, and the lead list's search on the full-text index."""

from __future__ import annotations

import re

import pytest

from portal import access
from tests import factories

WORD = "Zebrafish"


def _groups(body: str) -> set[str]:
    return set(re.findall(r'data-testid="search-group-([a-z]+)"', body))


def _search(client, q: str):
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def world(db):
    """Home partner with its managed customer, and a foreign partner with its own customer;
    every kind of record named with WORD, once for home and once (marked ZZQ) foreign."""
    vendor = factories.vendor_org(db)
    home = factories.make_org(db, "reseller", name=f"{WORD} Resellers")
    customer = factories.make_org(db, "customer", name=f"{WORD} Bakery", managed_by_id=home.id)
    far = factories.make_org(db, "reseller", name=f"{WORD} Foreign ZZQA")
    far_customer = factories.make_org(
        db, "customer", name=f"{WORD} Foreign Customer ZZQB", managed_by_id=far.id
    )
    people = {
        "vendor": factories.make_user(db, vendor, access.VENDOR_ADMIN),
        "partner": factories.make_user(db, home, name=f"Pat {WORD}"),
        "customer": factories.make_user(db, customer, name=f"Cus {WORD}"),
    }
    factories.make_user(db, far, name=f"Secret {WORD} ZZQC", email="zzqc@far.test")
    mine = factories.make_lead(db, vendor, f"{WORD} Labs", email="ana@zebrafish-labs.test")
    factories.make_offer(db, mine, home)
    theirs = factories.make_lead(db, vendor, f"{WORD} Foreign Lead ZZQD")
    factories.make_offer(db, theirs, far)
    factories.make_lead(db, vendor, f"{WORD} Unoffered ZZQE")
    factories.make_deal(db, home, f"{WORD} Bakery GmbH", customer_domain="zebrafish-bakery.test")
    factories.make_deal(db, far, f"{WORD} Foreign Deal ZZQF")
    factories.make_quote(db, customer, f"{WORD} rollout")
    factories.make_quote(db, far_customer, f"{WORD} Foreign Quote ZZQG")
    factories.make_quote(db, home, f"{WORD} draft ZZQH", status="draft")
    factories.make_case(db, customer, people["customer"], f"{WORD} printer jams")
    factories.make_case(db, far_customer, None, f"{WORD} Foreign Case ZZQI")
    factories.make_article(db, f"{WORD} tank guide")
    factories.make_article(db, f"{WORD} internal runbook ZZQJ", audience="internal")
    factories.make_idea(db, people["partner"], f"{WORD} dark mode")
    return people


def test_vendor_staff_find_every_kind_grouped_with_links(client_as, world):
    body = _search(client_as(world["vendor"]), WORD.lower())
    assert _groups(body) == {
        "organizations",
        "people",
        "leads",
        "registrations",
        "quotes",
        "cases",
        "articles",
        "ideas",
    }
    for text in (
        f"{WORD} Foreign ZZQA",  # vendor staff see every organisation's records
        f"{WORD} Unoffered ZZQE",
        f"{WORD} Foreign Case ZZQI",
        f"{WORD} draft ZZQH",
        f"{WORD} internal runbook ZZQJ",
    ):
        assert text in body
    assert "/leads/?q=zebrafish" in body or "/leads/" in body
    assert re.search(r'href="/cases/\d+"', body) and re.search(r'href="/ideas/\d+"', body)


@pytest.mark.parametrize("audience", ["partner", "customer"])
def test_foreign_records_are_never_found(client_as, world, audience):
    body = _search(client_as(world[audience]), f"{WORD} zzq")
    assert "ZZQ" not in body
    body = _search(client_as(world[audience]), WORD)
    assert "ZZQ" not in body, re.findall(r"[^>]*ZZQ[^<]*", body)
    assert "zzqc@far.test" not in body


def test_a_partner_finds_its_own_records(client_as, world):
    body = _search(client_as(world["partner"]), WORD)
    # its managed customer (the organisation and its case, as on its pages); not their quote
    assert _groups(body) == {
        "organizations",
        "people",
        "leads",
        "registrations",
        "cases",
        "articles",
        "ideas",
    }
    assert f"{WORD} Labs" in body and f"{WORD} Bakery GmbH" in body and f"Pat {WORD}" in body
    assert f"{WORD} Resellers" in body and re.search(r'href="/organizations/\d+"', body)
    assert f"{WORD} printer jams" in body and f"{WORD} rollout" not in body


def test_a_customer_finds_its_quote_and_case(client_as, world):
    body = _search(client_as(world["customer"]), WORD)
    assert {"quotes", "cases"} <= _groups(body)
    assert f"{WORD} rollout" in body and f"{WORD} printer jams" in body
    assert "leads" not in _groups(body) and "registrations" not in _groups(body)
    assert "organizations" in _groups(body)  # its own, linking to its page
    assert f"{WORD} Resellers" not in body  # the partner that manages it: not its to see


def test_every_word_must_match_and_parts_of_addresses_are_words(client_as, world):
    client = client_as(world["vendor"])
    assert f"{WORD} Labs" in _search(client, "zebrafish labs")
    assert f"{WORD} Labs" not in _search(client, "zebrafish bakery")
    assert f"{WORD} Labs" in _search(client, "ana@zebrafish-labs.test")
    assert f"{WORD} Bakery GmbH" in _search(client, "zebrafish-bakery")
    assert f"{WORD} Labs" in _search(client, "zebraf")  # the start of a word is enough


@pytest.mark.parametrize(
    "typed",
    [
        'zebrafish" OR "x',
        "zebrafish*",
        "NEAR(zebrafish labs)",
        "zebrafish & !labs | (x",
        "title:zebrafish",
        "zebrafish:* & x",
        "'; DROP TABLE leads; --",
        "^zebrafish -labs +x",
        "%_\\",
        "x² ⅷ ٣٣ foo_bar ǅx",
        "the",
    ],
)
def test_what_people_type_never_reaches_the_query_syntax(client_as, world, typed):
    body = _search(client_as(world["vendor"]), typed)
    assert "search-group" in body or "search-none" in body or "search-empty" in body


def test_an_empty_query_and_no_result_give_a_next_step(client_as, world):
    client = client_as(world["customer"])
    assert 'data-testid="search-empty"' in _search(client, "")
    assert 'data-testid="search-empty"' in _search(client, "? !")
    body = _search(client, "nothingmatchesthis")
    assert 'data-testid="search-none"' in body and "/help/" in body


def test_more_than_a_few_show_five_a_count_and_the_filtered_list(client_as, db, world):
    vendor = factories.vendor_org(db)
    for n in range(7):
        factories.make_lead(db, vendor, f"Quokka Supplies {n}")
    body = _search(client_as(world["vendor"]), "quokka")
    section = body.split('data-testid="search-group-leads"')[1].split("</section>")[0]
    assert section.count("Quokka Supplies") == 5
    assert "(7)" in section and 'href="/leads/?q=quokka"' in section


def test_the_box_is_a_labelled_search_form(app):
    from flask import render_template_string

    with app.test_request_context("/home"):
        html = render_template_string('{% include "search/_box.html" %}')
    assert 'role="search"' in html and 'action="/search"' in html
    assert '<label class="visually-hidden" for="portal-search">' in html


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/search?q=x").status_code == 302


# The lead list searches the same index: every word, through the wall.


def test_the_lead_list_search_uses_the_index_through_the_wall(client_as, world):
    partner = client_as(world["partner"])
    body = partner.get("/leads/?q=zebrafish").get_data(as_text=True)
    assert f"{WORD} Labs" in body and "ZZQ" not in body
    vendor = client_as(world["vendor"])
    body = vendor.get("/leads/?q=zebrafish+unoffered").get_data(as_text=True)
    assert f"{WORD} Unoffered ZZQE" in body and f"{WORD} Labs" not in body
    assert f"{WORD} Labs" in vendor.get("/leads/?q=zebrafish-labs.test").get_data(as_text=True)
