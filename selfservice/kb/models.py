"""The knowledge base: categories, articles (markdown, sanitised when shown), helpful votes and
the events that measure whether self-service avoided a case.

Articles belong to the vendor's help centre, not to one organisation, so their tables are
global; who reads an article is its audience and status (``Article.visible_to``), applied by the
tenant wall to every query, visitors who are not signed in included.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    exists,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.db import Base, VendorOnly, global_table
from portal.identity.models import User
from portal.search import FullTextIndex
from portal.workflow import Workflow

AUDIENCES = ("public", "customers", "partners", "internal")


class ArticleStatus(StrEnum):
    draft = "draft"
    published = "published"


ARTICLE_STATUSES = tuple(s.value for s in ArticleStatus)
EVENT_KINDS = ("view", "case_avoided", "case_raised")


def audiences_for(principal) -> tuple[str, ...]:
    """Which audiences' articles a reader sees (None: a visitor who is not signed in)."""
    if principal is None:
        return ("public",)
    if principal.is_vendor_staff:
        return AUDIENCES
    if principal.is_partner:
        return ("public", "partners")
    return ("public", "customers")


@global_table("the vendor's help centre: seen by whoever may read one of its articles")
class ArticleCategory(Base):
    __tablename__ = "kb_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(default=100)

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """Vendor staff: every category. Others: a category holding at least one article they
        may read, so an internal one ("Support runbooks") or an empty one is never named to
        them, in a list, a link or a breadcrumb."""
        if principal.is_vendor_staff:
            return true()
        return _holds(
            and_(
                Article.status == ArticleStatus.published,
                Article.audience.in_(audiences_for(principal)),
            )
        )

    @classmethod
    def visible_to_anonymous(cls) -> ColumnElement[bool]:
        return _holds(Article.visible_to_anonymous())


@global_table("the vendor's help centre: who reads an article is its audience, not its owner")
class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_status_audience", "status", "audience"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_categories.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(20), default="public")
    status: Mapped[str] = mapped_column(String(20), default=ArticleStatus.draft)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    # An editor's choice: listed as "Featured" on the help centre's front page (to readers who
    # may read it, through the wall), before the most helpful articles.
    promoted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    category: Mapped[ArticleCategory | None] = relationship()
    author: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    # Published and taken back to draft by support staff's edits. An article belongs to no
    # organisation: its audit events are filed in the editor's (``audit_org_id``).
    workflow = Workflow(
        name="article",
        noun=_l("article"),
        statuses=ArticleStatus,
        moves={
            ArticleStatus.draft: {ArticleStatus.published},
            ArticleStatus.published: {ArticleStatus.draft},
        },
        audit_fields=("title", "audience"),
        labels={ArticleStatus.draft: _l("draft"), ArticleStatus.published: _l("published")},
    )

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """Vendor staff: every article, drafts too. Others: published ones for their audience."""
        if principal.is_vendor_staff:
            return true()
        return and_(
            cls.status == ArticleStatus.published, cls.audience.in_(audiences_for(principal))
        )

    @classmethod
    def visible_to_anonymous(cls) -> ColumnElement[bool]:
        return and_(cls.status == ArticleStatus.published, cls.audience == "public")


def _holds(readable: ColumnElement[bool]) -> ColumnElement[bool]:
    """The category has an article matching ``readable`` (correlated to the category row)."""
    return exists().where(Article.category_id == ArticleCategory.id, readable)


# Searched through portal.search; the index itself is made by migration 0006.
ARTICLE_INDEX = FullTextIndex(Article, ("title", "body"), snippet_column="body")


@global_table("help-centre feedback: one vote per person or anonymous visitor, read by the vendor")
class ArticleVote(VendorOnly, Base):  # written by anyone's vote, read by vendor staff
    __tablename__ = "article_votes"
    __table_args__ = (UniqueConstraint("article_id", "voter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    # "user:<id>" for a signed-in person, "visitor:<random>" for an anonymous session.
    voter: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@global_table("help-centre analytics (views, cases avoided or raised after reading), vendor only")
class ArticleEvent(VendorOnly, Base):  # written by anyone's reading, read by vendor staff
    __tablename__ = "article_events"
    __table_args__ = (
        Index("ix_article_events_article_kind", "article_id", "kind"),
        # A case is avoided once per reader and article, however often they say so.
        Index(
            "uq_article_events_avoided",
            "article_id",
            "voter",
            unique=True,
            sqlite_where=text("kind = 'case_avoided'"),
            postgresql_where=text("kind = 'case_avoided'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    voter: Mapped[str] = mapped_column(String(80), default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
