"""channel: tiers, territories, leads, offers, shared leads, deal registrations

Revision ID: 0004_channel
Revises: 0003_oauth
Create Date: 2026-11-23 16:44:37.475233
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_channel"
down_revision = "0003_oauth"
branch_labels = None
depends_on = None


# Row-level security, as in 0002: one organisation's rows, or all. A partner reads a lead
# while one of its offers for it is open.
SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"
TENANT_TABLES = (
    "partner_territories",
    "partner_specialisations",
    "lead_offers",
    "shared_leads",
    "deal_registrations",
    "direct_deals",
    "deal_conflicts",
)
LEADS_READ = (
    f"({SCOPE_ALL} OR org_id = {ORG} OR EXISTS (SELECT 1 FROM lead_offers o "
    f"WHERE o.lead_id = leads.id AND o.org_id = {ORG} "
    f"AND o.status IN ('offered', 'accepted')))"
)
DEFAULT_TIERS = [  # code, name, rank, discount %, protection days, weight, max open leads
    ("registered", "Registered", 0, "5.00", 60, 1, 3),
    ("silver", "Silver", 1, "10.00", 90, 2, 5),
    ("gold", "Gold", 2, "15.00", 120, 3, 10),
    ("platinum", "Platinum", 3, "20.00", 180, 5, 20),
]


def _row_level_security() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in (*TENANT_TABLES, "leads"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for table in TENANT_TABLES:
        op.execute(f"CREATE POLICY tenant_wall ON {table} USING {OWN_ORG} WITH CHECK {OWN_ORG}")
    op.execute(f"CREATE POLICY tenant_read ON leads FOR SELECT USING {LEADS_READ}")
    op.execute(f"CREATE POLICY tenant_write ON leads FOR ALL USING {OWN_ORG} WITH CHECK {OWN_ORG}")


def upgrade() -> None:
    op.create_table(
        "tiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("discount_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("protection_days", sa.Integer(), nullable=False),
        sa.Column("distribution_weight", sa.Integer(), nullable=False),
        sa.Column("max_open_leads", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers")),
        sa.UniqueConstraint("code", name=op.f("uq_tiers_code")),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("product_line", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("credited_to_org_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credited_to_org_id"],
            ["organizations.id"],
            name=op.f("fk_leads_credited_to_org_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_leads_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_country_id", ["country", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_leads_status_id", ["status", "id"], unique=False)

    op.create_table(
        "partner_specialisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_line", sa.String(length=60), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_partner_specialisations_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_specialisations")),
        sa.UniqueConstraint(
            "org_id", "product_line", name=op.f("uq_partner_specialisations_org_id_product_line")
        ),
    )
    with op.batch_alter_table("partner_specialisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_specialisations_org_id"), ["org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_specialisations_product_line"), ["product_line"], unique=False
        )

    op.create_table(
        "partner_territories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_partner_territories_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_territories")),
        sa.UniqueConstraint(
            "org_id", "country", name=op.f("uq_partner_territories_org_id_country")
        ),
    )
    with op.batch_alter_table("partner_territories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_territories_country"), ["country"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_partner_territories_org_id"), ["org_id"], unique=False)

    op.create_table(
        "deal_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("customer_name_key", sa.String(length=200), nullable=False),
        sa.Column("customer_domain", sa.String(length=253), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expected_close", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("registered_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_deal_registrations_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deal_registrations_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["registered_by_id"],
            ["users.id"],
            name=op.f("fk_deal_registrations_registered_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_registrations")),
        sa.UniqueConstraint("number", name=op.f("uq_deal_registrations_number")),
    )
    with op.batch_alter_table("deal_registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_registrations_customer_name_key"),
            ["customer_name_key"],
            unique=False,
        )
        batch_op.create_index("ix_deal_registrations_domain", ["customer_domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_registrations_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "ix_deal_registrations_status_submitted", ["status", "submitted_at"], unique=False
        )

    op.create_table(
        "direct_deals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("customer_name_key", sa.String(length=200), nullable=False),
        sa.Column("customer_domain", sa.String(length=253), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_direct_deals_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_direct_deals_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_deals")),
    )
    with op.batch_alter_table("direct_deals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_direct_deals_customer_domain"), ["customer_domain"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_direct_deals_customer_name_key"), ["customer_name_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_direct_deals_org_id"), ["org_id"], unique=False)

    op.create_table(
        "lead_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=False),
        sa.Column("offered_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_offers_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["offered_by_id"],
            ["users.id"],
            name=op.f("fk_lead_offers_offered_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_lead_offers_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_offers")),
    )
    with op.batch_alter_table("lead_offers", schema=None) as batch_op:
        batch_op.create_index("ix_lead_offers_lead_id_status", ["lead_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_offers_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "ix_lead_offers_status_respond_by", ["status", "respond_by"], unique=False
        )

    op.create_table(
        "shared_leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("product_line", sa.String(length=60), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_shared_leads_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_shared_leads_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_shared_leads_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_shared_leads_submitted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_leads")),
    )
    with op.batch_alter_table("shared_leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shared_leads_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_shared_leads_status_id", ["status", "id"], unique=False)

    op.create_table(
        "deal_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("other_registration_id", sa.Integer(), nullable=True),
        sa.Column("direct_deal_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["direct_deal_id"],
            ["direct_deals.id"],
            name=op.f("fk_deal_conflicts_direct_deal_id_direct_deals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deal_conflicts_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["other_registration_id"],
            ["deal_registrations.id"],
            name=op.f("fk_deal_conflicts_other_registration_id_deal_registrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["deal_registrations.id"],
            name=op.f("fk_deal_conflicts_registration_id_deal_registrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_conflicts")),
    )
    with op.batch_alter_table("deal_conflicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_conflicts_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deal_conflicts_registration_id"), ["registration_id"], unique=False
        )

    tiers = sa.table(
        "tiers",
        sa.column("code"),
        sa.column("name"),
        sa.column("rank"),
        sa.column("discount_percent"),
        sa.column("protection_days"),
        sa.column("distribution_weight"),
        sa.column("max_open_leads"),
        sa.column("version"),
    )
    op.bulk_insert(
        tiers,
        [
            {
                "code": c,
                "name": n,
                "rank": r,
                "discount_percent": d,
                "protection_days": p,
                "distribution_weight": w,
                "max_open_leads": m,
                "version": 1,
            }
            for c, n, r, d, p, w, m in DEFAULT_TIERS
        ],
    )
    _row_level_security()


def downgrade() -> None:
    with op.batch_alter_table("deal_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_conflicts_registration_id"))
        batch_op.drop_index(batch_op.f("ix_deal_conflicts_org_id"))

    op.drop_table("deal_conflicts")
    with op.batch_alter_table("shared_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_shared_leads_status_id")
        batch_op.drop_index(batch_op.f("ix_shared_leads_org_id"))

    op.drop_table("shared_leads")
    with op.batch_alter_table("lead_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_offers_status_respond_by")
        batch_op.drop_index(batch_op.f("ix_lead_offers_org_id"))
        batch_op.drop_index("ix_lead_offers_lead_id_status")

    op.drop_table("lead_offers")
    with op.batch_alter_table("direct_deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_direct_deals_org_id"))
        batch_op.drop_index(batch_op.f("ix_direct_deals_customer_name_key"))
        batch_op.drop_index(batch_op.f("ix_direct_deals_customer_domain"))

    op.drop_table("direct_deals")
    with op.batch_alter_table("deal_registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_registrations_status_submitted")
        batch_op.drop_index(batch_op.f("ix_deal_registrations_org_id"))
        batch_op.drop_index("ix_deal_registrations_domain")
        batch_op.drop_index(batch_op.f("ix_deal_registrations_customer_name_key"))

    op.drop_table("deal_registrations")
    with op.batch_alter_table("partner_territories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_territories_org_id"))
        batch_op.drop_index(batch_op.f("ix_partner_territories_country"))

    op.drop_table("partner_territories")
    with op.batch_alter_table("partner_specialisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_specialisations_product_line"))
        batch_op.drop_index(batch_op.f("ix_partner_specialisations_org_id"))

    op.drop_table("partner_specialisations")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_status_id")
        batch_op.drop_index(batch_op.f("ix_leads_org_id"))
        batch_op.drop_index(batch_op.f("ix_leads_created_at"))
        batch_op.drop_index("ix_leads_country_id")

    op.drop_table("leads")
    op.drop_table("tiers")
