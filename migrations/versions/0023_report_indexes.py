"""indexes the dashboards read by: the time columns their periods filter on

The channel dashboard, the forecast and the scorecards filter registrations by when they were
decided or closed and by their expected close, and offers by when they were made; the feedback
dashboard filters CSAT surveys by the solve they follow and NPS recipients by when they were
asked. Without these, each chart of a 12-month period read the whole table. New indexes only:
no table is rebuilt on SQLite, and row-level security is unchanged.

Revision ID: 0023_report_indexes
Revises: 0022_support_figures
Create Date: 2026-12-03 06:10:00
"""

from alembic import op

revision = "0023_report_indexes"
down_revision = "0022_support_figures"
branch_labels = None
depends_on = None

INDEXES = (
    ("deal_registrations", "decided_at"),
    ("deal_registrations", "closed_at"),
    ("deal_registrations", "expected_close"),
    ("lead_offers", "offered_at"),
    ("csat_surveys", "solved_at"),
    ("survey_recipients", "sent_at"),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
