"""the next-response SLA target: the agent's next public reply after the customer's

A policy gets ``next_response_hours`` (empty: no such target) and ``next_response_pauses``. Each
existing policy is given the next-response target its first response has (the same hours and
pause rule): the time to answer again is the time to answer at all until an admin says
otherwise.

``case_reply_waits``: one row per wait for an agent's next reply, started by a public comment of
the customer's side on a case an agent had answered, ended by the agent's next public reply; its
due time and breach (never undone). Waits start from this revision on: past conversations are
not read back into waits (the clocks of their day were never kept). Indexed by when waits were
answered and fell due (the support figures' rebuild reads them by range). The case keeps the
open wait's due time, breach and warning (``cases.next_response_*``, the due time indexed) for
the agents' queue and the tick. Row-level security as the case's other rows (0006): read by the
case's organisation and the partner that manages it, written by the organisation.

``support_days`` gets the next-response targets met and breached per day (0 for the days
already computed: no wait was settled before this revision).

A customer's dashboard: ``cases (org_id, status, priority)``, so that its organisation's open
cases are counted from the index (a customer with a third of a million cases); its SLA
compliance is read from ``support_days`` (selfservice.analytics.customer).

New columns with server defaults, a new table, indexes: no table is rebuilt on SQLite.

Revision ID: 0029_next_response
Revises: 0028_funds
Create Date: 2026-12-03 08:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0029_next_response"
down_revision = "0028_funds"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
TABLE = "case_reply_waits"
READ = (
    f"({SCOPE_ALL} OR {TABLE}.org_id = {ORG} OR EXISTS (SELECT 1 FROM organizations m "
    f"WHERE m.id = {TABLE}.org_id AND m.managed_by_id = {ORG}))"
)
WRITE = f"({SCOPE_ALL} OR {TABLE}.org_id = {ORG})"


def upgrade() -> None:
    op.add_column("sla_policies", sa.Column("next_response_hours", sa.Numeric(7, 2), nullable=True))
    op.add_column("sla_policies", sa.Column("next_response_pauses", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE sla_policies SET next_response_hours = first_response_hours, "
        "next_response_pauses = first_response_pauses"
    )
    op.add_column(
        "cases", sa.Column("next_response_due_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "cases",
        sa.Column(
            "next_response_breached", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    op.add_column(
        "cases",
        sa.Column("next_response_warned", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(op.f("ix_cases_next_response_due_at"), "cases", ["next_response_due_at"])
    op.create_index("ix_cases_org_id_status_priority", "cases", ["org_id", "status", "priority"])
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_reply_waits_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_case_reply_waits_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reply_waits")),
    )
    op.create_index("ix_case_reply_waits_case_id_id", TABLE, ["case_id", "id"])
    op.create_index("ix_case_reply_waits_answered_at", TABLE, ["answered_at"])
    op.create_index("ix_case_reply_waits_due_at", TABLE, ["due_at"])
    op.create_index(op.f("ix_case_reply_waits_org_id"), TABLE, ["org_id"])
    for outcome in ("met", "breached"):
        op.add_column(
            "support_days",
            sa.Column(f"next_response_{outcome}", sa.Integer(), server_default="0", nullable=False),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_read ON {TABLE} FOR SELECT USING {READ}")
        op.execute(f"CREATE POLICY tenant_insert ON {TABLE} FOR INSERT WITH CHECK {WRITE}")
        op.execute(
            f"CREATE POLICY tenant_update ON {TABLE} FOR UPDATE USING {WRITE} WITH CHECK {WRITE}"
        )
        op.execute(f"CREATE POLICY tenant_delete ON {TABLE} FOR DELETE USING {WRITE}")


def downgrade() -> None:
    for outcome in ("breached", "met"):
        op.drop_column("support_days", f"next_response_{outcome}")
    op.drop_table(TABLE)
    op.drop_index("ix_cases_org_id_status_priority", table_name="cases")
    op.drop_index(op.f("ix_cases_next_response_due_at"), table_name="cases")
    op.drop_column("cases", "next_response_warned")
    op.drop_column("cases", "next_response_breached")
    op.drop_column("cases", "next_response_due_at")
    op.drop_column("sla_policies", "next_response_pauses")
    op.drop_column("sla_policies", "next_response_hours")
