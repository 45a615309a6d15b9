"""Migration 0010 on a database that already has ideas: they are searchable after the upgrade,
the downgrade leaves a board that still takes new ideas, and upgrading again works. Runs on its
own scratch database (SQLite file, or a PostgreSQL database beside the test one)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal import migrate
from portal.db import make_engine

BEFORE = "0009_csat"


@pytest.fixture
def scratch_url(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migration.sqlite3'}"
        return
    base = make_url(url)
    name = f"{base.database}_migration"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _add_idea(conn, title: str, description: str) -> int:
    org_id = conn.scalar(text("SELECT id FROM organizations"))
    if org_id is None:
        org_id = conn.scalar(
            text(
                "INSERT INTO organizations (name, kind, active, created_at, version) "
                "VALUES ('Customer plc', 'customer', true, CURRENT_TIMESTAMP, 1) RETURNING id"
            )
        )
    return conn.scalar(
        text(
            "INSERT INTO ideas (title, description, product, status, status_reason, vote_count, "
            "created_at, org_id) VALUES (:title, :description, 'networking', 'under_review', '', "
            "0, CURRENT_TIMESTAMP, :org_id) RETURNING id"
        ),
        {"title": title, "description": description, "org_id": org_id},
    )


def _found(conn, word: str) -> set[int]:
    if conn.dialect.name == "postgresql":
        sql = "SELECT id FROM ideas WHERE search_vector @@ to_tsquery('english', :q || ':*')"
    else:
        sql = "SELECT rowid FROM ideas_fts WHERE ideas_fts MATCH '\"' || :q || '\"*'"
    return set(conn.scalars(text(sql), {"q": word}))


def test_existing_ideas_are_indexed_and_the_downgrade_is_clean(scratch_url):
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            old = _add_idea(conn, "Dark mode for the console", "Easier on the eyes at night")
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert _found(conn, "console") == {old}
            assert _found(conn, "eyes") == {old}  # the description is indexed too
            new = _add_idea(conn, "Printer status page", "Show toner levels")
            assert _found(conn, "printers") == {new}  # stemmed
            conn.execute(text("UPDATE ideas SET title = 'Light mode' WHERE id = :id"), {"id": old})
            assert _found(conn, "console") == set()
            assert conn.scalar(text("SELECT lead_id FROM support_teams")) is None
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            _add_idea(conn, "Still takes ideas", "after the index is gone")
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert len(_found(conn, "takes")) == 1
    finally:
        engine.dispose()
