"""Migrations on databases that already hold data, each on a scratch database of its own (a
SQLite file, or a PostgreSQL database beside the test one): what a running portal meets when it
upgrades, and a clean way back.

0010: existing ideas are searchable after the upgrade, the index follows edits, and the downgrade
leaves a board that still takes new ideas. 0011: the trending count is filled from the votes of
the last 14 days, and the downgrade keeps 0010's search index working. 0013: an API client's
status is filled from its active flag, and the downgrade gives the flag back; neither direction
loses the tokens the clients hold."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from portal import migrate
from portal.engine import make_engine

BEFORE_0010 = "0009_csat"
BEFORE_0011 = "0010_search_and_leads"
BEFORE_0013 = "0012_invitation_status"


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


def test_0010_indexes_existing_ideas_and_the_downgrade_is_clean(scratch_url):
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE_0010)
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
            migrate.downgrade(conn, BEFORE_0010)
            _add_idea(conn, "Still takes ideas", "after the index is gone")
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert len(_found(conn, "takes")) == 1
    finally:
        engine.dispose()


def _vote(conn, idea_id: int, user_id: int, days_ago: int) -> None:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    if conn.dialect.name == "sqlite":
        at = at.replace(tzinfo=None)  # stored as naive UTC (portal.db.UTCDateTime)
    conn.execute(
        text(
            "INSERT INTO idea_votes (idea_id, user_id, created_at, org_id) "
            "SELECT :idea_id, :user_id, :at, org_id FROM users WHERE id = :user_id"
        ),
        {"idea_id": idea_id, "user_id": user_id, "at": at},
    )


def test_0011_fills_the_trending_count_from_votes_and_the_downgrade_is_clean(scratch_url):
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE_0011)
            idea_id = _add_idea(conn, "Dark mode for the console", "Easier at night")
            quiet = _add_idea(conn, "Export invoices", "As CSV")
            users = [
                conn.scalar(
                    text(
                        "INSERT INTO users (email, name, role, active, timezone, created_at, "
                        "version, org_id) SELECT :email, 'Voter', 'customer_user', true, 'UTC', "
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
            migrate.downgrade(conn, BEFORE_0011)
            columns = {column["name"] for column in inspect(conn).get_columns("ideas")}
            assert "recent_vote_count" not in columns
            # 0010's search index survives: no table rebuild in either direction.
            kept = _add_idea(conn, "Searchable after the downgrade", "")
            assert _found(conn, "downgrade") == {kept}
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.differences(conn) == []
    finally:
        engine.dispose()


def _add_api_client(conn, client_id: str, active: bool) -> int:
    org_id = conn.scalar(text("SELECT id FROM organizations"))
    if org_id is None:
        org_id = conn.scalar(
            text(
                "INSERT INTO organizations (name, kind, active, created_at, version) "
                "VALUES ('Reseller plc', 'reseller', true, CURRENT_TIMESTAMP, 1) RETURNING id"
            )
        )
    pk = conn.scalar(
        text(
            "INSERT INTO oauth_clients (client_id, name, redirect_uris, scopes, service_role, "
            "active, created_at, org_id) VALUES (:client_id, 'Sync', '[]', 'users:read', "
            "'partner_user', :active, CURRENT_TIMESTAMP, :org_id) RETURNING id"
        ),
        {"client_id": client_id, "active": active, "org_id": org_id},
    )
    at = datetime.now(UTC)
    if conn.dialect.name == "sqlite":
        at = at.replace(tzinfo=None)  # stored as naive UTC (portal.db.UTCDateTime)
    conn.execute(
        text(
            "INSERT INTO oauth_tokens (client_pk, access_token_hash, scope, issued_at, "
            "expires_at, org_id) VALUES (:pk, :hash, 'users:read', :at, :at, :org_id)"
        ),
        {"pk": pk, "hash": f"hash-of-{client_id}", "at": at, "org_id": org_id},
    )
    return pk


def test_0013_fills_the_client_status_from_the_active_flag_and_the_downgrade_is_clean(
    scratch_url,
):
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE_0013)
            enabled = _add_api_client(conn, "enabled-client", True)
            disabled = _add_api_client(conn, "disabled-client", False)
        with engine.begin() as conn:
            migrate.upgrade(conn)
            statuses = dict(conn.execute(text("SELECT id, status FROM oauth_clients")).all())
            assert statuses == {enabled: "active", disabled: "disabled"}
            columns = {column["name"] for column in inspect(conn).get_columns("oauth_clients")}
            assert "active" not in columns
            assert conn.scalar(text("SELECT count(*) FROM oauth_tokens")) == 2
            assert migrate.differences(conn) == []
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE oauth_clients SET status = 'active' WHERE id = :id"), {"id": disabled}
            )
            conn.execute(
                text("UPDATE oauth_clients SET status = 'disabled' WHERE id = :id"), {"id": enabled}
            )
            migrate.downgrade(conn, BEFORE_0013)
            flags = {
                pk: bool(active)
                for pk, active in conn.execute(text("SELECT id, active FROM oauth_clients"))
            }
            assert flags == {enabled: False, disabled: True}
            columns = {column["name"] for column in inspect(conn).get_columns("oauth_clients")}
            assert "status" not in columns
            assert conn.scalar(text("SELECT count(*) FROM oauth_tokens")) == 2
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.differences(conn) == []
    finally:
        engine.dispose()


def test_0014_adds_the_account_manager_and_the_downgrade_is_clean(scratch_url):
    """The column takes a vendor user, is emptied when the user goes (ON DELETE SET NULL, on
    SQLite too), and the downgrade drops it without losing an organisation."""
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, "0013_client_status")
            org = conn.scalar(
                text(
                    "INSERT INTO organizations (name, kind, active, created_at, version) "
                    "VALUES ('Vendor', 'vendor', true, CURRENT_TIMESTAMP, 1) RETURNING id"
                )
            )
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.differences(conn) == []
            user = conn.scalar(
                text(
                    "INSERT INTO users (org_id, email, name, role, active, timezone, created_at, "
                    "version) VALUES (:org, 'am@vendor.test', 'AM', 'sales_rep', true, 'UTC', "
                    "CURRENT_TIMESTAMP, 1) RETURNING id"
                ),
                {"org": org},
            )
            conn.execute(
                text("UPDATE organizations SET account_manager_id = :u WHERE id = :o"),
                {"u": user, "o": org},
            )
            conn.execute(text("DELETE FROM users WHERE id = :u"), {"u": user})
            assert conn.scalar(text("SELECT account_manager_id FROM organizations")) is None
        with engine.begin() as conn:
            migrate.downgrade(conn, "0013_client_status")
            columns = {c["name"] for c in inspect(conn).get_columns("organizations")}
            assert "account_manager_id" not in columns
            assert conn.scalar(text("SELECT count(*) FROM organizations")) == 1
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.differences(conn) == []
    finally:
        engine.dispose()
