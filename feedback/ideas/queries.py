"""Read side of the ideas board: the board with its sorts and filters, one idea's page."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from feedback.ideas.models import (
    IDEA_INDEX,
    IDEA_STATUSES,
    Idea,
    IdeaComment,
    IdeaSubscription,
    IdeaVote,
)
from feedback.products import PRODUCTS
from portal import search as full_text
from portal.clock import utcnow
from portal.db import db, unscoped

SORTS = ("votes", "trending", "newest")
TRENDING_DAYS = 14


def recent_votes(days: int = TRENDING_DAYS) -> dict[int, int]:
    """Votes per idea cast in the last ``days`` days, over every organisation.

    Reviewed unscoped read: votes are private to their voter, but the board ranks by their
    number; only counts per idea leave this function, never who voted.
    """
    since = utcnow() - timedelta(days=days)
    with unscoped():
        rows = db.session.execute(
            select(IdeaVote.idea_id, func.count())
            .where(IdeaVote.created_at >= since)
            .group_by(IdeaVote.idea_id)
        ).all()
    return {idea_id: count for idea_id, count in rows}


def board(sort: str = "votes", status: str | None = None, product: str | None = None):
    """Ideas of the board, sorted: ``votes`` (most first), ``newest``, or ``trending`` (most
    votes in the last 14 days, then most votes). Duplicates are left out unless asked for."""
    stmt = select(Idea)
    if status in IDEA_STATUSES:
        stmt = stmt.where(Idea.status == status)
    else:
        stmt = stmt.where(Idea.status != "duplicate")
    if product in PRODUCTS:
        stmt = stmt.where(Idea.product == product)
    if sort == "newest":
        return list(db.session.scalars(stmt.order_by(Idea.created_at.desc(), Idea.id.desc())))
    ideas = list(db.session.scalars(stmt.order_by(Idea.vote_count.desc(), Idea.id.desc())))
    if sort == "trending":
        recent = recent_votes()
        ideas.sort(key=lambda i: (recent.get(i.id, 0), i.vote_count, i.id), reverse=True)
    return ideas


def similar_to(title: str, limit: int = 5) -> list[full_text.Hit]:
    """Ideas like ``title`` by the knowledge base's full-text search (``portal.search``: title
    before description), best first; the suggestions shown while a new idea's title is typed.
    Duplicates are left out: their original is the one to vote for."""
    words = " ".join(title.split())[:200]
    if len(words) < 4:
        return []
    return full_text.search(IDEA_INDEX, words, limit=limit, where=[Idea.status != "duplicate"])


def my_votes(user_id: int) -> set[int]:
    return set(db.session.scalars(select(IdeaVote.idea_id).where(IdeaVote.user_id == user_id)))


def is_following(idea_id: int, user_id: int) -> bool:
    return (
        db.session.scalar(
            select(IdeaSubscription.id).where(
                IdeaSubscription.idea_id == idea_id, IdeaSubscription.user_id == user_id
            )
        )
        is not None
    )


def comments_of(idea_id: int) -> list[IdeaComment]:
    return list(
        db.session.scalars(
            select(IdeaComment)
            .where(IdeaComment.idea_id == idea_id)
            .order_by(IdeaComment.created_at, IdeaComment.id)
        )
    )


def duplicates_of(idea_id: int) -> list[Idea]:
    return list(db.session.scalars(select(Idea).where(Idea.duplicate_of_id == idea_id)))


def top_ideas(product: str | None = None, limit: int = 5) -> list[Idea]:
    """The most voted open ideas (of one product), for the analytics page."""
    stmt = select(Idea).where(Idea.status.in_(("under_review", "planned", "in_progress")))
    if product:
        stmt = stmt.where(Idea.product == product)
    return list(
        db.session.scalars(stmt.order_by(Idea.vote_count.desc(), Idea.id.desc()).limit(limit))
    )
