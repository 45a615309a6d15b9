"""The language each person chose: ``users.locale`` ("en", "de"), nullable.

None (every existing person) means "the browser's": pages follow ``Accept-Language`` and mail
is written in ``DEFAULT_LOCALE`` until the person picks a language with the switch in the
account menu. No row-level security change: the column lives on ``users``, whose policies stand.
Both ways are plain ALTER TABLEs, on SQLite too (3.35+ drops a column in place): rebuilding
``users`` there would delete, through its cascades, every row that points at a person.

Revision ID: 0036_user_locale
Revises: 0035_mail_in
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0036_user_locale"
down_revision = "0035_mail_in"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("locale", sa.String(length=10), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "locale")
