"""0027 on a programme in use, on a scratch database of its own: every tier starts without a
certified-people requirement, the new tables take a certification and one open proposal per
partner (a second open one is refused by the partial unique index, a decided one is not), on
PostgreSQL both tables are behind the tenant wall, and the downgrade takes it all out again
leaving the tiers and partners as they were."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from portal import migrate
from portal.engine import make_engine
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the scratch database

BEFORE = "0026_suppliers"
AFTER = "0027_programme"
TABLES = {"certifications", "tier_proposals"}


def _proposal(conn, org_id: int, status: str) -> None:
    conn.execute(
        text(
            "INSERT INTO tier_proposals (org_id, from_tier, to_tier, direction, standing, status,"
            " created_at, note) VALUES (:org, 'gold', 'silver', 'demotion', '{}', :status,"
            " CURRENT_TIMESTAMP, '')"
        ),
        {"org": org_id, "status": status},
    )


def test_0027_adds_the_programmes_tables_and_the_downgrade_is_clean(scratch_url):  # noqa: F811
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            org_id = conn.scalar(
                text(
                    "INSERT INTO organizations (name, kind, tier, active, created_at, version) "
                    "VALUES ('Gold Reseller', 'reseller', 'gold', true, CURRENT_TIMESTAMP, 1) "
                    "RETURNING id"
                )
            )
            user_id = conn.scalar(
                text(
                    "INSERT INTO users (org_id, email, name, role, password_hash, active,"
                    " created_at, version) VALUES (:org, 'p@gold.test', 'P', 'partner_user',"
                    " 'x', true, CURRENT_TIMESTAMP, 1) RETURNING id"
                ),
                {"org": org_id},
            )
            tiers = conn.execute(text("SELECT code, name, rank FROM tiers ORDER BY id")).all()
        with engine.begin() as conn:
            migrate.upgrade(conn, AFTER)
            assert set(inspect(conn).get_table_names()) >= TABLES
            required = conn.execute(text("SELECT required_certified_people FROM tiers")).all()
            assert {r for (r,) in required} == {None}
            conn.execute(
                text(
                    "INSERT INTO certifications (org_id, user_id, kind, name, issuer, issued_on,"
                    " status, created_at, rejection_reason, evidence) VALUES (:org, :user,"
                    " 'certification', 'Engineer', 'Academy', '2026-01-05', 'recorded',"
                    " CURRENT_TIMESTAMP, '', :pdf)"
                ),
                {"org": org_id, "user": user_id, "pdf": b"%PDF-1.4"},
            )
            _proposal(conn, org_id, "dismissed")
            _proposal(conn, org_id, "proposed")
            if conn.dialect.name == "postgresql":
                forced = conn.execute(
                    text(
                        "SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity"
                        " AND relname IN ('certifications', 'tier_proposals')"
                    )
                ).all()
                assert {name for (name,) in forced} == TABLES
        with pytest.raises(IntegrityError), engine.begin() as conn:
            _proposal(conn, org_id, "proposed")  # a second open one for the same partner
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            assert not TABLES & set(inspect(conn).get_table_names())
            columns = {c["name"] for c in inspect(conn).get_columns("tiers")}
            assert "required_certified_people" not in columns
            assert (
                conn.execute(text("SELECT code, name, rank FROM tiers ORDER BY id")).all() == tiers
            )
            tier = conn.scalar(
                text("SELECT tier FROM organizations WHERE id = :id"), {"id": org_id}
            )
            assert tier == "gold"
        with engine.begin() as conn:
            migrate.upgrade(conn, AFTER)  # and up again
            assert set(inspect(conn).get_table_names()) >= TABLES
    finally:
        engine.dispose()
