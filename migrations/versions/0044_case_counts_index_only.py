"""cases: the open-case counts' index also holds the id, so PostgreSQL counts from the index alone

0042's index on (status, org_id, requester_id) let SQLite count the open cases a reader sees
without reading a row: SQLite keeps the row's id in every index entry, and the reader's rule
tests the id too (``Case.visible_to``: a case the reader watches). PostgreSQL's index holds only
the columns named, so it read every open case's row from the table to test the rule. On the
benchmark database (200,000 cases, 30,000 open), as the portal's role: a customer's count
22.6 ms (7,541 pages read), a partner's 48.7 ms (27,904 pages), most of either home page's
database time. With the id in the index PostgreSQL plans an index-only scan: 4.9 and 6.7 ms.

An index-only scan skips a row's table page when the visibility map says the page is all
visible, which autovacuum keeps up; pages written since are read as before.

Revision ID: 0044_case_counts_index_only
Revises: 0043_policies_read_settings_once
Create Date: 2026-12-04 09:00:00
"""

from alembic import op

from portal.migrate import analyze_new_index

revision = "0044_case_counts_index_only"
down_revision = "0043_policies_read_settings_once"
branch_labels = None
depends_on = None

OLD = ("ix_cases_status_org_requester", ["status", "org_id", "requester_id"])
NEW = ("ix_cases_status_org_requester_id", ["status", "org_id", "requester_id", "id"])


def _replace(drop: tuple, create: tuple) -> None:
    op.create_index(create[0], "cases", create[1])
    op.drop_index(drop[0], table_name="cases")
    analyze_new_index(op, create[0])


def upgrade() -> None:
    _replace(OLD, NEW)


def downgrade() -> None:
    _replace(NEW, OLD)
