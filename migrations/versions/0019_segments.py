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

revision = "0019_segments"
down_revision = "0018_case_products"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"

FK = "fk_nps_campaigns_audience_segment_id_segments"
SQLITE_FK = (
    f", \n\tCONSTRAINT {FK} FOREIGN KEY(audience_segment_id) REFERENCES segments (id) "
    "ON DELETE SET NULL"
)


def _sqlite_rewrite_campaigns(change) -> None:
    """Replace the stored CREATE TABLE of nps_campaigns with ``change(sql)``, bumping the schema
    version so every connection reads it again (sqlite.org/lang_altertable.html, section 7)."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'nps_campaigns'"
    ).scalar_one()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.execute(
            sa.text(
                "UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'nps_campaigns'"
            ),
            {"sql": change(sql)},
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _with_fk(sql: str) -> str:
    body = sql.rstrip().rstrip(")").rstrip()
    return f"{body}{SQLITE_FK}\n)"


def _without_fk(sql: str) -> str:
    if SQLITE_FK not in sql:
        raise RuntimeError("nps_campaigns: the segment's constraint is not as 0019 wrote it")
    return sql.replace(SQLITE_FK, "")


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
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_rewrite_campaigns(_with_fk)
    else:
        op.create_foreign_key(
            FK, "nps_campaigns", "segments", ["audience_segment_id"], ["id"], ondelete="SET NULL"
        )
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE segments ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE segments FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_wall ON segments USING {OWN_ORG} WITH CHECK {OWN_ORG}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite_campaigns(_without_fk)
        op.execute("ALTER TABLE nps_campaigns DROP COLUMN audience_segment_id")
    else:
        op.drop_constraint(FK, "nps_campaigns", type_="foreignkey")
        op.drop_column("nps_campaigns", "audience_segment_id")
    op.drop_table("segments")
