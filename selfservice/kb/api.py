"""The help centre in the API: the published articles of the caller's audience, one article,
and search with highlighted snippets (``articles:read``), through the same queries, search and
wall as the pages (``Article.visible_to``: a partner's token never reads an article for
customers, nor anyone but vendor staff a draft or an internal one); support staff write and
publish articles (``articles:write``, ``articles.manage``) through the editors' services."""

from __future__ import annotations

from typing import Literal

from flask import g
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api import api
from portal.api.auth import require_action
from portal.api.errors import ApiError, Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.pagination import PageQuery, page_of
from portal.api.resources import ERRORS, ID, WRITE_ERRORS, action
from portal.concurrency import snapshot
from portal.errors import InvalidInput
from portal.routes import Routes
from selfservice.kb import queries, search, services
from selfservice.kb.models import ARTICLE_STATUSES, AUDIENCES, Article, ArticleStatus

routes = Routes()
READ = "articles.view"
WRITE = "articles.manage"
MAX_ID = 2147483647
# Text still there once the services strip blanks (NULs are dropped by the API's parser).
TITLE_TEXT = r"[^\x00\s]([\s\S]*[^\x00\s]){2}"
REQUIRED_TEXT = r"[^\x00\s]"


class ArticleQuery(PageQuery):
    category_id: int | None = Field(
        None, ge=1, le=2147483647, description="Only the articles of this category."
    )
    status: Literal[ARTICLE_STATUSES] = Field(
        ArticleStatus.published.value,
        description="published (the default), or draft: vendor staff's unpublished articles "
        "(nobody else sees one, so for others the list is empty).",
    )


class SearchQuery(BaseModel):
    q: str = Field(min_length=1, max_length=200, description="The words to look for.")
    category_id: int | None = Field(
        None, ge=1, le=2147483647, description="Only the articles of this category."
    )
    limit: int = Field(10, ge=1, le=25, description="How many hits, 1 to 25.")


class ArticleOut(BaseModel):
    id: int
    title: str
    category_id: int | None
    category: str | None = Field(description="The category's name.")
    audience: Literal[AUDIENCES]
    status: Literal[ARTICLE_STATUSES]
    created_at: str
    updated_at: str
    published_at: str | None


class ArticleDetail(ArticleOut):
    body: str = Field(description="Markdown (the pages show it sanitised).")
    promoted: bool = Field(description="Featured on the help centre's front page.")
    version: int = Field(description="Send it back with a change (PATCH).")
    helpful: int = Field(description="Readers who found it helpful.")
    votes: int = Field(description="Readers who said whether it helped.")


class ArticleIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    title: str = Field(min_length=3, max_length=200, pattern=TITLE_TEXT)
    body: str = Field(
        min_length=1, max_length=services.MAX_BODY, pattern=REQUIRED_TEXT, description="Markdown."
    )
    audience: Literal[AUDIENCES] = "public"
    status: Literal[ARTICLE_STATUSES] = Field(
        ArticleStatus.draft.value, description="published shows it to its audience at once."
    )
    # Not strict: JSON's 12.0 is the integer 12 (the document says "integer", which allows it).
    category_id: int | None = Field(None, ge=1, le=MAX_ID, strict=False)
    promoted: bool = Field(False, description="Feature it on the help centre's front page.")


class ArticlePatch(BaseModel):
    """The fields to change (those left out keep their value), and the version read."""

    model_config = ConfigDict(strict=True, extra="forbid")

    version: int = Field(
        ge=1, le=MAX_ID, description="The article's version as read: another edit since is 409."
    )
    title: str = Field(None, min_length=3, max_length=200, pattern=TITLE_TEXT)
    body: str = Field(None, min_length=1, max_length=services.MAX_BODY, pattern=REQUIRED_TEXT)
    audience: Literal[AUDIENCES] = None
    status: Literal[ARTICLE_STATUSES] = Field(
        None, description="published or draft: a move, audited as such."
    )
    category_id: int | None = Field(None, ge=1, le=MAX_ID)
    promoted: bool = None


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    next_cursor: str | None


class SearchHit(ArticleOut):
    rank: float = Field(description="Higher is better; comparable within one search only.")
    snippet: str = Field(
        description="HTML: an escaped passage of the body with the matching words in <mark>."
    )


class SearchResult(BaseModel):
    items: list[SearchHit]


def _out(article: Article) -> dict:
    return {
        "id": article.id,
        "title": article.title,
        "category_id": article.category_id,
        "category": article.category.name if article.category else None,
        "audience": article.audience,
        "status": article.status,
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
        "published_at": article.published_at.isoformat() if article.published_at else None,
    }


@routes.get("/articles")
@action(READ)
@api.validate(
    query=ArticleQuery,
    resp=Response(HTTP_200=ArticlePage, HTTP_422=Problem, **ERRORS),
    tags=["help centre"],
)
def list_articles(query: ArticleQuery):
    """The published articles the caller may read (its audience's and public ones), by id;
    of one category with ``category_id``."""
    require_action(READ)
    stmt = (
        select(Article)
        .where(Article.status == query.status)
        .options(selectinload(Article.category))  # one statement for the page's categories
    )
    if query.category_id:
        stmt = stmt.where(Article.category_id == query.category_id)
    rows, cursor = page_of(stmt, Article, query)
    return ArticlePage(items=[_out(a) for a in rows], next_cursor=cursor)


@routes.get("/articles/search")
@action(READ)
@api.validate(
    query=SearchQuery,
    resp=Response(HTTP_200=SearchResult, HTTP_422=Problem, **ERRORS),
    tags=["help centre"],
)
def search_articles(query: SearchQuery):
    """The best matching articles the caller may read, best first, title before body, each with
    a highlighted snippet: the help centre's own search (``portal.search``)."""
    require_action(READ)
    hits = search.search(query.q, limit=query.limit, category_id=query.category_id)
    return SearchResult(
        items=[
            {**_out(hit.record), "rank": float(hit.rank), "snippet": str(hit.snippet)}
            for hit in hits
        ]
    )


@routes.get(f"/articles/<{ID}:article_id>")
@guarded(Article, "article_id", READ)
@api.validate(
    resp=Response(HTTP_200=ArticleDetail, HTTP_404=Problem, **ERRORS), tags=["help centre"]
)
def get_article(article_id: int):
    """One article the caller may read, with its body and how many readers found it helpful
    (404 for one that is not for its audience, as for one that does not exist)."""
    return ArticleDetail(**_detail(g.api_record))


def _detail(article: Article) -> dict:
    tally = queries.tally(article.id)
    return {
        **_out(article),
        "body": article.body,
        "promoted": article.promoted,
        "version": article.version,
        "helpful": tally.helpful,
        "votes": tally.votes,
    }


def _with_fields(use_case):
    """Run ``use_case``; an invalid field becomes a 422 naming it (as the schema's errors do)."""
    try:
        return use_case()
    except InvalidInput as error:
        loc = ["body", error.field] if error.field else ["body"]
        raise ApiError(
            422, "Unprocessable Content", error.message, errors=[{"loc": loc, "msg": error.message}]
        ) from None


@routes.post("/articles")
@action(WRITE)
@api.validate(
    json=ArticleIn,
    resp=Response(HTTP_201=ArticleDetail, HTTP_415=Problem, HTTP_422=Problem, **ERRORS),
    tags=["help centre"],
)
def create_article(json: ArticleIn):
    """Write an article (support staff), as a draft or published at once. Send an
    ``Idempotency-Key`` header to retry safely."""
    require_action(WRITE)

    def create() -> dict:
        article = _with_fields(
            lambda: services.create_article(json.model_dump(), actor=g.principal)
        )
        return _detail(article)

    return write_once(create, 201)


@routes.patch(f"/articles/<{ID}:article_id>")
@guarded(Article, "article_id", WRITE)
@api.validate(
    json=ArticlePatch,
    resp=Response(HTTP_200=ArticleDetail, **WRITE_ERRORS, **ERRORS),
    tags=["help centre"],
)
def update_article(article_id: int, json: ArticlePatch):
    """Edit, publish (``status``: published) or take back (draft) an article, as the editor's
    page does; ``version`` is the one read, and another edit since is 409 (nothing is
    overwritten). Send an ``Idempotency-Key`` header to retry safely."""
    article = g.api_record
    given = json.model_fields_set - {"version"}

    def edit() -> dict:
        if json.version != article.version:
            raise ApiError(
                409,
                "Conflict",
                f"The article changed since version {json.version}: read it again.",
            )
        fields = {f: getattr(article, f) for f in services.EDITABLE_FIELDS}
        fields |= {f: getattr(json, f) for f in given}
        seen = snapshot(article, services.EDITABLE_FIELDS)
        _with_fields(lambda: services.update_article(article, fields, seen=seen, actor=g.principal))
        return _detail(article)

    return write_once(edit)
