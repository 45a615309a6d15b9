"""Read side of the knowledge base, through the tenant wall (which adds the reader's audience
rule to every query of articles). Lists are ordered statements: the view pages them with
``portal.web.paginate``."""

from __future__ import annotations

from sqlalchemy import Select, select

from portal.db import db
from selfservice.kb.models import Article, ArticleCategory


def categories() -> list[ArticleCategory]:
    """Every category, in their set order."""
    return list(db.session.scalars(select(ArticleCategory).order_by(ArticleCategory.position)))


def articles_by_title(category_id: int | None = None) -> Select:
    """The articles the reader may see (of one category, if given), by title."""
    stmt = select(Article).order_by(Article.title)
    if category_id:
        stmt = stmt.where(Article.category_id == category_id)
    return stmt


def articles_recently_updated() -> Select:
    """The articles the reader may see, the most recently updated first."""
    return select(Article).order_by(Article.updated_at.desc(), Article.id.desc())
