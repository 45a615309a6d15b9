"""Migration 0016 (the portal-wide search's indexes) on a database that already holds data, on a
scratch database of its own: existing rows are found after the upgrade, the indexes follow
inserts and edits, ``db check`` finds models and migrations in step, and the downgrade leaves
tables that still take rows (no trigger left behind on SQLite) and can be upgraded again."""

from __future__ import annotations

from sqlalchemy import inspect, text

from portal import migrate
from portal.engine import make_engine
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the scratch database

BEFORE = "0015_user_timezone"
TABLES = ("organizations", "users", "leads", "deal_registrations", "quotes", "cases")


def _found(conn, table: str, word: str) -> set[int]:
    if conn.dialect.name == "postgresql":
        sql = f"SELECT id FROM {table} WHERE search_vector @@ to_tsquery('english', :q || ':*')"
    else:
        sql = f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH '\"' || :q || '\"*'"
    return set(conn.scalars(text(sql), {"q": word}))


def _add_org(conn, name: str) -> int:
    return conn.scalar(
        text(
            "INSERT INTO organizations (name, kind, active, created_at, version) "
            "VALUES (:name, 'customer', true, CURRENT_TIMESTAMP, 1) RETURNING id"
        ),
        {"name": name},
    )


def _add_user(conn, org_id: int, name: str, email: str) -> int:
    return conn.scalar(
        text(
            "INSERT INTO users (email, name, role, active, timezone, created_at, version, org_id) "
            "VALUES (:email, :name, 'customer_user', true, 'UTC', CURRENT_TIMESTAMP, 1, :org_id) "
            "RETURNING id"
        ),
        {"email": email, "name": name, "org_id": org_id},
    )


def _indexed(conn) -> set[str]:
    if conn.dialect.name == "postgresql":
        return {
            table
            for table in TABLES
            if "search_vector" in {c["name"] for c in inspect(conn).get_columns(table)}
        }
    names = set(conn.scalars(text("SELECT name FROM sqlite_master")))
    return {table for table in TABLES if f"{table}_fts" in names}


def _match_is_leakproof(conn) -> bool | None:
    """PostgreSQL: whether ``tsvector @@ tsquery`` may use the GIN index under row-level
    security (None on SQLite)."""
    if conn.dialect.name != "postgresql":
        return None
    return conn.scalar(text("SELECT proleakproof FROM pg_proc WHERE proname = 'ts_match_vq'"))


def test_0016_indexes_existing_rows_follows_edits_and_the_downgrade_is_clean(scratch_url):  # noqa: F811
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            org = _add_org(conn, "Granite Works GmbH")
            person = _add_user(conn, org, "Ana Lopez", "ana@granite-works.example")
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert _indexed(conn) == set(TABLES)
            assert _match_is_leakproof(conn) in (None, True)  # the tests migrate as a superuser
            assert _found(conn, "organizations", "granite") == {org}
            assert _found(conn, "users", "lopez") == {person}
            assert _found(conn, "users", "works") == {person}  # the e-mail's domain, split
            other = _add_org(conn, "Basalt Systems")
            assert _found(conn, "organizations", "basalt") == {other}
            conn.execute(
                text("UPDATE organizations SET name = 'Marble AG' WHERE id = :id"), {"id": org}
            )
            assert _found(conn, "organizations", "granite") == set()
            assert _found(conn, "organizations", "marble") == {org}
            conn.execute(text("DELETE FROM organizations WHERE id = :id"), {"id": other})
            assert _found(conn, "organizations", "basalt") == set()
            assert migrate.differences(conn) == []
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            assert _indexed(conn) == set()
            assert _match_is_leakproof(conn) in (None, False)
            later = _add_org(conn, "Slate Partners")  # no trigger left to write to a lost table
            conn.execute(text("UPDATE users SET name = 'Ana Ruiz' WHERE id = :id"), {"id": person})
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert _found(conn, "organizations", "slate") == {later}
            assert _found(conn, "users", "ruiz") == {person}
            assert migrate.differences(conn) == []
    finally:
        engine.dispose()
