"""The platform's own resources: who am I, organisations, users and invitations. Thin: they
validate, call the same services and queries as the pages, and shape the answer."""

from __future__ import annotations

from flask import g
from pydantic import BaseModel, EmailStr, Field
from spectree import Response
from sqlalchemy import select

from portal import access
from portal.api import api
from portal.api.auth import require_action
from portal.api.errors import ApiError, Problem
from portal.api.idempotency import write_once
from portal.api.pagination import PageQuery, page_of
from portal.db import db, get_or_404
from portal.identity import queries, services
from portal.identity.models import Organization, User
from portal.routes import Routes

routes = Routes()

ID = "int(max=2147483647)"  # what the document promises (int32) is what the route accepts
# A pattern for required text: at least one visible character. The services strip blanks and
# line breaks, and the API's JSON parser drops NUL characters (portal.app), so nothing else may
# be required.
REQUIRED_TEXT = r"[^\x00-\x20]"
# What a write on one record may answer besides ERRORS.
WRITE_ERRORS = {"HTTP_404": Problem, "HTTP_409": Problem, "HTTP_415": Problem, "HTTP_422": Problem}
ERRORS = {"HTTP_401": Problem, "HTTP_403": Problem, "HTTP_429": Problem}


class OrganizationOut(BaseModel):
    id: int
    name: str
    kind: str
    tier: str | None
    managed_by_id: int | None
    active: bool


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    active: bool


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class Me(BaseModel):
    organization: OrganizationOut
    role: str
    user: UserOut | None = Field(None, description="None for a client acting on its own.")
    scopes: list[str]


class InvitationIn(BaseModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=30)


class InvitationOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    expires_at: str


def action(name: str):
    """Name the action a route needs (the isolation matrix and readers rely on it); the route
    checks it with ``require_action`` itself, after loading any record, so a foreign id is a
    404 whatever the role."""

    def mark(view):
        view.required_action = name
        return view

    return mark


def _org(org: Organization) -> dict:
    return OrganizationOut.model_validate(org, from_attributes=True).model_dump()


def _user(user: User) -> dict:
    return UserOut.model_validate(user, from_attributes=True).model_dump()


@routes.get("/me")
@api.validate(resp=Response(HTTP_200=Me, **ERRORS), tags=["identity"])
def me():
    """Who this token acts as: organisation, role, user (if any) and granted scopes."""
    principal = g.principal
    org = get_or_404(Organization, principal.org_id)
    user = get_or_404(User, principal.user_id) if principal.user_id else None
    return Me(
        organization=_org(org),
        role=principal.role,
        user=_user(user) if user else None,
        scopes=sorted(principal.scopes),
    )


# The organisations' resources are identity's (portal/identity/api.py).


@routes.get("/users")
@action("users.view")
@api.validate(
    query=PageQuery, resp=Response(HTTP_200=UserPage, HTTP_422=Problem, **ERRORS), tags=["users"]
)
def list_users(query: PageQuery):
    """The users of the caller's own organisation (admins' role, ``users:read``)."""
    require_action("users.view")
    rows, cursor = page_of(queries.users_of(g.principal.org_id).order_by(None), User, query)
    return UserPage(items=[_user(u) for u in rows], next_cursor=cursor)


@routes.get(f"/users/<{ID}:user_id>")
@action("users.view")
@api.validate(resp=Response(HTTP_200=UserOut, HTTP_404=Problem, **ERRORS), tags=["users"])
def get_user(user_id: int):
    """One user of the caller's organisation (404 for anyone else's)."""
    user = _visible(User, user_id)  # foreign: 404 before anything else is said
    require_action("users.view")
    return UserOut(**_user(user))


@routes.post("/invitations")
@action("users.manage")
@api.validate(
    json=InvitationIn,
    resp=Response(HTTP_201=InvitationOut, HTTP_415=Problem, HTTP_422=Problem, **ERRORS),
    tags=["users"],
)
def create_invitation(json: InvitationIn):
    """Invite a person into the caller's organisation (emailed link). Send an
    ``Idempotency-Key`` header to retry safely."""
    require_action("users.manage")
    org = get_or_404(Organization, g.principal.org_id)

    def invite() -> dict:
        invitation = services.invite_user(
            org, email=json.email, name=json.name, role=json.role, actor=g.principal
        )
        return InvitationOut(
            id=invitation.id,
            email=invitation.email,
            name=invitation.name,
            role=invitation.role,
            expires_at=invitation.expires_at.isoformat(),
        ).model_dump()

    return write_once(invite, 201)


def _visible(model, object_id: int):
    row = db.session.scalars(select(model).where(model.id == object_id)).one_or_none()
    if row is None:
        raise ApiError(404, "Not Found", f"No {model.__name__.lower()} {object_id} here.")
    return row


__all__ = ["access"]
