"""passkeys: WebAuthn credentials as a second factor after the password

``passkeys``: a person's passkeys (credential id, COSE public key, signature counter,
transports, the person's WebAuthn user handle, name, when added and last used), several per
person. A new table only. Row-level security: it stays with its organisation like every tenant
table (the ORM's rule narrows it to its person).

Revision ID: 0040_passkeys
Revises: 0039_search_indexes
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0040_passkeys"
down_revision = "0039_search_indexes"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"


def upgrade() -> None:
    op.create_table(
        "passkeys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.Integer(), nullable=False),
        sa.Column("transports", sa.String(length=200), nullable=False),
        sa.Column("user_handle", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_passkeys_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_passkeys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkeys_credential_id")),
    )
    op.create_index(op.f("ix_passkeys_org_id"), "passkeys", ["org_id"])
    op.create_index(op.f("ix_passkeys_user_id"), "passkeys", ["user_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE passkeys ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE passkeys FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_wall ON passkeys USING {OWN_ORG} WITH CHECK {OWN_ORG}")


def downgrade() -> None:
    op.drop_table("passkeys")
