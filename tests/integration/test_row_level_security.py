"""PostgreSQL row-level security, the second wall: raw SQL run as an ordinary (non-superuser)
role sees only what the transaction's tenant scope allows."""

import warnings

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from portal.db import GLOBAL_TABLES, Base, read_across, set_principal, unscoped
from portal.tenancy import Principal
from tests.conftest import APP_ROLE


@pytest.fixture
def pg(db):
    conn = db.connection()
    if conn.dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    return conn


@pytest.fixture
def as_ordinary_role(pg):
    """Run the arranging connection as the suite's ordinary role (the test user is a superuser,
    which policies never bind), with the given tenant scope."""

    def scope(kind: str, org_id: int | None = None) -> None:
        pg.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
        pg.execute(
            text("SELECT set_config('app.scope', :s, true), set_config('app.org_id', :o, true)"),
            {"s": kind, "o": str(org_id or "")},
        )

    yield scope
    pg.execute(text("RESET ROLE"))


@pytest.fixture
def partner_session(app, pg, org_factory, user_factory):
    """An app session of a partner user, as a request has it; yields it and the organisation."""
    org = org_factory()
    user = user_factory(org, "partner_user")
    session = app.extensions["db"].session_factory()
    set_principal(session, Principal(org.id, org.kind, user.role, user.id))
    yield session, org
    session.close()


def scope_of(session) -> tuple[str, str]:
    """The row-level-security settings as the database has them for ``session`` now."""
    found = session.execute(
        text("SELECT current_setting('app.scope'), current_setting('app.org_id')")
    ).one()
    return tuple(found)


def test_every_tenant_table_has_forced_row_level_security(pg):
    tables = {m.local_table.name for m in Base.registry.mappers}
    rows = pg.execute(
        text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = ANY(:names)"
        ),
        {"names": list(tables)},
    ).all()
    missing = [
        name
        for name, enabled, forced in rows
        if name not in GLOBAL_TABLES and not (enabled and forced)
    ]
    assert not missing, f"tables without forced row-level security: {missing}"


def test_raw_sql_sees_only_the_scoped_organisation(pg, as_ordinary_role, org_factory, user_factory):
    a, b = org_factory("reseller"), org_factory("customer")
    user_factory(a), user_factory(b)
    as_ordinary_role("org", a.id)
    assert set(pg.scalars(text("SELECT org_id FROM users"))) == {a.id}
    names = set(pg.scalars(text("SELECT name FROM organizations")))
    assert a.name in names and b.name not in names
    as_ordinary_role("none")
    assert pg.scalars(text("SELECT id FROM users")).all() == []
    as_ordinary_role("all")
    assert {a.id, b.id} <= set(pg.scalars(text("SELECT org_id FROM users")))


def test_raw_sql_cannot_write_into_another_organisation(pg, as_ordinary_role, org_factory):
    a, b = org_factory("reseller"), org_factory("reseller")
    as_ordinary_role("org", a.id)
    savepoint = pg.begin_nested()
    with pytest.raises(ProgrammingError, match="row-level security"):
        pg.execute(
            text(
                "INSERT INTO users (email, name, role, org_id, active, timezone, "
                "created_at, version) VALUES ('x@b.test', 'X', 'partner_user', :org, "
                "true, 'UTC', now(), 1)"
            ),
            {"org": b.id},
        )
    savepoint.rollback()


def test_audit_events_cannot_be_changed_even_with_raw_sql(pg, as_ordinary_role, org_factory):
    org = org_factory()
    pg.execute(
        text(
            "INSERT INTO audit_events (org_id, action, object_type, created_at) "
            "VALUES (:o, 'x', 'Organization', now())"
        ),
        {"o": org.id},
    )
    as_ordinary_role("all")
    assert pg.execute(text("UPDATE audit_events SET action = 'rewritten'")).rowcount == 0
    assert pg.execute(text("DELETE FROM audit_events")).rowcount == 0


def test_the_app_session_sets_the_scope_of_its_principal(partner_session):
    session, org = partner_session
    assert scope_of(session) == ("org", str(org.id))


def test_a_recipients_scope_never_reaches_a_draft_quote_nor_its_lines(
    db, pg, as_ordinary_role, org_factory
):
    """As Quote.visible_to: the recipient's scope reads and writes its sent quotes only; a draft
    (the vendor's work in progress) and its lines are invisible to it, even to raw SQL."""
    from datetime import date
    from decimal import Decimal

    from partners.quotes.models import Quote, QuoteLine

    recipient = org_factory("customer")

    def quote(number: str, status: str) -> Quote:
        line = QuoteLine(
            org_id=recipient.id,
            sku="X-1",
            name="X",
            quantity=1,
            list_price=Decimal("1"),
            unit_price=Decimal("1"),
        )
        row = Quote(
            org_id=recipient.id,
            number=number,
            status=status,
            currency="EUR",
            valid_until=date.today(),
            lines=[line],
        )
        db.add(row)
        return row

    draft, sent = quote("Q-RLS-00001", "draft"), quote("Q-RLS-00002", "sent")
    db.flush()
    as_ordinary_role("org", recipient.id)
    assert set(pg.scalars(text("SELECT id FROM quotes"))) == {sent.id}
    assert set(pg.scalars(text("SELECT quote_id FROM quote_lines"))) == {sent.id}
    params = {"id": draft.id}
    assert pg.execute(text("UPDATE quotes SET title = 'x' WHERE id = :id"), params).rowcount == 0
    assert (
        pg.execute(
            text("UPDATE quote_lines SET quantity = 9 WHERE quote_id = :id"), params
        ).rowcount
        == 0
    )
    assert pg.execute(text("DELETE FROM quote_lines WHERE quote_id = :id"), params).rowcount == 0
    savepoint = pg.begin_nested()
    with pytest.raises(ProgrammingError, match="row-level security"):  # nor make one a draft
        pg.execute(text("UPDATE quotes SET status = 'draft' WHERE id = :id"), {"id": sent.id})
    savepoint.rollback()
    as_ordinary_role("all")
    assert {draft.id, sent.id} <= set(pg.scalars(text("SELECT id FROM quotes")))


def test_every_policy_reads_the_session_settings_once_per_statement(pg, as_ordinary_role):
    """A bare ``current_setting()`` in a policy runs on every row the statement reads (about
    1.1 µs each); in a scalar subquery it is read once (0043, ``portal.migrate``)."""
    from tests.integration.test_policies_migration import (
        calls_read_per_row,
        initplans_in_subqueries,
        policies,
    )

    found = policies(pg)
    assert calls_read_per_row(found) == []
    assert initplans_in_subqueries(found) == []
    as_ordinary_role("org", 1)
    plan = pg.scalars(text("EXPLAIN SELECT id FROM cases WHERE number > ''")).all()
    scan = next(i for i, line in enumerate(plan) if " on cases" in line)
    filters = []  # the scan's own condition lines, up to its first child node
    for line in plan[scan + 1 :]:
        if line.strip().startswith(("->", "InitPlan", "SubPlan")):
            break
        filters.append(line)
    assert any("$" in line for line in filters), plan  # the settings, read once
    assert not any("current_setting" in line for line in filters), plan


def test_the_scope_after_a_savepoint_is_the_one_postgresql_has(app, partner_session):
    """PostgreSQL undoes the settings made after a savepoint when it is rolled back to and keeps
    them when it is released. A read_across() block (a savepoint rolled back) leaves the
    principal's scope as it found it, so it is not set again after the block; a savepoint
    released after an unscoped read leaves everything visible, so the next walled statement sets
    the organisation's scope again. Each time the database's own setting is read back."""
    session, org = partner_session
    engine = app.extensions["db"].engine
    scope_statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "set_config" in statement:
            scope_statements.append(parameters["scope"])

    try:
        assert scope_of(session) == ("org", str(org.id))
        event.listen(engine, "before_cursor_execute", record)
        with read_across(session) as reader:
            assert scope_of(reader) == ("all", "")
        assert scope_of(session) == ("org", str(org.id))
        assert scope_statements == ["all"]  # into the block only: PostgreSQL restored the rest

        released = session.begin_nested()
        with unscoped(session):
            assert scope_of(session) == ("all", "")
        released.commit()
        assert scope_of(session) == ("org", str(org.id))
        assert scope_statements == ["all", "all", "org"]
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_after_a_failed_savepoint_or_one_ended_out_of_order_the_scope_is_set_again(
    partner_session,
):
    """What the scope is after a savepoint is read from the savepoint statements that succeeded,
    by name: a savepoint that could not begin (the transaction had failed) and an outer one
    rolled back to while an inner one was open leave no stale record claiming one
    organisation's scope while the database has everything visible."""
    session, org = partner_session
    own = ("org", str(org.id))
    # A statement fails inside a savepoint begun while everything was visible; a read_across
    # block then cannot begin its savepoint; the first savepoint is rolled back to.
    with unscoped(session):
        scope_of(session)
    failed = session.begin_nested()
    assert scope_of(session) == own
    with pytest.raises(DBAPIError):
        session.execute(text("SELECT 1/0"))
    with pytest.raises(DBAPIError), read_across(session) as reader:
        scope_of(reader)
    failed.rollback()
    assert scope_of(session) == own

    # An outer savepoint (begun with everything visible) rolled back to while an inner one
    # (begun with the organisation's scope) is still open.
    connection = session.connection()
    with unscoped(session):
        assert scope_of(session) == ("all", "")
    outer = connection.begin_nested()
    assert scope_of(session) == own
    connection.begin_nested()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy warns of the inner one left open
        outer.rollback()
    assert scope_of(session) == own
