"""the support dashboard's rollup, and the indexes it is built and read by

``support_days``: per day (UTC), organisation, support team and priority, the cases opened and
the SLA targets met and breached (selfservice.analytics.sla says what counts). Tenant-owned
(``org_id``), read by vendor staff only. ``support_response_times``: per day, how many first
replies took how many tenths of an hour (the median's input). ``support_dirty_days``: days whose
figures must be computed again; the ``support_figures`` tick (selfservice.analytics.rollup)
computes them and removes the marks. One mark without a day is left here, so the first tick
computes every day of the cases that already exist.

Indexes the rollup's rebuild reads a day's cases by (``cases.created_at``,
``first_responded_at``, ``solved_at``; the due times are indexed already), and the dashboard's
count of cases avoided (``article_events (kind, created_at)``). New tables and indexes only: no
table is rebuilt on SQLite.

Row-level security: ``support_days`` stays with its organisation like every tenant table (the
ORM's rule narrows it to vendor staff); the other two are global (dates and counts, no
organisation).

Revision ID: 0022_support_figures
Revises: 0021_exports
Create Date: 2026-12-03 06:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_support_figures"
down_revision = "0021_exports"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"


def upgrade() -> None:
    op.create_table(
        "support_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("first_response_met", sa.Integer(), nullable=False),
        sa.Column("first_response_breached", sa.Integer(), nullable=False),
        sa.Column("resolution_met", sa.Integer(), nullable=False),
        sa.Column("resolution_breached", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_support_days_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_days")),
    )
    op.create_index("ix_support_days_day", "support_days", ["day"])
    op.create_index(op.f("ix_support_days_org_id"), "support_days", ["org_id"])
    op.create_table(
        "support_response_times",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tenths", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_response_times")),
    )
    op.create_index("ix_support_response_times_day", "support_response_times", ["day"])
    op.create_table(
        "support_dirty_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_dirty_days")),
    )
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_cases_first_responded_at", "cases", ["first_responded_at"])
    op.create_index("ix_cases_solved_at", "cases", ["solved_at"])
    op.create_index("ix_article_events_kind_created_at", "article_events", ["kind", "created_at"])
    op.execute("INSERT INTO support_dirty_days (day) VALUES (NULL)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE support_days ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE support_days FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_wall ON support_days USING {OWN_ORG} WITH CHECK {OWN_ORG}"
        )


def downgrade() -> None:
    op.drop_index("ix_article_events_kind_created_at", table_name="article_events")
    op.drop_index("ix_cases_solved_at", table_name="cases")
    op.drop_index("ix_cases_first_responded_at", table_name="cases")
    op.drop_index("ix_cases_created_at", table_name="cases")
    op.drop_table("support_dirty_days")
    op.drop_table("support_response_times")
    op.drop_table("support_days")
