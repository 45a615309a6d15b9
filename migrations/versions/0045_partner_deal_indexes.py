"""deal_registrations: two indexes led by the partner, for its home page

A partner's home page counts its registrations per status (and the protections ending soon),
lists those the vendor asked more information about (the longest-waiting first) and the
protections ending soonest. No index began with the partner and the status, so the count read
every one of the partner's registrations from the table, and PostgreSQL listed the ones waiting
for information by walking ``ix_deal_registrations_decided_at`` from the start, testing each
row: on the capacity benchmark's database (100,000 registrations, 16,000 of them the reseller's)
the list took 28.9 ms and the count 11.3 ms, as the portal's role. With these indexes: under
1 ms and 3.7 ms; the reseller's home page went from 75.7 to 48.6 ms in-process, its SQL from
56.1 to 24.1 ms (tests/perf/bench_sizes --pages).

- (org_id, status, expires_at, id): the count from the index alone on PostgreSQL (an index-only
  scan) and SQLite, and the protections ending soonest in order;
- (org_id, status, decided_at, id): the registrations waiting for information in order.

Revision ID: 0045_partner_deal_indexes
Revises: 0044_case_counts_index_only
Create Date: 2026-12-04 09:00:00
"""

from alembic import op

from portal.migrate import analyze_new_index

revision = "0045_partner_deal_indexes"
down_revision = "0044_case_counts_index_only"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_deal_registrations_org_status_expires": ["org_id", "status", "expires_at", "id"],
    "ix_deal_registrations_org_status_decided": ["org_id", "status", "decided_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "deal_registrations", columns)
        analyze_new_index(op, name)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="deal_registrations")
