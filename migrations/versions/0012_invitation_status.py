"""invitations: a stored status (pending, accepted, revoked, expired)

invitations.status: an invitation's state, moved only by portal.workflow.transition (until now it
was derived from accepted_at, revoked_at and expires_at). Filled here from those columns: accepted
where accepted_at is set, revoked where revoked_at is set, expired where the expiry has passed,
pending otherwise. The column is added without a table rebuild on SQLite.

Row-level security: invitations are under the platform's policies since 0002; a column changes
nothing there.

Revision ID: 0012_invitation_status
Revises: 0011_ideas_board
Create Date: 2026-12-02 21:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012_invitation_status"
down_revision = "0011_ideas_board"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column(
        "invitations",
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
    )
    now = datetime.now(UTC)
    if bind.dialect.name != "postgresql":
        now = now.replace(tzinfo=None)  # SQLite stores naive UTC (portal.db.UTCDateTime)
    op.execute(
        sa.text(
            "UPDATE invitations SET status = CASE "
            "WHEN accepted_at IS NOT NULL THEN 'accepted' "
            "WHEN revoked_at IS NOT NULL THEN 'revoked' "
            "WHEN expires_at <= :now THEN 'expired' "
            "ELSE 'pending' END"
        ).bindparams(now=now)
    )


def downgrade() -> None:
    op.drop_column("invitations", "status")
