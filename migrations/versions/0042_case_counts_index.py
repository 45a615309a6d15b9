"""cases: an index on (status, org_id, requester_id), so the home pages count open cases from
the index alone

The home pages count the open cases their reader sees, per status: a customer's (its
organisation's, or only its own when they are not shared) and a partner's managed customers'.
With the status index alone the database read every open case's row to test the reader's rule
(organisation, requester): at 200,000 cases (30,000 open) the count took 53 ms for a customer
and 75 ms for a partner on SQLite, most of the home page. With the rule's columns in the index
it reads no row: 7.7 and 7.6 ms (tests/perf/bench_pages, tests/perf/README.md).

On SQLite, where the planner already has statistics (``sqlite_stat1``, written by ANALYZE),
the new index gets its own at once, so that it is weighed like the others; where there are none,
the tick's ``planner_statistics`` makes them. (This note said before that without them the home
page's "recently changed" list sorted 15,000 rows in 45 ms: later runs did not reproduce it; on a
freshly built benchmark database the list walks ``ix_cases_updated_at_id`` in 0.2-0.3 ms.)
PostgreSQL plans with the columns' statistics, which the index does not change.

The index is built while writes to cases wait (1.0 s for 200,000 cases on SQLite on the
benchmark machine; not measured on PostgreSQL); ``CREATE INDEX CONCURRENTLY`` would need the
migration outside its transaction, which the rest of the chain relies on.

Revision ID: 0042_case_counts_index
Revises: 0041_webhook_secrets_sealed
Create Date: 2026-12-03 22:30:00
"""

from alembic import op

revision = "0042_case_counts_index"
down_revision = "0041_webhook_secrets_sealed"
branch_labels = None
depends_on = None

INDEX = "ix_cases_status_org_requester"


def upgrade() -> None:
    op.create_index(INDEX, "cases", ["status", "org_id", "requester_id"])
    bind = op.get_bind()
    if (
        bind.dialect.name == "sqlite"
        and bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
    ):
        op.execute(f"ANALYZE {INDEX}")


def downgrade() -> None:
    op.drop_index(INDEX, table_name="cases")
