"""segments: saved, named filters over organisations; a segment as an NPS campaign's audience

segments: the vendor's (org_id), a unique name, the criteria as JSON (checked against the
registry of portal.segments when saved), who created it and when.

nps_campaigns.audience_segment_id: nullable, a foreign key to segments (SET NULL when the segment
goes: a sent campaign keeps its recipients). On SQLite the column is added without rebuilding
nps_campaigns (a rebuild's DROP would run the ON DELETE CASCADE of its recipients and answers),
and its constraint is written into the stored table definition, as 0014 does for organizations.

Row-level security: segments stays with its organisation (the vendor), as the tenant tables of
0008. The nps_campaigns policy (0008) reads org_id only, so the new column changes nothing there.

Revision ID: 0019_segments
Revises: 0018_case_products
Create Date: 2026-12-03 05:20:00
"""

import sqlalchemy as sa
from alembic import op

from portal.migrate import add_foreign_key, drop_foreign_key

revision = "0019_segments"
down_revision = "0018_case_products"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"

FK = "fk_nps_campaigns_audience_segment_id_segments"
FOREIGN_KEY = ("nps_campaigns", "audience_segment_id", "segments")


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_segments_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_segments_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_segments_name")),
    )
    op.create_index(op.f("ix_segments_org_id"), "segments", ["org_id"])
    op.add_column("nps_campaigns", sa.Column("audience_segment_id", sa.Integer()))
    add_foreign_key(op, *FOREIGN_KEY, name=FK, ondelete="SET NULL")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE segments ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE segments FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_wall ON segments USING {OWN_ORG} WITH CHECK {OWN_ORG}")


def downgrade() -> None:
    drop_foreign_key(op, *FOREIGN_KEY, name=FK, ondelete="SET NULL")
    if op.get_bind().dialect.name == "sqlite":  # no rebuild (see add_foreign_key)
        op.execute("ALTER TABLE nps_campaigns DROP COLUMN audience_segment_id")
    else:
        op.drop_column("nps_campaigns", "audience_segment_id")
    op.drop_table("segments")
