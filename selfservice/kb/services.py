"""Use cases of the knowledge base. Writers only flush; the caller commits once."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal import audit, people
from portal.clock import utcnow
from portal.concurrency import check_unchanged
from portal.db import db, read_across, unscoped
from portal.errors import Forbidden, InvalidInput
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition
from selfservice.kb import queries
from selfservice.kb.models import (
    ARTICLE_STATUSES,
    AUDIENCES,
    Article,
    ArticleCategory,
    ArticleEvent,
    ArticleStatus,
    ArticleVote,
)

EDITABLE_FIELDS = ["title", "body", "audience", "status", "category_id", "promoted"]
# What the audit records of an article (its body is too long to copy into every event).
AUDITED_FIELDS = ["title", "audience", "status", "category_id", "promoted"]
MAX_BODY = 100_000


def _clean(fields: dict) -> dict:
    title = (fields.get("title") or "").replace("\x00", "").strip()
    if len(title) < 3:
        raise InvalidInput(_("Give the article a title."), field="title")
    body = (fields.get("body") or "").replace("\x00", "").strip()
    if not body:
        raise InvalidInput(_("Write the article."), field="body")
    if len(body) > MAX_BODY:
        raise InvalidInput(_("The article is too long."), field="body")
    audience = fields.get("audience") or "public"
    if audience not in AUDIENCES:
        raise InvalidInput(_("Choose an audience from the list."), field="audience")
    status = fields.get("status") or ArticleStatus.draft
    if status not in ARTICLE_STATUSES:
        raise InvalidInput(_("Choose draft or published."), field="status")
    category_id = fields.get("category_id") or None
    if category_id and db.session.get(ArticleCategory, category_id) is None:
        raise InvalidInput(_("Choose a category from the list."), field="category_id")
    return {
        "title": title[:200],
        "body": body,
        "audience": audience,
        "status": status,
        "category_id": category_id,
        # An editor's choice for the front page; the editor's form is the only way to set it.
        "promoted": bool(fields.get("promoted")),
    }


def _require_editor(actor: Principal) -> None:
    if not (actor.is_vendor_staff and actor.can("articles.manage")):
        raise Forbidden(_("Only support staff write articles."))


def create_category(name: str, description: str, *, actor: Principal) -> ArticleCategory:
    _require_editor(actor)
    name = (name or "").replace("\x00", "").strip()[:120]
    if len(name) < 2:
        raise InvalidInput(_("Name the category."), field="name")
    if db.session.scalar(select(ArticleCategory.id).where(ArticleCategory.name == name)):
        raise InvalidInput(_("There is a category of this name."), field="name")
    position = (db.session.scalar(select(func.max(ArticleCategory.position))) or 0) + 10
    category = ArticleCategory(
        name=name, description=(description or "").strip()[:300], position=position
    )
    db.session.add(category)
    db.session.flush()
    audit.record("kb_category.created", category, actor=actor, org_id=actor.org_id,
                 after={"name": name})  # fmt: skip
    return category


def create_article(fields: dict, *, actor: Principal) -> Article:
    _require_editor(actor)
    now = utcnow()
    cleaned = _clean(fields)
    article = Article(
        **cleaned,
        author_id=actor.user_id,
        created_at=now,
        updated_at=now,
        published_at=now if cleaned["status"] == ArticleStatus.published else None,
    )
    db.session.add(article)
    db.session.flush()
    audit.record(
        "article.created", article, actor=actor, org_id=actor.org_id,
        after=audit.snapshot(article, AUDITED_FIELDS),
    )  # fmt: skip
    return article


def update_article(article: Article, fields: dict, *, seen: str | None, actor: Principal) -> None:
    """Edit; if someone saved meanwhile, EditConflict says what changed, nothing is lost. A new
    status is a move (``article.published``, ``article.unpublished``), audited before the
    edit itself."""
    _require_editor(actor)
    check_unchanged(article, seen)
    cleaned = _clean(fields)
    before = audit.snapshot(article, AUDITED_FIELDS)
    status = cleaned.pop("status")
    now = utcnow()
    if status != article.status:
        publish = status == ArticleStatus.published
        transition(
            article,
            status,
            actor=actor,
            at=now,
            audit_org_id=actor.org_id,
            event="article.published" if publish else "article.unpublished",
            changes={"published_at": article.published_at or now} if publish else None,
        )
    for key, value in cleaned.items():
        setattr(article, key, value)
    article.updated_at = now
    db.session.flush()
    audit.record(
        "article.edited", article, actor=actor, org_id=actor.org_id,
        before=before, after=audit.snapshot(article, AUDITED_FIELDS),
    )  # fmt: skip


def vote(article: Article, *, helpful: bool, comment: str, voter: str, user_id: int | None):
    """One vote per person (or anonymous visitor): voting again replaces the earlier vote."""
    comment = (comment or "").replace("\x00", "").strip()[:2000]
    with unscoped():  # reason: a voter replaces its own vote, a row only the vendor reads
        existing = db.session.scalar(
            select(ArticleVote).where(
                ArticleVote.article_id == article.id, ArticleVote.voter == voter
            )
        )
        if existing is None:
            existing = ArticleVote(
                article_id=article.id, voter=voter, user_id=user_id, helpful=helpful
            )
            db.session.add(existing)
        existing.helpful, existing.comment, existing.created_at = helpful, comment, utcnow()
    if comment and article.author_id:  # the comment goes to the author, not to other readers
        notify.notify(
            people.people([article.author_id]),
            "articles.feedback",
            _l("A reader on “%(title)s”: %(verdict)s", title=article.title,
              verdict=_l("helpful") if helpful else _l("not helpful")),
            body=comment,
            link=notify.link("kb.article", article_id=article.id),
        )  # fmt: skip
    return existing


def record_event(article_id: int, kind: str, *, voter: str = "", case_id: int | None = None):
    """A reader's view, case avoided or case raised. Readers write events they may not read
    (vendor only, both walls): written unscoped, as votes are."""
    event = ArticleEvent(article_id=article_id, kind=kind, voter=voter, case_id=case_id)
    with unscoped():  # reason: a reader writes an event only the vendor may read (both walls)
        db.session.add(event)
    return event


def record_case_avoided(article_id: int, *, voter: str) -> bool:
    """The reader says this article solved what they were about to raise a case for: counted
    once per reader and article (a unique index backs the check). Returns whether it counted."""
    with read_across() as reader:  # the reader's own event, found by its key
        found = reader.scalar(
            select(ArticleEvent.id).where(
                ArticleEvent.article_id == article_id,
                ArticleEvent.voter == voter,
                ArticleEvent.kind == "case_avoided",
            )
        )
    if found is not None:
        return False
    try:
        with db.session.begin_nested():  # a second request at the same moment loses here
            record_event(article_id, "case_avoided", voter=voter)
    except IntegrityError:
        return False
    return True


def record_case_raised(article_id: int, case, *, actor: Principal) -> None:
    """A case opened after reading a suggested article (if the reader may see that article)."""
    article = db.session.scalar(select(Article.id).where(Article.id == article_id))
    if article is not None:
        record_event(article, "case_raised", voter=f"user:{actor.user_id}", case_id=case.id)


def report():
    """Per article: views, helpful and unhelpful votes, cases avoided, cases raised after
    reading; most viewed first (``queries.report_rows``)."""
    return db.session.execute(queries.report_rows()).all()


def comments_for_author(article: Article) -> list[ArticleVote]:
    return list(
        db.session.scalars(
            select(ArticleVote)
            .where(ArticleVote.article_id == article.id, ArticleVote.comment != "")
            .order_by(ArticleVote.id.desc())
            .limit(50)
        )
    )
