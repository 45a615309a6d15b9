"""The "trending" count of ideas: votes of the last ``TRENDING_DAYS``, stored on the idea
(``Idea.recent_vote_count``) so the board sorts and pages by it in the database.

A vote adds one and removing a recent vote takes one off (services.vote / unvote); nothing
happens when a vote grows old, so the ``ideas_trending`` tick (registered in
``feedback.ideas.init_app``) recounts the ideas whose count may have changed. Counting is
over every organisation's votes: only numbers per idea come out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, func, select, update

from feedback.ideas.models import TRENDING_DAYS, Idea, IdeaVote
from portal.clock import utcnow
from portal.db import db


def window_start() -> datetime:
    """Votes cast at or after this moment count as recent."""
    return utcnow() - timedelta(days=TRENDING_DAYS)


def recent_votes_of(idea_id) -> Select:
    """The number of recent votes for one idea (an id, or ``Idea.id`` to correlate)."""
    return (
        select(func.count())
        .select_from(IdeaVote)
        .where(IdeaVote.idea_id == idea_id, IdeaVote.created_at >= window_start())
    )


def age_trending_votes() -> int:
    """Tick: votes older than the window leave the trending count, in two set-based statements.
    Only ideas with a count can lose votes; their index (``ix_ideas_trending``) finds them without
    reading the others, and only rows whose count changed are written: a second run writes none.

    The ideas are locked first (PostgreSQL), so a vote being cast meanwhile either committed
    before the count (and is in it) or adds its one after this commits: counting in the same
    statement as the write would count from a snapshot taken before a vote that committed while
    the row was awaited, and lose it. SQLite has one writer at a time and needs no lock."""
    session = db.session
    counted = Idea.recent_vote_count != 0  # a negative count (a lost race) is repaired too
    session.execute(select(Idea.id).where(counted).with_for_update()).all()
    recent = recent_votes_of(Idea.id).scalar_subquery()
    return session.execute(
        update(Idea)
        .where(counted, Idea.recent_vote_count != recent)
        .values(recent_vote_count=recent)
        .execution_options(synchronize_session=False)
    ).rowcount
