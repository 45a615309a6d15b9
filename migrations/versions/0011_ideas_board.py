"""ideas board paged by key: the trending count stored, one index per sort

ideas.recent_vote_count: the votes of the last 14 days (the "trending" sort), kept by each vote
and by the ideas_trending tick (feedback.ideas.trending), filled here for the ideas already there.
The board's three sorts each get an index ending in the unique id, alone and behind status (the
status filter); they replace ix_ideas_status_vote_count and ix_ideas_created_at, which lacked the
id. The column is added without a table rebuild on SQLite, so 0010's search triggers stay.

Row-level security: ideas are under forced policies since 0008; a column changes nothing there.

Revision ID: 0011_ideas_board
Revises: 0010_search_and_leads
Create Date: 2026-11-23 22:00:00
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0011_ideas_board"
down_revision = "0010_search_and_leads"
branch_labels = None
depends_on = None

TRENDING_DAYS = 14  # as feedback.ideas.models.TRENDING_DAYS when this revision was written
SORT_INDEXES = {
    "ix_ideas_votes": ["vote_count", "id"],
    "ix_ideas_status_votes": ["status", "vote_count", "id"],
    "ix_ideas_newest": ["created_at", "id"],
    "ix_ideas_status_newest": ["status", "created_at", "id"],
    "ix_ideas_trending": ["recent_vote_count", "vote_count", "id"],
    "ix_ideas_status_trending": ["status", "recent_vote_count", "vote_count", "id"],
}


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column(
        "ideas",
        sa.Column("recent_vote_count", sa.Integer(), server_default="0", nullable=False),
    )
    since = datetime.now(UTC) - timedelta(days=TRENDING_DAYS)
    if bind.dialect.name != "postgresql":
        since = since.replace(tzinfo=None)  # SQLite stores naive UTC (portal.db.UTCDateTime)
    op.execute(
        sa.text(
            "UPDATE ideas SET recent_vote_count = (SELECT count(*) FROM idea_votes "
            "WHERE idea_votes.idea_id = ideas.id AND idea_votes.created_at >= :since)"
        ).bindparams(since=since)
    )
    op.drop_index("ix_ideas_status_vote_count", table_name="ideas")
    op.drop_index(op.f("ix_ideas_created_at"), table_name="ideas")
    for name, columns in SORT_INDEXES.items():
        op.create_index(name, "ideas", columns)


def downgrade() -> None:
    for name in SORT_INDEXES:
        op.drop_index(name, table_name="ideas")
    op.create_index(op.f("ix_ideas_created_at"), "ideas", ["created_at"])
    op.create_index("ix_ideas_status_vote_count", "ideas", ["status", "vote_count"])
    op.drop_column("ideas", "recent_vote_count")
