"""Read side of the knowledge base, through the tenant wall (which adds the reader's audience
rule to every query of articles, and to categories: a reader sees a category only if it holds
an article they may read). Lists are ordered statements: the view pages them with
``portal.web.paginate``.

Votes and reading events are the vendor's rows; what readers are shown of them are totals
(``tally``, ``most_helpful``), read past the wall as plain numbers, never who voted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, case, func, select

from portal.db import db, read_across
from selfservice.kb.models import (
    Article,
    ArticleCategory,
    ArticleEvent,
    ArticleStatus,
    ArticleVote,
)


def categories() -> list[ArticleCategory]:
    """Every category the reader may see, in their set order."""
    return list(db.session.scalars(select(ArticleCategory).order_by(ArticleCategory.position)))


def categories_with_counts() -> list[tuple[ArticleCategory, int]]:
    """(category, how many of its articles the reader may see), in their set order."""
    count = (
        select(func.count(Article.id))
        .where(Article.category_id == ArticleCategory.id)
        .correlate(ArticleCategory)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(ArticleCategory, count).order_by(ArticleCategory.position, ArticleCategory.name)
    )
    return [(category, n) for category, n in rows]


def articles_by_title(category_id: int | None = None) -> Select:
    """The articles the reader may see (of one category, if given), by title."""
    stmt = select(Article).order_by(Article.title, Article.id)
    if category_id:
        stmt = stmt.where(Article.category_id == category_id)
    return stmt


def articles_recently_updated() -> Select:
    """The articles the reader may see, the most recently updated first."""
    return select(Article).order_by(Article.updated_at.desc(), Article.id.desc())


@dataclass(frozen=True)
class Tally:
    helpful: int
    votes: int


def tally(article_id: int) -> Tally:
    """How many readers found the article helpful, of how many who voted (totals only)."""
    with read_across() as reader:
        helpful, votes = reader.execute(
            select(
                func.coalesce(func.sum(case((ArticleVote.helpful.is_(True), 1), else_=0)), 0),
                func.count(ArticleVote.id),
            ).where(ArticleVote.article_id == article_id)
        ).one()
    return Tally(int(helpful), int(votes))


def featured(limit: int = 6) -> list[Article]:
    """The published articles editors promoted to the front page that the reader may read (the
    wall's audience rule: an internal one is never shown to a customer or a visitor), the most
    recently updated first."""
    return list(
        db.session.scalars(
            select(Article)
            .where(Article.promoted.is_(True), Article.status == ArticleStatus.published)
            .order_by(Article.updated_at.desc(), Article.id.desc())
            .limit(limit)
        )
    )


def most_helpful(
    limit: int = 5, category_id: int | None = None, besides: Sequence[Article] = ()
) -> list[Article]:
    """The articles the reader may see that readers found most helpful (helpful votes, then
    reads), best first; only articles someone found helpful or read, none of ``besides`` (the
    featured ones, already listed above). The ranking is read past the wall as totals per
    article; the articles themselves through it."""
    helpful = func.sum(case((ArticleVote.helpful.is_(True), 1), else_=0))
    views = (
        select(func.count(ArticleEvent.id))
        .where(ArticleEvent.article_id == Article.id, ArticleEvent.kind == "view")
        .correlate(Article)
        .scalar_subquery()
    )
    with read_across() as reader:
        ranked = reader.execute(
            select(Article.id, func.coalesce(helpful, 0), views)
            .outerjoin(ArticleVote, ArticleVote.article_id == Article.id)
            .group_by(Article.id)
        ).all()
    shown = {a.id for a in besides}
    score = {
        article_id: (int(good), int(read))
        for article_id, good, read in ranked
        if (int(good) > 0 or int(read) > 0) and article_id not in shown
    }
    if not score:
        return []
    stmt = select(Article).where(Article.id.in_(list(score)))
    if category_id:
        stmt = stmt.where(Article.category_id == category_id)
    found = sorted(
        db.session.scalars(stmt), key=lambda a: (-score[a.id][0], -score[a.id][1], a.title)
    )
    return found[:limit]


# The support staff's report (the page and its CSV export).


def report_rows() -> Select:
    """Per article: views, helpful and unhelpful votes, cases avoided, cases raised after
    reading; most viewed first, as (Article, views, helpful, unhelpful, avoided, raised)."""
    events = (
        select(
            ArticleEvent.article_id.label("article_id"),
            func.sum(case((ArticleEvent.kind == "view", 1), else_=0)).label("views"),
            func.sum(case((ArticleEvent.kind == "case_avoided", 1), else_=0)).label("avoided"),
            func.sum(case((ArticleEvent.kind == "case_raised", 1), else_=0)).label("raised"),
        )
        .group_by(ArticleEvent.article_id)
        .subquery()
    )
    votes = (
        select(
            ArticleVote.article_id.label("article_id"),
            func.sum(case((ArticleVote.helpful.is_(True), 1), else_=0)).label("helpful"),
            func.sum(case((ArticleVote.helpful.is_(False), 1), else_=0)).label("unhelpful"),
        )
        .group_by(ArticleVote.article_id)
        .subquery()
    )
    return (
        select(
            Article,
            func.coalesce(events.c.views, 0).label("views"),
            func.coalesce(votes.c.helpful, 0).label("helpful"),
            func.coalesce(votes.c.unhelpful, 0).label("unhelpful"),
            func.coalesce(events.c.avoided, 0).label("avoided"),
            func.coalesce(events.c.raised, 0).label("raised"),
        )
        .outerjoin(events, events.c.article_id == Article.id)
        .outerjoin(votes, votes.c.article_id == Article.id)
        .order_by(func.coalesce(events.c.views, 0).desc(), Article.id)
    )
