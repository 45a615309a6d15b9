"""0041 on a database that holds webhook endpoints (one rotated) and a delivery, on a scratch
database of its own: every secret is sealed under the app's SECRET_KEY (or the environment's,
outside the app), the columns are wide enough and agree with the models, the delivery log is
kept (no table rebuild on SQLite), the downgrade gives the plain secrets back, and a downgrade
under another SECRET_KEY stops without changing anything."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import inspect, text

from portal import migrate, sealed
from portal.engine import make_engine
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the scratch database

BEFORE = "0040_passkeys"
AFTER = "0041_webhook_secrets_sealed"
PURPOSE = "webhook-secrets"
KEY = "migration-test-key"
SECRETS = {
    "current": "whsec_" + "Q" * 44,
    "rotated": "whsec_" + "R" * 44,
    "old": "whsec_" + "O" * 44,
}
NOW = "CURRENT_TIMESTAMP"


def _insert(conn, sql: str, **values) -> int:
    return conn.scalar(text(f"{sql} RETURNING id"), values)


def _world(conn) -> None:
    org = _insert(
        conn,
        "INSERT INTO organizations (name, kind, active, created_at, version) "
        f"VALUES ('Hook plc', 'reseller', true, {NOW}, 1)",
    )
    subscription = None
    for secret, previous in ((SECRETS["current"], None), (SECRETS["rotated"], SECRETS["old"])):
        subscription = _insert(
            conn,
            "INSERT INTO webhook_subscriptions (url, description, events, secret, "
            "previous_secret, previous_secret_until, active, disabled_reason, created_at, "
            f"org_id) VALUES ('https://hooks.example/in', '', '[\"deal.*\"]', :secret, "
            f":previous, {'NULL' if previous is None else NOW}, true, '', {NOW}, :org)",
            secret=secret,
            previous=previous,
            org=org,
        )
    _insert(
        conn,
        "INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, record_type, "
        "record_id, occurred_at, status, attempts, next_attempt_at, created_at, org_id) VALUES "
        f"(:subscription, 'msg_1', 'deal.submitted', 'DealRegistration', 1, {NOW}, 'pending', 0, "
        f"{NOW}, {NOW}, :org)",
        subscription=subscription,
        org=org,
    )


def _stored(conn) -> list[tuple[str, str | None]]:
    return [
        tuple(row)
        for row in conn.execute(
            text("SELECT secret, previous_secret FROM webhook_subscriptions ORDER BY id")
        )
    ]


def _lengths(conn) -> dict[str, int]:
    return {
        c["name"]: c["type"].length
        for c in inspect(conn).get_columns("webhook_subscriptions")
        if c["name"] in ("secret", "previous_secret")
    }


def _deliveries(conn) -> int:
    return conn.scalar(text("SELECT count(*) FROM webhook_deliveries"))


def _differences_in_the_table(conn) -> list:
    return [d for d in migrate.differences(conn) if "webhook_subscriptions" in repr(d)]


def _app_with_key(key: str) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = key
    return app


PLAIN = [(SECRETS["current"], None), (SECRETS["rotated"], SECRETS["old"])]


def test_0041_seals_every_secret_and_the_downgrade_gives_them_back(scratch_url):  # noqa: F811
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            _world(conn)
        with _app_with_key(KEY).app_context(), engine.begin() as conn:
            migrate.upgrade(conn, AFTER)
            assert _lengths(conn) == {"secret": 300, "previous_secret": 300}
            assert _deliveries(conn) == 1  # no rebuild: the delivery log is kept
            stored = _stored(conn)
        assert not {s for row in stored for s in row} & set(SECRETS.values())
        opened = [
            tuple(None if t is None else sealed.unseal(PURPOSE, t, secret_key=KEY) for t in row)
            for row in stored
        ]
        assert opened == PLAIN
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert _differences_in_the_table(conn) == []
        # Under another SECRET_KEY the downgrade cannot give them back: it changes nothing.
        with (
            _app_with_key("another-key").app_context(),
            pytest.raises(RuntimeError, match="cannot be unsealed"),
            engine.begin() as conn,
        ):
            migrate.downgrade(conn, BEFORE)
        with engine.begin() as conn:
            assert _stored(conn) == stored
            assert _lengths(conn) == {"secret": 300, "previous_secret": 300}
        with _app_with_key(KEY).app_context(), engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            assert _stored(conn) == PLAIN
            assert _lengths(conn) == {"secret": 100, "previous_secret": 100}
            assert _deliveries(conn) == 1
    finally:
        engine.dispose()


def test_0041_outside_the_app_takes_the_environments_secret_key(scratch_url, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SECRET_KEY", "the-environments-key")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            _world(conn)
            migrate.upgrade(conn, AFTER)
            (current, _), (rotated, old) = _stored(conn)
        assert sealed.unseal(PURPOSE, old, secret_key="the-environments-key") == SECRETS["old"]
        assert sealed.unseal(PURPOSE, current, secret_key=KEY) is None
    finally:
        engine.dispose()
