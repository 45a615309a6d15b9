"""Migration 0011 on a database that already has ideas and votes: the trending count is filled
from the votes of the last 14 days, the downgrade is clean and upgrading again works. SQLite
scratch file only: on PostgreSQL the test suite keeps to its one database (0011's statements are
plain SQL; ``flask db check`` and the PostgreSQL test run cover the upgraded schema)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from portal import migrate
from portal.db import make_engine
from tests.integration.test_migration_0010 import _add_idea

BEFORE = "0010_search_and_leads"

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite scratch file only (see above)"
)


def _vote(conn, idea_id: int, user_id: int, days_ago: int) -> None:
    at = (datetime.now(UTC) - timedelta(days=days_ago)).replace(tzinfo=None)  # naive UTC
    conn.execute(
        text(
            "INSERT INTO idea_votes (idea_id, user_id, created_at, org_id) "
            "SELECT :idea_id, :user_id, :at, org_id FROM users WHERE id = :user_id"
        ),
        {"idea_id": idea_id, "user_id": user_id, "at": at},
    )


def test_existing_votes_fill_the_trending_count_and_the_downgrade_is_clean(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'migration.sqlite3'}")
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            idea_id = _add_idea(conn, "Dark mode for the console", "Easier at night")
            quiet = _add_idea(conn, "Export invoices", "As CSV")
            users = [
                conn.scalar(
                    text(
                        "INSERT INTO users (email, name, role, active, timezone, created_at, "
                        "version, org_id) SELECT :email, 'Voter', 'customer_user', 1, 'UTC', "
                        "CURRENT_TIMESTAMP, 1, min(id) FROM organizations RETURNING id"
                    ),
                    {"email": f"voter{n}@example.com"},
                )
                for n in range(3)
            ]
            for user_id, days_ago in zip(users, (1, 13, 20), strict=True):
                _vote(conn, idea_id, user_id, days_ago)
            conn.execute(text("UPDATE ideas SET vote_count = 3 WHERE id = :id"), {"id": idea_id})
        with engine.begin() as conn:
            migrate.upgrade(conn)
            counts = dict(conn.execute(text("SELECT id, recent_vote_count FROM ideas")).all())
            assert counts == {idea_id: 2, quiet: 0}
            assert migrate.differences(conn) == []
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            columns = [row[1] for row in conn.execute(text("PRAGMA table_info(ideas)"))]
            assert "recent_vote_count" not in columns
            # 0010's search triggers survive: no table rebuild in either direction.
            triggers = set(
                conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            )
            assert {"ideas_fts_insert", "ideas_fts_update", "ideas_fts_delete"} <= triggers
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.differences(conn) == []
    finally:
        engine.dispose()
