"""the channel dashboard's rollup

``deal_days``: per day (UTC), partner and currency, the registrations submitted, approved, won,
lost and expired that day and the value of the first three (partners.analytics.channel says what
counts). ``deal_dirty_days``: days whose figures must be computed again; the ``deal_figures``
tick (partners.analytics.rollup) computes them and removes the marks. One mark without a day is
left here, so the first tick computes every day of the registrations that already exist.

The dashboard summed a year of registrations three times on every request (165 ms of database
CPU at 100,000 registrations); it reads these rows instead.

New tables only: no table is rebuilt on SQLite. Row-level security: ``deal_days`` is read by
vendor staff and written by the tick only, so its policy admits the scope of all organisations
alone (the ORM's rule says the same), in the form ``portal.migrate`` gives (the setting read once
a statement, as 0043 made every policy); ``deal_dirty_days`` is global (dates only). One row per
day, partner and currency (a unique index).

Revision ID: 0046_deal_figures
Revises: 0045_partner_deal_indexes
Create Date: 2026-12-04 12:30:00
"""

import sqlalchemy as sa
from alembic import op

from portal.migrate import SCOPE_ALL

revision = "0046_deal_figures"
down_revision = "0045_partner_deal_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deal_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("registered", sa.Integer(), nullable=False),
        sa.Column("registered_value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("approved_value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("won", sa.Integer(), nullable=False),
        sa.Column("won_value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("lost", sa.Integer(), nullable=False),
        sa.Column("expired", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deal_days_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_days")),
    )
    op.create_index(
        "uq_deal_days_day_org_currency", "deal_days", ["day", "org_id", "currency"], unique=True
    )
    op.create_index(op.f("ix_deal_days_org_id"), "deal_days", ["org_id"])
    op.create_table(
        "deal_dirty_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_dirty_days")),
    )
    op.execute("INSERT INTO deal_dirty_days (day) VALUES (NULL)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deal_days ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE deal_days FORCE ROW LEVEL SECURITY")
        # Vendor staff read it, the tick writes it: no organisation's session sees its own rows.
        op.execute(
            f"CREATE POLICY tenant_wall ON deal_days USING {SCOPE_ALL} WITH CHECK {SCOPE_ALL}"
        )


def downgrade() -> None:
    op.drop_table("deal_dirty_days")
    op.drop_table("deal_days")
