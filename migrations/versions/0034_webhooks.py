"""webhooks: an organisation's endpoints, the deliveries queued for them and each attempt

``webhook_subscriptions`` (URL, event patterns, signing secret and the previous one while it
is still valid after a rotation, enabled or not, the lease of the delivery run),
``webhook_deliveries`` (one event for one subscription, written with the change that caused
it, delivered in order of id; the body built under the subscriber's principal) and
``webhook_attempts`` (each POST: status code, latency, the answer's first kilobyte).

Row-level security: subscriptions and attempts stay with their organisation. A delivery is
written by whoever made the change, for the subscriber's organisation (like notifications and
the mail outbox): anyone may insert one; reading, changing and removing it stay with the
subscriber. New tables only.

Revision ID: 0034_webhooks
Revises: 0033_requester_figures
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0034_webhooks"
down_revision = "0033_requester_figures"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_org_id_organizations"),
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("previous_secret", sa.String(length=100), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=300), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_webhook_subscriptions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        _org_fk("webhook_subscriptions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index(op.f("ix_webhook_subscriptions_org_id"), "webhook_subscriptions", ["org_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("record_type", sa.String(length=80), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.String(length=40), nullable=True),
        sa.Column("after", sa.String(length=40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        _org_fk("webhook_deliveries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_subscription_status",
        "webhook_deliveries",
        ["subscription_id", "status", "id"],
    )
    op.create_index(op.f("ix_webhook_deliveries_org_id"), "webhook_deliveries", ["org_id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("response_excerpt", sa.Text(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        _org_fk("webhook_attempts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id", "id"])
    op.create_index(op.f("ix_webhook_attempts_org_id"), "webhook_attempts", ["org_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in ("webhook_subscriptions", "webhook_deliveries", "webhook_attempts"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for table in ("webhook_subscriptions", "webhook_attempts"):
            op.execute(f"CREATE POLICY tenant_wall ON {table} USING {OWN_ORG} WITH CHECK {OWN_ORG}")
        table = "webhook_deliveries"
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING {OWN_ORG}")
        op.execute(f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK (true)")
        op.execute(
            f"CREATE POLICY tenant_update ON {table} FOR UPDATE USING {OWN_ORG} "
            f"WITH CHECK {OWN_ORG}"
        )
        op.execute(f"CREATE POLICY tenant_delete ON {table} FOR DELETE USING {OWN_ORG}")


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
