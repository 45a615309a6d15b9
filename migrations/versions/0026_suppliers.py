"""suppliers: their relationship with the vendor, and requests for quotation (issue 15, item 4)

``organizations.supplier_relationship``: one of the five kinds of relationship a vendor keeps
with a supplier (portal.identity.models.SUPPLIER_RELATIONSHIPS), chosen by vendor admins; empty
for other kinds and for suppliers not yet classified (no existing row is guessed at).

Sourcing (partners.sourcing): ``rfqs`` are the vendor's requests for quotation (owned by the
vendor); ``supplier_offers`` one row per supplier asked (owned by the supplier, one per RFQ and
supplier), holding its answer and, stored in the database like case attachments and quote PDFs,
the PDF it uploaded; ``supplier_offer_lines`` the offer's line items (owned by the supplier).

Row-level security: offers and their lines stay with their supplier; an RFQ is read by the
vendor and by the suppliers it was addressed to (those holding an offer on it), and written by
the vendor only.

Revision ID: 0026_suppliers
Revises: 0025_distribution
Create Date: 2026-12-03 08:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_suppliers"
down_revision = "0025_distribution"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"
RFQS_READ = (
    f"({SCOPE_ALL} OR org_id = {ORG} OR EXISTS (SELECT 1 FROM supplier_offers o "
    f"WHERE o.rfq_id = rfqs.id AND o.org_id = {ORG}))"
)
SUPPLIER_TABLES = ("supplier_offers", "supplier_offer_lines")


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


def upgrade() -> None:
    op.add_column("organizations", sa.Column("supplier_relationship", sa.String(length=30)))
    op.create_table(
        "rfqs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("respond_by", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        _user_fk("rfqs", "created_by_id"),
        _org_fk("rfqs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfqs")),
    )
    op.create_index(op.f("ix_rfqs_number"), "rfqs", ["number"])
    op.create_index(op.f("ix_rfqs_org_id"), "rfqs", ["org_id"])
    op.create_table(
        "supplier_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rfq_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(14, 2), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_name", sa.String(length=120), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rfq_id"], ["rfqs.id"], name=op.f("fk_supplier_offers_rfq_id_rfqs"), ondelete="CASCADE"
        ),
        _user_fk("supplier_offers", "submitted_by_id"),
        _user_fk("supplier_offers", "decided_by_id"),
        _org_fk("supplier_offers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_offers")),
        sa.UniqueConstraint("rfq_id", "org_id", name=op.f("uq_supplier_offers_rfq_id_org_id")),
    )
    op.create_index(op.f("ix_supplier_offers_rfq_id"), "supplier_offers", ["rfq_id"])
    op.create_index(op.f("ix_supplier_offers_org_id"), "supplier_offers", ["org_id"])
    op.create_table(
        "supplier_offer_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(14, 2), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["supplier_offers.id"],
            name=op.f("fk_supplier_offer_lines_offer_id_supplier_offers"),
            ondelete="CASCADE",
        ),
        _org_fk("supplier_offer_lines"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_offer_lines")),
    )
    op.create_index(op.f("ix_supplier_offer_lines_offer_id"), "supplier_offer_lines", ["offer_id"])
    op.create_index(op.f("ix_supplier_offer_lines_org_id"), "supplier_offer_lines", ["org_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in ("rfqs", *SUPPLIER_TABLES):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for table in SUPPLIER_TABLES:
            op.execute(f"CREATE POLICY tenant_wall ON {table} USING {OWN_ORG} WITH CHECK {OWN_ORG}")
        op.execute(f"CREATE POLICY tenant_read ON rfqs FOR SELECT USING {RFQS_READ}")
        op.execute(
            f"CREATE POLICY tenant_write ON rfqs FOR ALL USING {OWN_ORG} WITH CHECK {OWN_ORG}"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The RFQs' read policy refers to supplier_offers: it goes first.
        op.execute("DROP POLICY IF EXISTS tenant_read ON rfqs")
    op.drop_table("supplier_offer_lines")
    op.drop_table("supplier_offers")
    op.drop_table("rfqs")
    op.drop_column("organizations", "supplier_relationship")
