"""channel extras: a partner's request to extend deal protection; indexes for the lists at scale

No trigram index for the "contains" searches: under forced row-level security PostgreSQL may not
use one (ILIKE is not leakproof, so it runs after the policy, row by row).

Revision ID: 0007_channel_extras
Revises: 0006_selfservice
Create Date: 2026-11-23 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_channel_extras"
down_revision = "0006_selfservice"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deal_registrations") as batch_op:
        batch_op.add_column(sa.Column("extension_requested_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("extension_requested_days", sa.Integer()))
        batch_op.add_column(sa.Column("extension_requested_by_id", sa.Integer()))
        batch_op.create_foreign_key(
            batch_op.f("fk_deal_registrations_extension_requested_by_id_users"),
            "users",
            ["extension_requested_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.add_column(
            sa.Column("extension_request_reason", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("extension_outcome", sa.String(20), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("extension_response", sa.Text(), server_default="", nullable=False)
        )
        batch_op.drop_index("ix_deal_registrations_status_submitted")
        batch_op.create_index(
            "ix_deal_registrations_status_submitted_id", ["status", "submitted_at", "id"]
        )
        batch_op.create_index("ix_deal_registrations_status_id", ["status", "id"])
    with op.batch_alter_table("deal_conflicts") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_conflicts_other_registration_id"), ["other_registration_id"]
        )
    with op.batch_alter_table("leads") as batch_op:
        batch_op.create_index("ix_leads_company_id", ["company", "id"])


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch_op:
        batch_op.drop_index("ix_leads_company_id")
    with op.batch_alter_table("deal_conflicts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_conflicts_other_registration_id"))
    with op.batch_alter_table("deal_registrations") as batch_op:
        batch_op.drop_index("ix_deal_registrations_status_id")
        batch_op.drop_index("ix_deal_registrations_status_submitted_id")
        batch_op.create_index("ix_deal_registrations_status_submitted", ["status", "submitted_at"])
        batch_op.drop_constraint(
            batch_op.f("fk_deal_registrations_extension_requested_by_id_users"),
            type_="foreignkey",
        )
        for column in (
            "extension_requested_by_id",
            "extension_response",
            "extension_outcome",
            "extension_request_reason",
            "extension_requested_days",
            "extension_requested_at",
        ):
            batch_op.drop_column(column)
