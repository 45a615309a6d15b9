"""search indexes: a short GIN pending list, so a search never reads thousands of unsorted rows

PostgreSQL's GIN indexes (the full-text ``ix_<table>_search`` of 0006, 0010 and 0016) take new
rows into a pending list first ("fastupdate") and sort them into the index at the next VACUUM,
or when the list outgrows ``gin_pending_list_limit`` (4 MB by default). Every search reads the
whole pending list, row by row. Measured at 20,000 ideas just written (tests/perf/bench_search):
a query matching nothing took 28 ms through the index with 20,031 rows pending, 0.06 ms after
VACUUM; the planner, pricing the index by the pending list too, read the whole table instead.
Between two autovacuums of a busy table (a lead import, a morning of cases) that is what
searches would cost.

Each search index's list is capped at 256 kB here (a storage parameter of the index: no
rewrite, no lock beyond a moment): a write that fills it sorts it in (a few milliseconds, once
per some hundreds of rows), and a search reads at most that much. SQLite's FTS5 tables merge
their segments as they go (``automerge``): nothing to do there.

The searched columns all have an index already (the lead list's company, contact and e-mail:
``leads_fts`` / ``ix_leads_search``; ``EXPLAIN`` shows no scan for a rare or a common word).

Revision ID: 0039_search_indexes
Revises: 0038_personal_data
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op

revision = "0039_search_indexes"
down_revision = "0038_personal_data"
branch_labels = None
depends_on = None

SEARCHED = (
    "articles",
    "ideas",
    "organizations",
    "users",
    "leads",
    "deal_registrations",
    "quotes",
    "cases",
)
PENDING_LIST_KB = 256


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in SEARCHED:
        op.execute(
            f"ALTER INDEX IF EXISTS ix_{table}_search SET (gin_pending_list_limit = "
            f"{PENDING_LIST_KB})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in SEARCHED:
        op.execute(f"ALTER INDEX IF EXISTS ix_{table}_search RESET (gin_pending_list_limit)")
