"""sign-in-free links carry a random nonce stored with their recipient

survey_recipients.link_nonce and csat_surveys.link_nonce: NOT NULL, no server default. The app
makes one (``feedback.links.new_nonce``) when it creates the row and carries it in the row's
signed link, which is refused unless it carries the same one: with only ``SECRET_KEY`` nobody
can make a link that answers. Existing rows get a random nonce each, made here in Python (no
SQL function is random enough on both databases); their links sent before the upgrade no longer
open (they carry none), so a campaign or survey still waiting for answers has to be asked again.

On SQLite the column is added plain, filled, then made NOT NULL in the stored CREATE TABLE
(``portal.migrate.sqlite_rewrite_table``: valid as every row now holds a value), with no rebuild
of the tables (a rebuild drops them, and the DROP's implicit DELETE runs the ON DELETE actions
of survey_responses and csat_responses). The downgrade drops the columns. Row-level security:
the policies of both tables (0008, 0009) read org_id only; the fill runs past them (scope 'all'
for the transaction), as the migration sees every organisation.

Revision ID: 0031_link_nonce
Revises: 0030_offer_segment
Create Date: 2026-12-03 12:00:00
"""

import secrets

import sqlalchemy as sa
from alembic import op

from portal.migrate import sqlite_rewrite_table

revision = "0031_link_nonce"
down_revision = "0030_offer_segment"
branch_labels = None
depends_on = None

TABLES = ("survey_recipients", "csat_surveys")
COLUMN = "link_nonce"
NONCE_BYTES = 16  # as feedback.links.NONCE_BYTES when this was written
SQLITE_PLAIN = "link_nonce VARCHAR(32)"
SQLITE_NOT_NULL = "link_nonce VARCHAR(32) NOT NULL"


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        op.add_column(table, sa.Column(COLUMN, sa.String(length=32)))
        _as_every_organisation(bind, lambda bind, table=table: _fill(bind, table))
        if bind.dialect.name == "sqlite":
            _sqlite_rewrite(table, SQLITE_PLAIN, SQLITE_NOT_NULL)
        else:
            op.alter_column(table, COLUMN, existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    for table in TABLES:
        if op.get_bind().dialect.name == "sqlite":  # no rebuild (see above)
            op.execute(f"ALTER TABLE {table} DROP COLUMN {COLUMN}")
        else:
            op.drop_column(table, COLUMN)


def _fill(bind, table: str) -> None:
    """A random nonce for every row of ``table`` that has none."""
    ids = bind.scalars(sa.text(f"SELECT id FROM {table} WHERE {COLUMN} IS NULL")).all()
    if ids:
        bind.execute(
            sa.text(f"UPDATE {table} SET {COLUMN} = :nonce WHERE id = :id"),
            [{"id": id_, "nonce": secrets.token_urlsafe(NONCE_BYTES)} for id_ in ids],
        )


def _sqlite_rewrite(table: str, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the stored CREATE TABLE of ``table`` (no rebuild)."""

    def replace(sql: str) -> str:
        if sql.count(old) != 1:
            raise RuntimeError(f"{table}: the link nonce column is not as expected ({old!r})")
        return sql.replace(old, new)

    sqlite_rewrite_table(op.get_bind(), table, replace)


def _as_every_organisation(bind, statements) -> None:
    """Run ``statements(bind)`` past PostgreSQL's row-level security (scope 'all' for this
    transaction), then give the setting back as it was (as 0018 does)."""
    if bind.dialect.name != "postgresql":
        statements(bind)
        return
    before = bind.scalar(sa.text("SELECT current_setting('app.scope', true)"))
    bind.execute(sa.text("SELECT set_config('app.scope', 'all', true)"))
    try:
        statements(bind)
    finally:
        bind.execute(
            sa.text("SELECT set_config('app.scope', :before, true)"), {"before": before or ""}
        )
