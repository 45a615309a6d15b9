"""Read side of the ideas board: the board with its sorts and filters, one idea's page."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from feedback.ideas.models import (
    IDEA_INDEX,
    IDEA_STATUSES,
    Idea,
    IdeaComment,
    IdeaStatus,
    IdeaSubscription,
    IdeaVote,
)
from portal import search as full_text
from portal.db import db
from portal.identity.models import User
from portal.keyset import PER_PAGE, KeysetPage, keyset_page
from portal.product_lines import PRODUCT_LINES

# sort name -> (columns, descending): all descending, each ending in the unique id, each with its
# index alone and behind status (models.Idea). "trending" is a stored count (ideas.trending).
SORTS = {
    "votes": ((Idea.vote_count, Idea.id), True),
    "trending": ((Idea.recent_vote_count, Idea.vote_count, Idea.id), True),
    "newest": ((Idea.created_at, Idea.id), True),
}


def board(
    sort: str = "votes",
    status: str | None = None,
    product: str | None = None,
    *,
    after: str | None = None,
    before: str | None = None,
    with_authors: bool = False,
    per_page: int = PER_PAGE,
) -> KeysetPage:
    """A page of the board in the order ``sort`` names: ``votes`` (most first), ``newest``, or
    ``trending`` (most votes in the last 14 days, then most votes). Duplicates are left out unless
    asked for. Keyset-paged (no COUNT, no OFFSET); ``with_authors`` loads who wrote each idea in
    the same query (vendor staff see it). Raises InvalidCursor for a cursor the portal did not
    give."""
    stmt = board_rows(status, product, with_authors=with_authors)
    return keyset_page(stmt, SORTS, sort, after=after, before=before, per_page=per_page)


def board_filters(args) -> dict:
    """The board's sort and filters from its query string (the board and its CSV export both
    read them here): an unknown sort is "votes", an unknown status or product no filter."""
    sort = args.get("sort")
    status = args.get("status")
    product = args.get("product")
    return {
        "sort": sort if sort in SORTS else "votes",
        "status": status if status in IDEA_STATUSES else None,
        "product": product if product in PRODUCT_LINES else None,
    }


def board_rows(
    status: str | None = None, product: str | None = None, *, with_authors: bool = False
) -> Select:
    """The ideas on the board, unordered (the board orders them by ``SORTS``): of ``status``,
    or every status but duplicates; of ``product``; with who wrote each (vendor staff)."""
    stmt = select(Idea)
    if status in IDEA_STATUSES:
        stmt = stmt.where(Idea.status == status)
    else:
        stmt = stmt.where(Idea.status != IdeaStatus.duplicate)
    if product in PRODUCT_LINES:
        stmt = stmt.where(Idea.product == product)
    if with_authors:
        stmt = stmt.options(joinedload(Idea.author).joinedload(User.org))
    return stmt


def similar_to(title: str, limit: int = 5) -> list[full_text.Hit]:
    """Ideas like ``title`` by the knowledge base's full-text search (``portal.search``: title
    before description), best first; the suggestions shown while a new idea's title is typed.
    Duplicates are left out: their original is the one to vote for."""
    words = " ".join(title.split())[:200]
    if len(words) < 4:
        return []
    return full_text.search(
        IDEA_INDEX, words, limit=limit, where=[Idea.status != IdeaStatus.duplicate]
    )


def my_votes(user_id: int, among: list[int]) -> set[int]:
    """Which of the ideas ``among`` (a page of the board, one idea) the person voted for."""
    if not among:
        return set()
    return set(
        db.session.scalars(
            select(IdeaVote.idea_id).where(IdeaVote.user_id == user_id, IdeaVote.idea_id.in_(among))
        )
    )


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
