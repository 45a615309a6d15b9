"""oauth clients: a stored status (active, disabled) in place of the active flag

oauth_clients.status: an API client's state, moved only by portal.workflow.transition (until now
a boolean ``active`` assigned by hand). Filled here from ``active``: active where it was set,
disabled otherwise; then ``active`` is dropped. The downgrade restores ``active`` from the status.
Both directions add and drop the columns without a table rebuild on SQLite (a rebuild would drop
the table that tokens, codes and idempotency records cascade from).

Row-level security: oauth_clients is under the tenant wall since 0003; its policy reads org_id
only, so neither column changes anything there.

Revision ID: 0013_client_status
Revises: 0012_invitation_status
Create Date: 2026-12-04 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_client_status"
down_revision = "0012_invitation_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "oauth_clients",
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
    )
    op.execute(
        sa.text("UPDATE oauth_clients SET status = 'disabled' WHERE active = :no").bindparams(
            sa.bindparam("no", False, type_=sa.Boolean())
        )
    )
    op.drop_column("oauth_clients", "active")


def downgrade() -> None:
    op.add_column(
        "oauth_clients",
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.execute(
        sa.text("UPDATE oauth_clients SET active = :no WHERE status <> 'active'").bindparams(
            sa.bindparam("no", False, type_=sa.Boolean())
        )
    )
    op.drop_column("oauth_clients", "status")
