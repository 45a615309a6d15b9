"""0031 on a database that holds NPS recipients, an answer and a CSAT survey, on a scratch
database of its own: every existing row gets its own random nonce, the column is NOT NULL on
both databases, nothing is lost either way (no table rebuild on SQLite, so no ON DELETE action
runs), and the downgrade drops the column."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from portal import migrate
from portal.engine import make_engine
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the scratch database

BEFORE = "0030_offer_segment"
AFTER = "0031_link_nonce"
TABLES = ("survey_recipients", "csat_surveys")
NOW = "CURRENT_TIMESTAMP"


def _insert(conn, sql: str, **values) -> int:
    return conn.scalar(text(f"{sql} RETURNING id"), values)


def _world(conn) -> dict[str, int]:
    """A customer with two people asked by a sent campaign (one answered), a third not asked,
    and a CSAT survey."""
    org = _insert(
        conn,
        "INSERT INTO organizations (name, kind, active, created_at, version) "
        f"VALUES ('Customer plc', 'customer', true, {NOW}, 1)",
    )
    people = [
        _insert(
            conn,
            "INSERT INTO users (org_id, email, name, role, active, created_at, version) "
            f"VALUES (:org, :email, 'Person', 'customer_user', true, {NOW}, 1)",
            org=org,
            email=email,
        )
        for email in ("ann@customer.test", "bob@customer.test", "cy@customer.test")
    ]
    campaign = _insert(
        conn,
        "INSERT INTO nps_campaigns (name, product, audience_kinds, audience_tiers, "
        "audience_org_ids, status, remind_after_days, created_at, org_id) VALUES "
        f"('Spring', '', '[]', '[]', '[]', 'sent', 7, {NOW}, :org)",
        org=org,
    )
    recipients = [
        _insert(
            conn,
            "INSERT INTO survey_recipients (campaign_id, user_id, email, org_kind, org_tier, "
            f"sent_at, org_id) VALUES (:campaign, :user, 'x@customer.test', 'customer', '', "
            f"{NOW}, :org)",
            campaign=campaign,
            user=user,
            org=org,
        )
        for user in people[:2]
    ]
    _insert(
        conn,
        "INSERT INTO survey_responses (recipient_id, campaign_id, score, comment, answered_at, "
        f"org_id) VALUES (:recipient, :campaign, 9, 'Good', {NOW}, :org)",
        recipient=recipients[0],
        campaign=campaign,
        org=org,
    )
    case = _insert(
        conn,
        "INSERT INTO cases (number, subject, description, product, category, priority, status, "
        f"created_at, updated_at, status_changed_at, org_id) VALUES ('CS-1', 'Printer', '', '', "
        f"'', 'normal', 'solved', {NOW}, {NOW}, {NOW}, :org)",
        org=org,
    )
    _insert(
        conn,
        "INSERT INTO csat_surveys (case_id, case_number, subject, requester_id, team_name, "
        f"product, solved_at, sent_at, org_id) VALUES (:case, 'CS-1', 'Printer', :user, '', '', "
        f"{NOW}, {NOW}, :org)",
        case=case,
        user=people[0],
        org=org,
    )
    return {"org": org, "user": people[2], "campaign": campaign}  # one not asked yet


def _counts(conn) -> dict[str, int]:
    tables = (*TABLES, "survey_responses", "cases")
    return {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables}


def _nonces(conn, table: str) -> list[str | None]:
    return list(conn.scalars(text(f"SELECT link_nonce FROM {table} ORDER BY id")))


def _differences_in_these_tables(conn) -> list:
    """What the models and the migrated schema disagree on in TABLES (``alembic check``'s
    comparison, narrowed: the rest of the schema is other migrations' tests')."""
    return [d for d in migrate.differences(conn) if any(t in repr(d) for t in TABLES)]


def _column(conn, table: str) -> dict | None:
    found = [c for c in inspect(conn).get_columns(table) if c["name"] == "link_nonce"]
    return found[0] if found else None


def test_0031_gives_every_row_a_random_nonce_and_the_downgrade_is_clean(scratch_url):  # noqa: F811
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            world = _world(conn)
            counts = _counts(conn)
            assert counts == {
                "survey_recipients": 2,
                "csat_surveys": 1,
                "survey_responses": 1,
                "cases": 1,
            }
        with engine.begin() as conn:
            migrate.upgrade(conn, AFTER)
            assert _counts(conn) == counts
            nonces = [n for table in TABLES for n in _nonces(conn, table)]
            # Random per row: 16 bytes, URL-safe base64, no two alike.
            assert len(nonces) == 3 and len(set(nonces)) == 3
            assert all(n and len(n) >= 22 and n.isascii() for n in nonces)
            for table in TABLES:
                assert _column(conn, table)["nullable"] is False
        # NOT NULL holds on both databases (on SQLite, through the rewritten CREATE TABLE).
        late = {**world, "email": "late@customer.test"}
        with pytest.raises(IntegrityError, match="(?i)not null|null value"), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO survey_recipients (campaign_id, user_id, email, org_kind, "
                    f"org_tier, sent_at, org_id) VALUES (:campaign, :user, :email, 'customer', "
                    f"'', {NOW}, :org)"
                ),
                late,
            )
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert _differences_in_these_tables(conn) == []
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            for table in TABLES:
                assert _column(conn, table) is None
            assert _counts(conn) == counts  # nobody lost, the answer kept
        with engine.begin() as conn:
            migrate.upgrade(conn, AFTER)
            again = [n for table in TABLES for n in _nonces(conn, table)]
            assert len(set(again)) == 3 and not set(again) & set(nonces)  # new ones each time
            migrate.upgrade(conn)
            assert _differences_in_these_tables(conn) == []
    finally:
        engine.dispose()
