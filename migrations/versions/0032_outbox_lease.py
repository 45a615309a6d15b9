"""outbox messages are claimed with a lease

outbox_messages.claimed_until: nullable, when the claim of a delivery (status ``sending``) ends.
The tick frees a message in ``sending`` only once its lease has ended (a worker that died
mid-send), instead of ten minutes after the message was written, which could free a message
still being sent. Existing rows have none: a message left in ``sending`` before this revision is
freed by the next tick (its lease counts as ended).

A nullable column, added plain on both databases: no rebuild of outbox_messages on SQLite.
Row-level security: the outbox_messages policies (0002) read org_id only, so nothing changes
there.

Revision ID: 0032_outbox_lease
Revises: 0031_link_nonce
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0032_outbox_lease"
down_revision = "0031_link_nonce"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "outbox_messages", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # no rebuild: a plain column, nothing refers to it
        op.execute("ALTER TABLE outbox_messages DROP COLUMN claimed_until")
    else:
        op.drop_column("outbox_messages", "claimed_until")
