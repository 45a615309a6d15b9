"""second factor and sessions: authenticator apps, recovery codes, an organisation's demand for a
second factor, and what the sessions page shows of each sign-in

``second_factors``: one TOTP authenticator per person (the secret encrypted with a key derived
from ``SECRET_KEY``; the last 30-second step accepted, so a code is never taken twice).
``recovery_codes``: ten single-use codes per enrolment, stored as argon2 hashes.
``sign_in_rules``: an organisation's admin asks every member who signs in with a password for a
second factor (a table of its own: only vendor staff write ``organizations`` rows, by row-level
security). ``user_sessions.last_seen_at`` (written at most once a minute) and
``signed_in_with`` (password, totp, recovery_code or sso) for the page of one's sessions.

New tables and nullable columns only. Row-level security: the new tables stay
with their organisation like every tenant table (the ORM's rule narrows them to their person).

Revision ID: 0037_second_factor
Revises: 0036_user_locale
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0037_second_factor"
down_revision = "0036_user_locale"
branch_labels = None
depends_on = None

SCOPE_ALL = "(current_setting('app.scope', true) = 'all')"
ORG = "NULLIF(current_setting('app.org_id', true), '')::integer"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"
TABLES = ("second_factors", "recovery_codes", "sign_in_rules")


def _owned_by_user(name: str) -> list:
    return [
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f(f"fk_{name}_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f(f"fk_{name}_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    ]


def upgrade() -> None:
    op.create_table(
        "second_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        *_owned_by_user("second_factors"),
        sa.UniqueConstraint("user_id", name=op.f("uq_second_factors_user_id")),
    )
    op.create_index(op.f("ix_second_factors_org_id"), "second_factors", ["org_id"])
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        *_owned_by_user("recovery_codes"),
    )
    op.create_index(op.f("ix_recovery_codes_org_id"), "recovery_codes", ["org_id"])
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])
    op.create_table(
        "sign_in_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("require_second_factor", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_sign_in_rules_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_rules")),
        sa.UniqueConstraint("org_id", name=op.f("uq_sign_in_rules_org_id")),
    )
    op.create_index(op.f("ix_sign_in_rules_org_id"), "sign_in_rules", ["org_id"])
    # Plain ALTER TABLE ... ADD COLUMN on both databases: no table is rebuilt on SQLite.
    op.add_column("user_sessions", sa.Column("last_seen_at", sa.DateTime(timezone=True)))
    op.add_column("user_sessions", sa.Column("signed_in_with", sa.String(length=20)))
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_wall ON {table} USING {OWN_ORG} WITH CHECK {OWN_ORG}")


def downgrade() -> None:
    # SQLite drops a column in place since 3.35 (no rebuild of tables others point at).
    op.execute("ALTER TABLE user_sessions DROP COLUMN signed_in_with")
    op.execute("ALTER TABLE user_sessions DROP COLUMN last_seen_at")
    op.drop_table("sign_in_rules")
    op.drop_table("recovery_codes")
    op.drop_table("second_factors")
