"""articles.promoted: an editor's choice for the help centre's front page

articles.promoted: NOT NULL, server default false (every existing article starts unpromoted).
Support staff tick "Promote on the help centre's front page" in the article editor
(selfservice.kb.services, audited with the article's other fields); the front page lists the
promoted articles the reader may read as "Featured", before the most helpful ones.

On SQLite neither direction rebuilds ``articles``: a batch_alter_table rebuild drops the table,
and with it the FTS5 triggers that keep ``articles_fts`` in step (0006), and its DROP's implicit
DELETE would run the ON DELETE CASCADE of article_votes and article_events. ``ALTER TABLE ADD
COLUMN`` takes a NOT NULL column with a constant default in place, and ``ALTER TABLE DROP
COLUMN`` (SQLite 3.35+) rewrites the rows in place: the table, its triggers and the rows that
reference it stay.

Row-level security: the articles policy (0006) reads status and audience only, so the new
column changes nothing there.

Revision ID: 0017_article_promoted
Revises: 0016_search
Create Date: 2026-12-03 03:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_article_promoted"
down_revision = "0016_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "articles",
        sa.Column("promoted", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE articles DROP COLUMN promoted")
    else:
        op.drop_column("articles", "promoted")
