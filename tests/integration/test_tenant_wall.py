"""The tenant wall itself: the session hook scopes every ORM read and write, fails closed, and
stamps new rows; the schema keeps every tenant table tied to its organisation."""

import pytest
from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.orm import aliased

from portal.db import GLOBAL_TABLES, Base, TenantOwned, TenantViolation, set_principal, unscoped
from portal.identity.models import Organization, User
from portal.tenancy import Principal


@pytest.fixture
def two_partners(db, org_factory, user_factory):
    a, b = org_factory("reseller"), org_factory("reseller")
    return a, b, user_factory(a), user_factory(b)


@pytest.fixture
def scoped_session(app, db):
    """A fresh app session (on the test's connection) for one principal."""

    def make(principal):
        session = app.extensions["db"].session_factory()
        set_principal(session, principal)
        return session

    return make


def principal_of(user) -> Principal:
    return Principal(org_id=user.org_id, org_kind=user.org.kind, role=user.role, user_id=user.id)


def test_select_get_count_and_alias_are_scoped(two_partners, scoped_session):
    a, b, ua, ub = two_partners
    s = scoped_session(principal_of(ua))
    assert {u.org_id for u in s.scalars(select(User))} == {a.id}
    assert s.get(User, ub.id) is None
    assert s.scalar(select(func.count()).select_from(User)) == 1
    other = aliased(User)
    assert s.scalars(select(other).where(other.id == ub.id)).all() == []


def test_relationship_loads_are_scoped(two_partners, scoped_session, org_factory):
    a, b, ua, ub = two_partners
    customer_of_b = org_factory("customer", managed_by_id=b.id)
    s = scoped_session(principal_of(ua))
    # Organisation rule: A sees itself (and the vendor), not B nor B's customer.
    names = set(s.scalars(select(Organization.name)))
    assert a.name in names and b.name not in names and customer_of_b.name not in names


def test_partner_sees_the_customers_it_manages(two_partners, scoped_session, org_factory):
    a, b, ua, ub = two_partners
    mine = org_factory("customer", managed_by_id=a.id)
    s = scoped_session(principal_of(ua))
    assert s.get(Organization, mine.id) is not None


def test_orm_update_and_delete_are_scoped(two_partners, scoped_session, db):
    a, b, ua, ub = two_partners
    s = scoped_session(principal_of(ua))
    changed = s.execute(
        update(User).values(name="Renamed").execution_options(synchronize_session=False)
    ).rowcount
    assert changed == 1
    assert s.execute(delete(User).where(User.id == ub.id)).rowcount == 0
    s.commit()
    db.expire_all()
    assert db.get(User, ub.id).name != "Renamed"


def test_no_principal_sees_nothing(two_partners, scoped_session):
    s = scoped_session(None)
    assert s.scalars(select(User)).all() == []
    with unscoped(s):
        assert len(s.scalars(select(User)).all()) >= 2


def test_vendor_staff_see_every_organisation(two_partners, scoped_session, vendor, user_factory):
    staff = user_factory(vendor, "channel_manager")
    s = scoped_session(principal_of(staff))
    ids = set(s.scalars(select(User.org_id)))
    assert {two_partners[0].id, two_partners[1].id} <= ids


def test_new_rows_are_stamped_and_foreign_ones_refused(two_partners, scoped_session):
    a, b, ua, ub = two_partners
    s = scoped_session(principal_of(ua))
    stamped = User(email="new@a.test", name="New", role="partner_user")
    s.add(stamped)
    s.flush()
    assert stamped.org_id == a.id
    s.add(User(org_id=b.id, email="intruder@b.test", name="X", role="partner_user"))
    with pytest.raises(TenantViolation):
        s.flush()
    s.rollback()


def test_anonymous_session_cannot_write_tenant_rows(two_partners, scoped_session):
    s = scoped_session(None)
    s.add(User(org_id=two_partners[0].id, email="anon@a.test", name="X", role="partner_user"))
    with pytest.raises(TenantViolation):
        s.flush()
    s.rollback()


def test_session_cannot_switch_principal_after_loading(two_partners, scoped_session):
    a, b, ua, ub = two_partners
    s = scoped_session(principal_of(ua))
    s.scalars(select(User)).all()
    with pytest.raises(TenantViolation):
        set_principal(s, principal_of(ub))


def test_every_table_is_tenant_owned_or_declared_global(app):
    problems = []
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        if table.name in GLOBAL_TABLES:
            assert GLOBAL_TABLES[table.name].strip(), f"{table.name}: say why it is global"
            continue
        if not issubclass(mapper.class_, TenantOwned):
            problems.append(f"{table.name}: neither TenantOwned nor declared global")
            continue
        column = table.c.org_id
        fks = {fk.column.table.name for fk in column.foreign_keys}
        if column.nullable or fks != {"organizations"} or not column.index:
            problems.append(f"{table.name}.org_id must be NOT NULL, indexed, FK organizations")
    assert not problems, problems


def test_every_table_exists_in_the_migrated_schema(app, db):
    names = set(inspect(db.connection()).get_table_names())
    assert {m.local_table.name for m in Base.registry.mappers} <= names


def test_models_and_migrations_agree(app, db):
    from portal import migrate

    assert migrate.differences(db.connection()) == []


def test_sqlite_enforces_foreign_keys_and_uses_wal(app, db):
    from sqlalchemy import text

    conn = db.connection()
    if conn.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


@pytest.mark.parametrize(
    ("method", "path", "begin"),
    [
        ("GET", "/help/", "BEGIN"),
        ("POST", "/login", "BEGIN IMMEDIATE"),
        ("POST", "/api/v1/cases", "BEGIN IMMEDIATE"),
        ("GET", "/quotes/1", "BEGIN IMMEDIATE"),  # a first opening marks the quote viewed
        ("GET", "/quotes/1/pdf", "BEGIN IMMEDIATE"),
    ],
)
def test_sqlite_requests_that_may_write_take_the_write_lock_first(app, method, path, begin):
    """Else a request that read before another committed cannot write ('database is locked')."""
    from sqlalchemy import event

    engine = app.extensions["db"].engine
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite transactions")
    seen = []

    def record(conn, cursor, statement, *args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with app.test_request_context(path, method=method), engine.connect() as conn:
            conn.begin()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen == [begin]
