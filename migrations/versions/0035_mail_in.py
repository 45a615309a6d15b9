"""email both ways: the thread an outbox message belongs to, and what mail-in took in

``outbox_messages.thread`` (nullable): the record a notification email is about (``case-12``,
``idea-7``). Delivery gives the email ``In-Reply-To``/``References`` to that thread's stable
Message-ID, so a mail program groups a case's emails, and a ``Reply-To`` with a token signed for
the recipient and the record, so a reply becomes their comment (``flask mail-in``).

``received_mail``: one row per message mail-in accepted (a hash of its Message-ID, what it
became, when), written in the same transaction as the comment or case, so a message delivered
twice is taken in once. Global (no organisation: it is read before the sender is identified,
and holds nothing of the message), so no row-level security.

A nullable column and a new table: no table is rebuilt on SQLite.

Revision ID: 0035_mail_in
Revises: 0034_webhooks
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0035_mail_in"
down_revision = "0034_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox_messages", sa.Column("thread", sa.String(40), nullable=True))
    op.create_table(
        "received_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_mail")),
        sa.UniqueConstraint("message_key", name=op.f("uq_received_mail_message_key")),
    )


def downgrade() -> None:
    op.drop_table("received_mail")
    if op.get_bind().dialect.name == "sqlite":  # no rebuild: a plain column, nothing refers to it
        op.execute("ALTER TABLE outbox_messages DROP COLUMN thread")
    else:
        op.drop_column("outbox_messages", "thread")
