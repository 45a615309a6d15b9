"""personal data: a case's legal hold, a person's erasure, and the one way an audit payload is
redacted

``cases.legal_hold`` (with who set it, when and why: ``legal_hold_by_id``, ``legal_hold_at``,
``legal_hold_reason``): vendor admins put a case under legal hold on its page; while a case a
person raised or opened is held, that person's erasure is refused
(``portal.identity.personal_data``). ``users.erased_at``: when the person was anonymised (their
name became "Former user", their address ``erased-<id>@invalid``); such an account stays
deactivated.

Audit events stay append-only (no ORM path changes them, 0002 gives PostgreSQL no UPDATE policy
for them). Erasure must still take the person's name and address out of the events' before and
after copies, so PostgreSQL gains one UPDATE policy that holds only while the erasing
transaction has set ``app.audit_redaction`` to ``on`` (``SET LOCAL``): the rows, their ids,
actions, actors, objects and times are never changed, only the erased values in their payloads.

Nullable and defaulted columns only; the new foreign key is written without a table rebuild on
SQLite (``portal.migrate.add_foreign_key``, as 0014 does).

Revision ID: 0038_personal_data
Revises: 0037_second_factor
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

from portal.migrate import add_foreign_key, drop_foreign_key

revision = "0038_personal_data"
down_revision = "0037_second_factor"
branch_labels = None
depends_on = None

FK = "fk_cases_legal_hold_by_id_users"
FOREIGN_KEY = ("cases", "legal_hold_by_id", "users")
REDACTING = "(current_setting('app.audit_redaction', true) = 'on')"


def upgrade() -> None:
    op.add_column(
        "cases",
        sa.Column("legal_hold", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("cases", sa.Column("legal_hold_by_id", sa.Integer(), nullable=True))
    add_foreign_key(op, *FOREIGN_KEY, name=FK, ondelete="SET NULL")
    op.add_column("cases", sa.Column("legal_hold_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("legal_hold_reason", sa.String(length=500), nullable=True))
    op.add_column("users", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE POLICY audit_redaction ON audit_events FOR UPDATE "
            f"USING {REDACTING} WITH CHECK {REDACTING}"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute("DROP POLICY IF EXISTS audit_redaction ON audit_events")
    drop_foreign_key(op, *FOREIGN_KEY, name=FK, ondelete="SET NULL")
    for table, column in (
        ("users", "erased_at"),
        ("cases", "legal_hold_reason"),
        ("cases", "legal_hold_at"),
        ("cases", "legal_hold_by_id"),
        ("cases", "legal_hold"),
    ):
        if sqlite:  # no rebuild (see add_foreign_key)
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
