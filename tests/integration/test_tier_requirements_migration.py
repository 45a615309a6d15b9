"""0020 on a programme whose tiers are in use, on a scratch database of its own: every tier
starts without requirements, the columns take an amount and a percentage exactly, and the
downgrade takes them out again leaving the tiers, their terms and the partners in them as they
were (no rebuild of ``tiers`` on SQLite)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import inspect, text

from portal import migrate
from portal.engine import make_engine
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the scratch database

BEFORE = "0019_segments"
COLUMNS = ("required_won_value_12m", "required_acceptance_percent")


def _columns(conn) -> dict[str, dict]:
    return {c["name"]: c for c in inspect(conn).get_columns("tiers")}


def _terms(conn) -> dict[str, tuple]:
    rows = conn.execute(
        text("SELECT code, name, discount_percent, protection_days, max_open_leads FROM tiers")
    )
    return {code: (name, Decimal(str(d)), p, m) for code, name, d, p, m in rows}


def _requirements(conn) -> dict[str, tuple]:
    rows = conn.execute(text(f"SELECT code, {', '.join(COLUMNS)} FROM tiers"))
    return {
        code: tuple(None if v is None else Decimal(str(v)).quantize(Decimal("0.01")) for v in r)
        for code, *r in rows
    }


def test_0020_adds_empty_requirements_and_the_downgrade_is_clean(scratch_url):  # noqa: F811
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            terms = _terms(conn)
            assert set(terms) == {"registered", "silver", "gold", "platinum"}
            conn.execute(
                text(
                    "INSERT INTO organizations (name, kind, tier, active, created_at, version) "
                    "VALUES ('Gold Reseller', 'reseller', 'gold', true, CURRENT_TIMESTAMP, 1)"
                )
            )
        with engine.begin() as conn:
            migrate.upgrade(conn, "0020_tier_requirements")
            columns = _columns(conn)
            assert all(columns[c]["nullable"] for c in COLUMNS)
            assert _requirements(conn) == {code: (None, None) for code in terms}
            conn.execute(
                text(
                    "UPDATE tiers SET required_won_value_12m = 123456789012.34, "
                    "required_acceptance_percent = 62.5 WHERE code = 'gold'"
                )
            )
            assert _requirements(conn)["gold"] == (Decimal("123456789012.34"), Decimal("62.50"))
            assert _terms(conn) == terms
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            assert not set(COLUMNS) & set(_columns(conn))
            assert _terms(conn) == terms
            assert conn.scalar(text("SELECT tier FROM organizations")) == "gold"
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.differences(conn) == []
            assert _requirements(conn)["gold"] == (None, None)
    finally:
        engine.dispose()
