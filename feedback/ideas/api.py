"""The ideas board in the API (``ideas:read``, ``ideas:write``): the board with the page's sorts
and filters, one idea with its comments, proposing, voting, commenting and following, through
the same queries and services as the pages.

The board is shared by every customer and partner, so no idea is foreign; who wrote an idea or a
comment (person and organisation) is given to vendor staff only, as on the pages. Votes,
comments, proposals and follows are a person's: they need a token acting for a user (an
authorization-code token), not a client acting alone (403)."""

from __future__ import annotations

from typing import Literal

from flask import g, request
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response

from feedback.ideas import queries, services
from feedback.ideas.models import IDEA_STATUSES, Idea, IdeaComment
from portal.api import api
from portal.api.auth import require_action, require_scope
from portal.api.errors import ApiError, Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.resources import ERRORS, ID, WRITE_ERRORS, action
from portal.errors import InvalidInput
from portal.keyset import InvalidCursor
from portal.product_lines import PRODUCT_LINES
from portal.routes import Routes

routes = Routes()
LINE_CODES = tuple(PRODUCT_LINES)
STATUS_CODES = tuple(s.value for s in IDEA_STATUSES)
# Text that is still there once the services strip blanks (and the API's parser drops NULs):
# a title of at least five such characters, a comment of at least one.
TITLE_TEXT = r"[^\x00\s]([\s\S]*[^\x00\s]){4}"
REQUIRED_TEXT = r"[^\x00\s]"


class BoardQuery(BaseModel):
    sort: Literal[tuple(queries.SORTS)] = Field(
        "votes",
        description="votes (most first), trending (most votes in the last 14 days) or newest.",
    )
    status: Literal[STATUS_CODES] | None = Field(
        None, description="Only ideas in this status (without it: every status but duplicate)."
    )
    product: Literal[LINE_CODES] | None = Field(None, description="Only ideas of this product.")
    limit: int = Field(25, ge=1, le=100, description="How many ideas, 1 to 100.")
    cursor: str | None = Field(
        None, max_length=400, description="`next_cursor` of the page before (same sort)."
    )


class IdeaIn(BaseModel):
    model_config = ConfigDict(strict=True)

    title: str = Field(min_length=5, max_length=200, pattern=TITLE_TEXT)
    description: str = Field("", max_length=5000)
    product: Literal[LINE_CODES] = Field(description="The product line the idea is about.")


class CommentIn(BaseModel):
    model_config = ConfigDict(strict=True)

    body: str = Field(min_length=1, max_length=5000, pattern=REQUIRED_TEXT)


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthorOut(BaseModel):
    user_id: int | None
    name: str | None
    org_id: int | None
    organization: str | None


class IdeaOut(BaseModel):
    id: int
    title: str
    description: str
    product: str
    status: Literal[STATUS_CODES]
    status_reason: str
    duplicate_of_id: int | None
    vote_count: int
    created_at: str
    status_changed_at: str | None
    voted: bool = Field(description="Whether the token's person voted for it.")
    author: AuthorOut | None = Field(description="Who proposed it: for vendor staff only.")


class CommentOut(BaseModel):
    id: int
    body: str
    author_kind: str = Field(description="vendor, partner or customer.")
    mine: bool = Field(description="Written by the token's person.")
    author: AuthorOut | None = Field(description="Who wrote it: for vendor staff only.")
    created_at: str


class IdeaDetail(IdeaOut):
    following: bool
    comments: list[CommentOut]


class IdeaPage(BaseModel):
    items: list[IdeaOut]
    next_cursor: str | None


def _author(row: Idea | IdeaComment) -> dict | None:
    """Who wrote a row, for vendor staff (others: None, as the pages show no one; the author is
    not even loaded for them)."""
    if not g.principal.is_vendor_staff:
        return None
    user = row.author
    if user is None:
        return {"user_id": None, "name": None, "org_id": None, "organization": None}
    return {
        "user_id": user.id,
        "name": user.name,
        "org_id": user.org_id,
        "organization": user.org.name if user.org else None,
    }


def _out(idea: Idea, voted: set[int]) -> dict:
    return {
        "id": idea.id,
        "title": idea.title,
        "description": idea.description,
        "product": idea.product,
        "status": idea.status,
        "status_reason": idea.status_reason,
        "duplicate_of_id": idea.duplicate_of_id,
        "vote_count": idea.vote_count,
        "created_at": idea.created_at.isoformat(),
        "status_changed_at": idea.status_changed_at.isoformat() if idea.status_changed_at else None,
        "voted": idea.id in voted,
        "author": _author(idea),
    }


def _comment(comment: IdeaComment) -> dict:
    return {
        "id": comment.id,
        "body": comment.body,
        "author_kind": comment.author_kind,
        "mine": comment.author_id is not None and comment.author_id == g.principal.user_id,
        "author": _author(comment),
        "created_at": comment.created_at.isoformat(),
    }


def _detail(idea: Idea) -> dict:
    user_id = g.principal.user_id
    return {
        **_out(idea, queries.my_votes(user_id, [idea.id]) if user_id else set()),
        "following": bool(user_id) and queries.is_following(idea.id, user_id),
        "comments": [_comment(c) for c in queries.comments_of(idea.id)],
    }


def _a_person() -> None:
    """Votes, comments, proposals and follows are a person's: not a client's acting alone."""
    if g.principal.user_id is None:
        raise ApiError(
            403, "Forbidden", "This needs a token acting for a person (authorization code)."
        )


def _with_fields(use_case):
    """Run ``use_case``; an invalid field becomes a 422 naming it (as the schema's errors do)."""
    try:
        return use_case()
    except InvalidInput as error:
        loc = ["body", error.field] if error.field else ["body"]
        raise ApiError(
            422, "Unprocessable Content", error.message, errors=[{"loc": loc, "msg": error.message}]
        ) from None


@routes.get("/ideas")
@action("ideas.view")
@api.validate(
    query=BoardQuery, resp=Response(HTTP_200=IdeaPage, HTTP_422=Problem, **ERRORS), tags=["ideas"]
)
def list_ideas(query: BoardQuery):
    """The board, in the order and with the filters of its page: ``sort``, ``status``,
    ``product``; paged by ``next_cursor`` (a cursor belongs to its sort)."""
    require_action("ideas.view")
    try:
        page = queries.board(
            query.sort,
            query.status,
            query.product,
            after=query.cursor,
            with_authors=g.principal.is_vendor_staff,
            per_page=query.limit,
        )
    except InvalidCursor:
        raise ApiError(
            422,
            "Unprocessable Content",
            "The cursor is not one this API gave for this sort.",
            errors=[{"loc": ["query", "cursor"], "msg": "not a cursor of this sort"}],
        ) from None
    user_id = g.principal.user_id
    voted = queries.my_votes(user_id, [i.id for i in page.items]) if user_id else set()
    return IdeaPage(items=[_out(i, voted) for i in page.items], next_cursor=page.next_cursor)


@routes.get(f"/ideas/<{ID}:idea_id>")
@guarded(Idea, "idea_id", "ideas.view")
@api.validate(resp=Response(HTTP_200=IdeaDetail, HTTP_404=Problem, **ERRORS), tags=["ideas"])
def get_idea(idea_id: int):
    """One idea with its comments, and whether the token's person voted for it and follows it."""
    return IdeaDetail(**_detail(g.api_record))


@routes.post("/ideas")
@action("ideas.submit")
@api.validate(
    json=IdeaIn,
    resp=Response(HTTP_201=IdeaDetail, HTTP_415=Problem, HTTP_422=Problem, **ERRORS),
    tags=["ideas"],
)
def propose_idea(json: IdeaIn):
    """Propose an idea (customers and partners); its author follows it from the start. Send an
    ``Idempotency-Key`` header to retry safely."""
    require_action("ideas.submit")
    _a_person()

    def propose() -> dict:
        idea = _with_fields(lambda: services.submit_idea(json.model_dump(), actor=g.principal))
        return _detail(idea)

    return write_once(propose, 201)


def _vote(change, *, scope: str | None = None):
    idea = g.api_record
    if scope:
        require_scope(scope)
    _a_person()
    if not isinstance(request.get_json(silent=True), dict):  # spectree reads no body as {}
        raise ApiError(
            422,
            "Unprocessable Content",
            "Send a JSON object ({}).",
            errors=[{"loc": ["body"], "msg": "not a JSON object"}],
        )

    def run() -> dict:
        change(idea, actor=g.principal)
        return _detail(idea)

    return write_once(run)


_VOTE_RESPONSES = Response(HTTP_200=IdeaDetail, **WRITE_ERRORS, **ERRORS)


@routes.post(f"/ideas/<{ID}:idea_id>/vote")
@guarded(Idea, "idea_id", "ideas.vote")
@api.validate(json=Empty, resp=_VOTE_RESPONSES, tags=["ideas"])
def vote_for_idea(idea_id: int, json: Empty):
    """Vote for an open idea (once per person: voting again changes nothing) and follow it.
    A closed idea is 409."""
    return _vote(services.vote)


@routes.post(f"/ideas/<{ID}:idea_id>/unvote")
@guarded(Idea, "idea_id", "ideas.vote")
@api.validate(json=Empty, resp=_VOTE_RESPONSES, tags=["ideas"])
def unvote_idea(idea_id: int, json: Empty):
    """Take one's vote back while the idea is open (none to take back changes nothing); one
    still follows it."""
    return _vote(services.unvote)


@routes.post(f"/ideas/<{ID}:idea_id>/follow")
@guarded(Idea, "idea_id", "ideas.view")
@api.validate(json=Empty, resp=_VOTE_RESPONSES, tags=["ideas"])
def follow_idea(idea_id: int, json: Empty):
    """Hear of the idea's moves (following twice changes nothing). Anyone who reads the board
    may follow an idea; a token needs ``ideas:write`` to do it."""
    return _vote(services.follow, scope="ideas:write")


@routes.post(f"/ideas/<{ID}:idea_id>/unfollow")
@guarded(Idea, "idea_id", "ideas.view")
@api.validate(json=Empty, resp=_VOTE_RESPONSES, tags=["ideas"])
def unfollow_idea(idea_id: int, json: Empty):
    """Stop hearing of the idea's moves (``ideas:write``)."""
    return _vote(services.unfollow, scope="ideas:write")


@routes.post(f"/ideas/<{ID}:idea_id>/comments")
@guarded(Idea, "idea_id", "ideas.comment")
@api.validate(
    json=CommentIn,
    resp=Response(HTTP_201=CommentOut, **WRITE_ERRORS, **ERRORS),
    tags=["ideas"],
)
def comment_on_idea(idea_id: int, json: CommentIn):
    """Comment on an idea (shown to everyone on the board). Send an ``Idempotency-Key`` header
    to retry safely."""
    idea = g.api_record
    _a_person()

    def comment() -> dict:
        return _comment(
            _with_fields(lambda: services.add_comment(idea, json.body, actor=g.principal))
        )

    return write_once(comment, 201)
