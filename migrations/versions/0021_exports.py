"""exports that run as a job: the export record and its stored file, in chunks

A list past the export threshold is written by a job (portal.export_jobs): ``exports`` records
who asked for which list with which filters and how far the job is; ``export_chunks`` holds the
file, about a megabyte a row, in order (stored in the database like quote PDFs and case
attachments). Row-level security: both stay with the requester's organisation (the ORM's rule
narrows them to the requester).

Revision ID: 0021_exports
Revises: 0020_tier_requirements
Create Date: 2026-12-03 05:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_exports"
down_revision = "0020_tier_requirements"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"
TENANT_TABLES = ("exports", "export_chunks")


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_org_id_organizations"),
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=40), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("filename", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_exports_user_id_users"), ondelete="CASCADE"
        ),
        _org_fk("exports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    op.create_index("ix_exports_user_id_id", "exports", ["user_id", "id"])
    op.create_index(op.f("ix_exports_created_at"), "exports", ["created_at"])
    op.create_index(op.f("ix_exports_org_id"), "exports", ["org_id"])
    op.create_table(
        "export_chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("export_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"],
            ["exports.id"],
            name=op.f("fk_export_chunks_export_id_exports"),
            ondelete="CASCADE",
        ),
        _org_fk("export_chunks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_chunks")),
        sa.UniqueConstraint(
            "export_id", "position", name=op.f("uq_export_chunks_export_id_position")
        ),
    )
    op.create_index(op.f("ix_export_chunks_org_id"), "export_chunks", ["org_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_wall ON {table} USING {OWN_ORG} WITH CHECK {OWN_ORG}")


def downgrade() -> None:
    op.drop_table("export_chunks")
    op.drop_table("exports")
