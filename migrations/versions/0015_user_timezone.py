"""users.timezone: nullable, no default (NULL = the person has not chosen one yet)

A new account's time zone is unknown until its browser reports one (``POST /account/timezone``,
sent once by ``portal/static/timezone.js``) or the person picks one on the account page; until
then pages show times in UTC, as before. Rows that hold 'UTC' keep it: the upgrade cannot tell a
chosen UTC from the old default, so it leaves every stored value as it is. The downgrade gives
the column back its default and NOT NULL, writing 'UTC' where no zone was chosen.

On SQLite neither direction rebuilds the table: a rebuild drops ``users``, which many tables
reference, and that DROP's implicit DELETE runs their ON DELETE actions (foreign keys are on, and
a migration's transaction cannot turn them off). The column's definition is changed in the stored
CREATE TABLE instead, SQLite's documented procedure for changes that leave the stored rows valid
(dropping NOT NULL and a default never invalidates a row; the downgrade fills the NULLs first).

Row-level security: the users policy (0002) reads org_id only, so nothing changes there.

Revision ID: 0015_user_timezone
Revises: 0014_account_manager
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from portal.migrate import sqlite_rewrite_table

revision = "0015_user_timezone"
down_revision = "0014_account_manager"
branch_labels = None
depends_on = None

SQLITE_BEFORE = "timezone VARCHAR(64) DEFAULT 'UTC' NOT NULL"
SQLITE_AFTER = "timezone VARCHAR(64)"


def _sqlite_rewrite_users(old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the stored CREATE TABLE of users (no rebuild)."""

    def replace(sql: str) -> str:
        if sql.count(old) != 1:
            raise RuntimeError(f"users: the time zone column is not as expected ({old!r})")
        return sql.replace(old, new)

    sqlite_rewrite_table(op.get_bind(), "users", replace)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite_users(SQLITE_BEFORE, SQLITE_AFTER)
    else:
        op.alter_column(
            "users",
            "timezone",
            existing_type=sa.String(length=64),
            nullable=True,
            server_default=None,
        )


def downgrade() -> None:
    op.execute("UPDATE users SET timezone = 'UTC' WHERE timezone IS NULL")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite_users(SQLITE_AFTER, SQLITE_BEFORE)
    else:
        op.alter_column(
            "users",
            "timezone",
            existing_type=sa.String(length=64),
            nullable=False,
            server_default="UTC",
        )
