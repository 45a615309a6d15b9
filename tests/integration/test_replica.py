"""Reading from a replica (portal.replica): with DATABASE_REPLICA_URL set, the pages marked
``@reads_replica`` (dashboards, exports) read there, every other page the primary; the tenant wall
and row-level security hold on the replica; a write from such a page goes to the primary.

Two PostgreSQL databases stand in for primary and replica: the test's own (``TEST_DATABASE_URL``)
and ``<its name>_replica``, created if missing and migrated like the primary. The test's rows
(arranged in the primary's rolled-back transaction) are copied to the replica, and there only
the leads' companies are changed to a marker: what a page shows says which database it read.
What such a page writes (the session's "last seen" stamp) goes to the primary.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import make_url

from partners.leads.models import Lead
from portal.app import create_app
from portal.db import Base, set_principal
from portal.db import db as portal_db
from portal.engine import make_engine
from portal.replica import reads_from_replica
from tests.conftest import reset_schema

ON_POSTGRES = (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql")
pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="a replica is a PostgreSQL standby: SQLite has none (set TEST_DATABASE_URL to a "
    "PostgreSQL database to run these)",
)

PRIMARY_COMPANY = "Primary Copy Ltd"
REPLICA_COMPANY = "Replica Marker Ltd"
FOREIGN_COMPANY = "Foreign Replica Marker Ltd"


def _replica_url(primary: str) -> str:
    url = make_url(primary)
    return url.set(database=f"{url.database}_replica").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def replica_url(app):
    primary = app.config["DATABASE_URL"]
    url = _replica_url(primary)
    admin = make_engine(
        make_url(primary).set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    name = make_url(url).database
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    reset_schema(url)  # the migrations, as on the primary
    return url


@pytest.fixture(scope="module")
def replica_app(app, replica_url):
    config = {key: app.config[key] for key in ("SECRET_KEY", "DATABASE_URL", "DATABASE_ROLE")}
    instance = create_app(
        {
            **config,
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "BASE_URL": "http://portal.test",
            "SERVER_NAME": None,
            "REDIS_URL": None,
            "SMTP_URL": app.config.get("SMTP_URL"),
            "DATABASE_REPLICA_URL": replica_url,
        }
    )
    yield instance
    instance.extensions["db"].engine.dispose()
    instance.extensions["db"].replica_engine.dispose()


@pytest.fixture
def world(db, app, replica_app, replica_url, vendor, org_factory, user_factory, lead_factory,
          offer_factory):  # fmt: skip
    """A partner with a lead offered to it, another partner with one of its own; the replica
    app's primary sessions share the test's transaction."""
    mine, other = org_factory("reseller"), org_factory("reseller")
    partner_user = user_factory(mine)
    for company, org in ((PRIMARY_COMPANY, mine), (f"Foreign {PRIMARY_COMPANY}", other)):
        offer_factory(lead_factory(vendor, company=company), org)
    db.flush()
    state = replica_app.extensions["db"]
    original, replica_kw = state.session_factory, dict(state.replica_factory.kw)
    shared = app.extensions["db"].session_factory
    state.session_factory = shared
    # What a replica page writes goes to the primary: here, the test's own transaction.
    state.replica_factory.kw.update(
        primary=shared.kw["bind"], join_transaction_mode="create_savepoint"
    )
    yield {"partner": partner_user, "mine": mine, "other": other}
    state.session_factory = original
    state.replica_factory.kw.clear()
    state.replica_factory.kw.update(replica_kw)
    _empty(replica_url)


def _empty(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
    engine.dispose()


def _copy_to_replica(db, url: str) -> None:
    """Every row of the primary (as the test's transaction sees it) into the replica, then the
    leads' companies changed there only."""
    db.flush()
    source = db.connection()
    source.execute(text("SELECT set_config('app.scope', 'all', true)"))
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
        for table in Base.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in source.execute(select(table))]
            if rows:
                conn.execute(insert(table), rows)
        conn.execute(
            update(Lead.__table__)
            .where(Lead.__table__.c.company == PRIMARY_COMPANY)
            .values(company=REPLICA_COMPANY)
        )
        conn.execute(
            update(Lead.__table__)
            .where(Lead.__table__.c.company == f"Foreign {PRIMARY_COMPANY}")
            .values(company=FOREIGN_COMPANY)
        )
    engine.dispose()


def test_the_export_reads_the_replica_and_the_list_the_primary(
    db, world, client_as, replica_app, replica_url
):
    browser = client_as(world["partner"], app=replica_app)
    _copy_to_replica(db, replica_url)  # after signing in: the server-side session row too

    exported = browser.get("/export/leads.csv")
    assert exported.status_code == 200
    csv = exported.get_data(as_text=True)
    assert REPLICA_COMPANY in csv
    assert PRIMARY_COMPANY not in csv
    # The wall holds on the replica: the other partner's lead is not there.
    assert FOREIGN_COMPANY not in csv

    listed = browser.get("/leads/")
    assert listed.status_code == 200
    page = listed.get_data(as_text=True)
    assert PRIMARY_COMPANY in page
    assert REPLICA_COMPANY not in page


def test_a_dashboard_reads_the_replica(db, world, client_as, replica_app, replica_url):
    browser = client_as(world["partner"], app=replica_app)
    _copy_to_replica(db, replica_url)
    engine = make_engine(replica_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE organizations SET name = :n WHERE id = :id"),
            {"n": "Replica Scorecard Marker", "id": world["mine"].id},
        )
    engine.dispose()
    scorecard = browser.get("/scorecards/mine")
    assert scorecard.status_code == 200
    assert "Replica Scorecard Marker" in scorecard.get_data(as_text=True)
    home = browser.get("/home")
    assert "Replica Scorecard Marker" not in home.get_data(as_text=True)


def test_row_level_security_is_set_on_the_replica(db, world, replica_app, replica_url):
    """Without the tenant wall (a Core statement), the replica's policies alone keep the other
    partner's lead out: app.scope and app.org_id are set on its connection too."""
    from portal.tenancy import Principal

    _copy_to_replica(db, replica_url)
    principal = Principal.for_user(world["partner"])
    with replica_app.test_request_context("/export/leads.csv"):
        session = portal_db.session
        assert reads_from_replica(session)
        set_principal(session, principal)
        seen = session.execute(text("SELECT company FROM leads")).scalars().all()
        scope = session.execute(text("SELECT current_setting('app.org_id', true)")).scalar()
    assert REPLICA_COMPANY in seen
    assert FOREIGN_COMPANY not in seen
    assert scope == str(world["mine"].id)


def test_writes_from_a_replica_page_go_to_the_primary(db, world, replica_app, replica_url):
    """Reads on the replica; a flush, an UPDATE and a SELECT ... FOR UPDATE on the primary. A
    write that reached the replica anyway would be refused there: its transactions are
    read-only, as a standby's are."""
    from portal.tenancy import Principal

    state = replica_app.extensions["db"]
    _copy_to_replica(db, replica_url)
    with replica_app.test_request_context("/scorecards/mine"):
        session = portal_db.session
        assert reads_from_replica(session)
        set_principal(session, Principal.for_user(world["partner"]))
        assert session.get_bind() is state.replica_engine
        assert session.get_bind(clause=select(Lead)) is state.replica_engine
        primary = session.primary  # the test's connection to the primary (see ``world``)
        assert session.get_bind(clause=update(Lead).values(company="x")) is primary
        assert session.get_bind(clause=select(Lead).with_for_update()) is primary
        with pytest.raises(Exception, match="read-only transaction"):
            session.connection().execute(text("UPDATE leads SET company = 'x'"))
        session.rollback()


def test_a_dashboard_still_stamps_the_session_seen_on_the_primary(
    db, world, client_as, replica_app, replica_url
):
    """The "last seen" stamp after a page (an UPDATE of the person's session row) is written
    to the primary, not refused by the replica: the page answers 200 and the row is stamped."""
    import time_machine

    from portal.clock import utcnow
    from portal.identity.models import UserSession

    browser = client_as(world["partner"], app=replica_app)
    _copy_to_replica(db, replica_url)
    later = utcnow().replace(microsecond=0).timestamp() + 3600
    with time_machine.travel(later, tick=False):
        assert browser.get("/scorecards/mine").status_code == 200
    db.expire_all()
    stamped = db.scalars(select(UserSession).where(UserSession.user_id == world["partner"].id))
    assert any(s.last_seen_at and s.last_seen_at.timestamp() >= later for s in stamped)


def test_without_a_replica_the_marker_changes_nothing(app, db, world):
    with app.test_request_context("/scorecards/mine"):
        assert not reads_from_replica(portal_db.session)
