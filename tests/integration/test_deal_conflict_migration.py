"""Migration 0024 on a database that already holds double approvals (the demo's story before
issue 15: two partners protected for one customer): the earliest approved keeps its
protection, the others expire, the one-protection index and the programme's setting (off) exist;
the downgrade puts registrations waiting for their distributor back to draft, is otherwise clean,
and the upgrade runs again. On a scratch database of its own
(tests/integration/test_migrations.py)."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from portal import migrate
from portal.engine import make_engine
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the fixture

BEFORE = "0023_report_indexes"
REVISION = "0024_conflict_settlement"  # not head: the later revisions are other topics
INDEX = "uq_deal_registrations_protected_domain"


def _org(conn, name: str) -> int:
    return conn.scalar(
        text(
            "INSERT INTO organizations (name, kind, active, created_at, version) "
            "VALUES (:name, 'reseller', true, CURRENT_TIMESTAMP, 1) RETURNING id"
        ),
        {"name": name},
    )


def _deal(conn, org: int, number: str, domain: str, status: str, decided: str | None) -> int:
    return conn.scalar(
        text(
            "INSERT INTO deal_registrations (number, customer_name, customer_name_key, "
            "customer_domain, contact_name, contact_email, products, value, currency, "
            "expected_close, notes, status, created_at, decided_at, decision_reason, org_id) "
            "VALUES (:number, 'Hawthorne', 'hawthorne', :domain, '', '', '[]', 1000, 'EUR', "
            "'2027-01-31', '', :status, CURRENT_TIMESTAMP, :decided, '', :org) RETURNING id"
        ),
        {"number": number, "domain": domain, "status": status, "decided": decided, "org": org},
    )


def _statuses(conn) -> dict[str, str]:
    return dict(conn.execute(text("SELECT number, status FROM deal_registrations")).all())


# What later migrations add to the deal tables: the models have it, 0024 does not make it
# (0045's indexes, 0046's rollup tables).
LATER = (
    "ix_deal_registrations_org_status_expires",
    "ix_deal_registrations_org_status_decided",
    "deal_days",  # the table and, reported apart, its indexes
    "deal_dirty_days",
)


def _deal_differences(conn) -> list:
    return [
        d
        for d in migrate.differences(conn)
        if "deal_" in str(d) and not any(name in str(d) for name in LATER)
    ]


def test_0024_keeps_the_earliest_approval_per_domain_and_the_downgrade_is_clean(scratch_url):  # noqa: F811
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            alpine, cobalt = _org(conn, "Alpine"), _org(conn, "Cobalt")
            _deal(conn, alpine, "DR-1", "hawthorne.com", "approved", "2026-05-01 10:00:00+00")
            _deal(conn, cobalt, "DR-2", "hawthorne.com", "approved", "2026-06-01 10:00:00+00")
            _deal(conn, cobalt, "DR-3", "hawthorne.com", "submitted", None)
            _deal(conn, cobalt, "DR-4", "pinecrest.edu", "approved", "2026-06-01 10:00:00+00")
        with engine.begin() as conn:
            migrate.upgrade(conn, REVISION)
            assert _statuses(conn) == {
                "DR-1": "approved",  # the earliest approval keeps its protection
                "DR-2": "expired",
                "DR-3": "submitted",
                "DR-4": "approved",
            }
            closed = conn.scalar(
                text("SELECT closed_at FROM deal_registrations WHERE number='DR-2'")
            )
            assert closed is not None
            assert INDEX in {i["name"] for i in inspect(conn).get_indexes("deal_registrations")}
            columns = {c["name"] for c in inspect(conn).get_columns("deal_conflicts")}
            assert {"settled_at", "settled_by_id", "winner", "settlement_reason"} <= columns
            assert conn.scalar(text("SELECT distributor_first_approval FROM deal_programme")) in (
                False,
                0,
            )
            assert _deal_differences(conn) == []
        try:
            with engine.begin() as conn:
                conn.execute(
                    text("UPDATE deal_registrations SET status='approved' WHERE number='DR-3'")
                )
            raise AssertionError("a second protection for hawthorne.com was stored")
        except IntegrityError:
            pass
        with engine.begin() as conn:  # waiting for its distributor: draft again on the way back
            conn.execute(
                text(
                    "UPDATE deal_registrations SET status='distributor_review' WHERE number='DR-3'"
                )
            )
            migrate.downgrade(conn, BEFORE)
            assert _statuses(conn)["DR-3"] == "draft"
            assert "deal_programme" not in inspect(conn).get_table_names()
            assert INDEX not in {i["name"] for i in inspect(conn).get_indexes("deal_registrations")}
            columns = {c["name"] for c in inspect(conn).get_columns("deal_conflicts")}
            assert "settled_by_id" not in columns and "winner" not in columns
            conn.execute(
                text("UPDATE deal_registrations SET status='approved' WHERE number='DR-3'")
            )
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE deal_registrations SET status='rejected' WHERE number='DR-3'")
            )
            migrate.upgrade(conn, REVISION)
            assert _deal_differences(conn) == []
    finally:
        engine.dispose()
