"""Search at scale (issue 18): the portal-wide search asks every kind in one statement, each
kind still in its own order and through the wall; the lead list's search reads the full-text
index, never the table (EXPLAIN on either database); on PostgreSQL every search index keeps a
short pending list (migration 0039)."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import event, select, text

from partners.leads import queries as lead_queries
from partners.leads.models import Lead
from portal import access, search
from portal.db import db as portal_db
from portal.db import set_principal
from portal.tenancy import Principal
from tests import factories

WORD = "Quokka"


@pytest.fixture
def world(db):
    vendor = factories.vendor_org(db)
    home = factories.make_org(db, "reseller", name=f"{WORD} Resellers")
    far = factories.make_org(db, "reseller", name="Far Away Partners")
    people = {
        "vendor": factories.make_user(db, vendor, access.VENDOR_ADMIN),
        "partner": factories.make_user(db, home),
    }
    leads = []
    for n in range(7):
        lead = factories.make_lead(db, vendor, f"{WORD} Labs {n}")
        factories.make_offer(db, lead, home if n % 2 == 0 else far)
        leads.append(lead)
    factories.make_article(db, f"{WORD} guide")
    factories.make_article(db, f"{WORD} {WORD} {WORD} care and feeding")
    return {"people": people, "leads": leads, "home": home}


def _statements(app, call):
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "set_config" not in (
            statement
        ):
            seen.append(statement)

    engine = app.extensions["db"].engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return result, seen


def _as(app, user, call):
    with app.test_request_context():
        principal = Principal.for_user(user)
        g.principal = principal
        set_principal(portal_db.session, principal)
        return _statements(app, lambda: call(principal))


def test_every_kind_is_asked_in_one_statement(app, world):
    vendor = world["people"]["vendor"]
    groups, seen = _as(app, vendor, lambda p: search.everywhere(p, WORD.lower()))
    kinds = {group.source.kind for group in groups}
    assert {"organizations", "leads", "articles"} <= kinds
    matching = [s for s in seen if "UNION ALL" in s]
    assert len(matching) == 1
    # Then one statement a kind found, loading the few records shown: no more.
    assert len(seen) == 1 + len(groups)


def test_each_kind_keeps_its_order_and_its_wall(app, world):
    vendor, partner = world["people"]["vendor"], world["people"]["partner"]
    groups, _ = _as(app, vendor, lambda p: search.everywhere(p, WORD.lower(), per_kind=10))
    leads = next(g for g in groups if g.source.kind == "leads")
    # Newest first, as the lead source orders them; every one of the seven.
    assert [i.title for i in leads.items] == [f"{WORD} Labs {n}" for n in range(6, -1, -1)]
    articles = next(g for g in groups if g.source.kind == "articles")
    assert articles.items[0].title == f"{WORD} {WORD} {WORD} care and feeding"  # best first
    groups, _ = _as(app, partner, lambda p: search.everywhere(p, WORD.lower(), per_kind=10))
    leads = next(g for g in groups if g.source.kind == "leads")
    assert [i.title for i in leads.items] == [f"{WORD} Labs {n}" for n in (6, 4, 2, 0)]
    assert leads.count == 4  # the other partner's offers are not counted either


def test_nothing_to_look_for_asks_nothing(app, world):
    groups, seen = _as(app, world["people"]["vendor"], lambda p: search.everywhere(p, " ! "))
    assert groups == [] and seen == []


def _executed_plan(app, session, stmt) -> str:
    """The plan of ``stmt`` as the session ran it (the wall's criteria included)."""
    ran = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "leads" in statement and "set_config" not in statement:
            ran.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", keep)
    try:
        session.execute(stmt).all()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    statement, parameters = ran[-1]
    sqlite = engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    rows = session.connection().exec_driver_sql(prefix + statement, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("word", ["quokka", "labs", "zyxwvut"])
def test_the_lead_search_reads_the_index_not_the_table(app, world, word):
    """Rare, common or absent: the matches come from the full-text index (FTS5's virtual table;
    the GIN index), the leads by primary key; the leads table is never scanned for the word."""
    with app.test_request_context():
        principal = Principal.for_user(world["people"]["vendor"])
        session = portal_db.session
        set_principal(session, principal)
        found = lead_queries.filter_leads(select(Lead.id), lead_queries.LeadFilters(q=word))
        plan = _executed_plan(app, session, found.order_by(Lead.id.desc()).limit(26))
    if session.get_bind().dialect.name == "sqlite":
        assert "leads_fts VIRTUAL TABLE" in plan, plan
        assert "SCAN leads\n" not in plan + "\n", plan
    else:
        assert "ix_leads_search" in plan, plan
        assert "Seq Scan on leads " not in plan, plan


def test_search_indexes_keep_a_short_pending_list(db):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("GIN pending lists are PostgreSQL's; SQLite's FTS5 merges as it goes")
    options = dict(
        db.execute(
            text(
                "SELECT c.relname, array_to_string(c.reloptions, ',') FROM pg_class c "
                "WHERE c.relname LIKE 'ix_%_search'"
            )
        ).all()
    )
    assert len(options) == 8
    assert all("gin_pending_list_limit=256" in (o or "") for o in options.values()), options
