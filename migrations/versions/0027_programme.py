"""the programme: tiers require certified people; certifications; proposed tier changes

Tier compliance (issue 15, item 5). ``tiers.required_certified_people`` is the third requirement
beside the won value and the acceptance rate of migration 0020 (None: no requirement; the demo's
tiers get theirs from the programme's seeder). ``certifications`` holds the certifications and
trainings of a partner's people, which the partner records (with an evidence file, stored in the
row like case attachments and quote PDFs) and vendor staff verify or reject; only verified,
unexpired certifications make a person certified. ``tier_proposals`` holds the promotions and
demotions the tick proposes from each partner's standing, which the channel manager applies or
dismisses; a partial unique index keeps at most one open proposal per partner, so a tick run twice
(or twice at once) proposes once. Row-level security: both tables stay with the partner they
are about (vendor staff read them all; the ORM's rule keeps proposals to vendor staff). The new
column is a plain ``ADD COLUMN`` (``DROP COLUMN`` on the way back, SQLite 3.35+, as 0020).

Revision ID: 0027_programme
Revises: 0026_suppliers
Create Date: 2026-12-03 08:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_programme"
down_revision = "0026_suppliers"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"
TENANT_TABLES = ("certifications", "tier_proposals")


def _fk(table: str, column: str, referred: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{referred}.id"],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.add_column("tiers", sa.Column("required_certified_people", sa.Integer(), nullable=True))
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("issuer", sa.String(length=120), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=False),
        sa.Column("evidence_filename", sa.String(length=120), nullable=True),
        sa.Column("evidence_content_type", sa.String(length=100), nullable=True),
        sa.Column("evidence_size", sa.Integer(), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("evidence", sa.LargeBinary(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        _fk("certifications", "user_id", "users", "CASCADE"),
        _fk("certifications", "recorded_by_id", "users", "SET NULL"),
        _fk("certifications", "decided_by_id", "users", "SET NULL"),
        _fk("certifications", "org_id", "organizations", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certifications")),
    )
    op.create_index(op.f("ix_certifications_org_id"), "certifications", ["org_id"])
    op.create_index(op.f("ix_certifications_user_id"), "certifications", ["user_id"])
    op.create_index(op.f("ix_certifications_status"), "certifications", ["status"])
    op.create_table(
        "tier_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_tier", sa.String(length=20), nullable=True),
        sa.Column("to_tier", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("standing", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        _fk("tier_proposals", "decided_by_id", "users", "SET NULL"),
        _fk("tier_proposals", "org_id", "organizations", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_proposals")),
    )
    op.create_index(op.f("ix_tier_proposals_org_id"), "tier_proposals", ["org_id"])
    op.create_index(op.f("ix_tier_proposals_status"), "tier_proposals", ["status"])
    op.create_index(
        "uq_tier_proposals_open_org_id",
        "tier_proposals",
        ["org_id"],
        unique=True,
        sqlite_where=sa.text("status = 'proposed'"),
        postgresql_where=sa.text("status = 'proposed'"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_wall ON {table} USING {OWN_ORG} WITH CHECK {OWN_ORG}")


def downgrade() -> None:
    op.drop_table("tier_proposals")
    op.drop_table("certifications")
    if op.get_bind().dialect.name == "sqlite":  # SQLite 3.35+, no rebuild (as 0020)
        op.execute("ALTER TABLE tiers DROP COLUMN required_certified_people")
    else:
        op.drop_column("tiers", "required_certified_people")
