"""0015 on a database that holds people, on a scratch database of its own: the stored zones stay,
a new person's zone is unknown (NULL) until the browser reports it, and the downgrade gives every
row a zone again without losing anyone."""

from __future__ import annotations

from sqlalchemy import inspect, text

from portal import migrate
from portal.engine import make_engine
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the scratch database

BEFORE = "0014_account_manager"


def _add_user(conn, email: str, **zone) -> int:
    columns, values = ("timezone, ", ":timezone, ") if zone else ("", "")
    return conn.scalar(
        text(
            f"INSERT INTO users (org_id, email, name, role, active, {columns}created_at, version) "
            f"VALUES (:org, :email, 'Person', 'customer_user', true, {values}CURRENT_TIMESTAMP, 1) "
            "RETURNING id"
        ),
        {"org": conn.scalar(text("SELECT min(id) FROM organizations")), "email": email, **zone},
    )


def _zones(conn) -> dict[int, str | None]:
    return dict(conn.execute(text("SELECT id, timezone FROM users")).all())


def _timezone_column(conn) -> dict:
    (column,) = [c for c in inspect(conn).get_columns("users") if c["name"] == "timezone"]
    return column


def test_0015_makes_the_zone_optional_and_the_downgrade_is_clean(scratch_url):  # noqa: F811
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            conn.execute(
                text(
                    "INSERT INTO organizations (name, kind, active, created_at, version) "
                    "VALUES ('Customer plc', 'customer', true, CURRENT_TIMESTAMP, 1)"
                )
            )
            old_default = _add_user(conn, "utc@customer.test")
            berlin = _add_user(conn, "berlin@customer.test", timezone="Europe/Berlin")
            assert _zones(conn) == {old_default: "UTC", berlin: "Europe/Berlin"}
        with engine.begin() as conn:
            migrate.upgrade(conn, "0015_user_timezone")
            assert _timezone_column(conn)["nullable"]
            newcomer = _add_user(conn, "new@customer.test")
            # The stored zones stay; a new person has none until the browser reports it.
            assert _zones(conn) == {old_default: "UTC", berlin: "Europe/Berlin", newcomer: None}
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.differences(conn) == []
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            assert not _timezone_column(conn)["nullable"]
            assert _zones(conn) == {old_default: "UTC", berlin: "Europe/Berlin", newcomer: "UTC"}
            # The default is back and nobody was lost (no table rebuild on SQLite).
            later = _add_user(conn, "later@customer.test")
            assert _zones(conn)[later] == "UTC"
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.differences(conn) == []
            assert conn.scalar(text("SELECT count(*) FROM users")) == 4
    finally:
        engine.dispose()
