"""market development funds (issue 15, item 6): budgets, requests, claims and their files

``tiers.mdf_quarterly_budget`` is what a partner of the tier may spend per quarter by default.
``fund_budgets`` holds one partner's budget for one quarter (created from the tier's default when
first needed, or set by the vendor) and what approved requests hold of it: a check constraint
keeps ``reserved`` between 0 and ``amount``, so the balance can never go below zero, whatever
approves at once (the approval adds to ``reserved`` in one UPDATE, which PostgreSQL applies on
the latest row). ``fund_requests`` (activity, amount, dates), ``fund_claims`` (what was spent,
with proof of performance) and ``fund_claim_files`` (the proof, stored in the database as case
attachments are). Row-level security: all four stay with the partner (vendor staff, whose scope
is all, see every partner's). No existing rows change.

Revision ID: 0028_funds
Revises: 0027_programme
Create Date: 2026-12-03 08:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_funds"
down_revision = "0027_programme"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"
TENANT_TABLES = ("fund_budgets", "fund_requests", "fund_claims", "fund_claim_files")


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_org_id_organizations"),
        ondelete="RESTRICT",
    )


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="SET NULL"
    )


def _decision_columns() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.add_column("tiers", sa.Column("mdf_quarterly_budget", sa.Numeric(14, 2)))
    op.create_table(
        "fund_budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("reserved", sa.Numeric(14, 2), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "reserved >= 0 AND reserved <= amount",
            name=op.f("ck_fund_budgets_balance_not_negative"),
        ),
        sa.CheckConstraint("quarter BETWEEN 1 AND 4", name=op.f("ck_fund_budgets_quarter")),
        _org_fk("fund_budgets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_budgets")),
        sa.UniqueConstraint(
            "org_id", "year", "quarter", name=op.f("uq_fund_budgets_org_id_year_quarter")
        ),
    )
    op.create_index(op.f("ix_fund_budgets_org_id"), "fund_budgets", ["org_id"])
    op.create_table(
        "fund_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("budget_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        *_decision_columns(),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["fund_budgets.id"],
            name=op.f("fk_fund_requests_budget_id_fund_budgets"),
            ondelete="RESTRICT",
        ),
        _user_fk("fund_requests", "requested_by_id"),
        _user_fk("fund_requests", "decided_by_id"),
        _org_fk("fund_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_requests")),
    )
    op.create_index(op.f("ix_fund_requests_budget_id"), "fund_requests", ["budget_id"])
    op.create_index(op.f("ix_fund_requests_org_id"), "fund_requests", ["org_id"])
    op.create_index("ix_fund_requests_status_id", "fund_requests", ["status", "id"])
    op.create_table(
        "fund_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by_id", sa.Integer(), nullable=True),
        sa.Column("payment_reference", sa.String(length=100), nullable=False),
        *_decision_columns(),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["fund_requests.id"],
            name=op.f("fk_fund_claims_request_id_fund_requests"),
            ondelete="CASCADE",
        ),
        _user_fk("fund_claims", "submitted_by_id"),
        _user_fk("fund_claims", "decided_by_id"),
        _user_fk("fund_claims", "paid_by_id"),
        _org_fk("fund_claims"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_claims")),
    )
    op.create_index(op.f("ix_fund_claims_request_id"), "fund_claims", ["request_id"])
    op.create_index(op.f("ix_fund_claims_org_id"), "fund_claims", ["org_id"])
    op.create_index("ix_fund_claims_status_id", "fund_claims", ["status", "id"])
    op.create_table(
        "fund_claim_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["fund_claims.id"],
            name=op.f("fk_fund_claim_files_claim_id_fund_claims"),
            ondelete="CASCADE",
        ),
        _user_fk("fund_claim_files", "uploaded_by_id"),
        _org_fk("fund_claim_files"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_claim_files")),
    )
    op.create_index(op.f("ix_fund_claim_files_claim_id"), "fund_claim_files", ["claim_id"])
    op.create_index(op.f("ix_fund_claim_files_org_id"), "fund_claim_files", ["org_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_wall ON {table} USING {OWN_ORG} WITH CHECK {OWN_ORG}")


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)
    if op.get_bind().dialect.name == "sqlite":  # no table rebuild (as 0020)
        op.execute("ALTER TABLE tiers DROP COLUMN mdf_quarterly_budget")
    else:
        op.drop_column("tiers", "mdf_quarterly_budget")
