"""Cases in the API (``cases:read``, ``cases:write``), through the same services and the same
wall as the pages: a customer's or partner's token never sees internal notes."""

from __future__ import annotations

from typing import Literal

from flask import g
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response
from sqlalchemy import select

from portal.api import api
from portal.api.auth import require_action
from portal.api.errors import ApiError, Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.pagination import PageQuery, page_of
from portal.api.resources import ERRORS, ID, action
from portal.db import db
from portal.identity.models import Organization
from portal.product_lines import PRODUCT_LINES
from portal.routes import Routes
from selfservice.cases import queries, services
from selfservice.cases.models import PRIORITIES, STATUSES, Case

routes = Routes()
LINE_CODES = tuple(PRODUCT_LINES)


class CaseIn(BaseModel):
    model_config = ConfigDict(strict=True)  # false is no organisation id, "yes" no boolean

    subject: str = Field(min_length=3, max_length=200)
    description: str = Field(min_length=1, max_length=20000, description="Markdown.")
    priority: Literal[PRIORITIES] = "normal"
    product_id: int | None = Field(
        None,
        description="The catalogue product the case is about (an active one); its product "
        "line goes with it.",
    )
    product_line: Literal[LINE_CODES] | None = Field(
        None,
        description="The product line the case is about (a code). With product_id it must be "
        "that product's line, or be left out.",
    )
    product: str = Field(
        "",
        max_length=100,
        description="The product in the requester's own words (a model, a version). Sent "
        "without product_id and product_line, words that are exactly a product's SKU or name, or "
        "a line's code or name, are read as that product or line.",
    )
    org_id: int | None = Field(
        None, description="Vendor staff only: the organisation the case is for."
    )


class CommentIn(BaseModel):
    model_config = ConfigDict(strict=True)

    body: str = Field(min_length=1, max_length=20000, description="Markdown.")
    internal: bool = Field(False, description="An internal note (support agents only).")


class CommentOut(BaseModel):
    id: int
    body: str
    internal: bool
    by_agent: bool
    created_at: str


class TargetOut(BaseModel):
    state: Literal["running", "paused", "met", "breached"]
    due_at: str | None
    business_hours_left: float | None = Field(
        None, description="In a case's detail only (lists show the stored state)."
    )


class CaseOut(BaseModel):
    id: int
    number: str
    subject: str
    description: str
    org_id: int
    priority: str
    status: Literal[STATUSES]
    product_id: int | None = Field(description="The catalogue product the case is about.")
    product_line: str | None = Field(
        description="The product line the case is about: its product's, or its own."
    )
    product: str = Field(description="The product in the requester's own words.")
    created_at: str
    updated_at: str
    sla: dict[str, TargetOut] = Field(
        description="Per SLA target (first_response, next_response, resolution). "
        "next_response is the agent's next reply after the customer's: in a list, present "
        "while one is awaited; in a case's detail, the latest such wait's clock."
    )


class CaseDetail(CaseOut):
    comments: list[CommentOut]


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


def _stored_sla(case: Case) -> dict:
    """The SLA state as stored on the case (no history query: lists stay one query)."""
    if case.sla_policy_id is None:
        return {}
    # Next response: the reply awaited now, if any (its clock's wait is read on the case's page).
    awaited = case.next_response_due_at is not None or case.next_response_breached
    stops = {
        "first_response": case.first_responded_at,
        **({"next_response": None} if awaited else {}),
        "resolution": case.solved_at,
    }
    out = {}
    for target, stopped in stops.items():
        due = getattr(case, f"{target}_due_at")
        if getattr(case, f"{target}_breached"):
            state = "breached"
        elif stopped is not None:
            state = "met"
        elif due is not None:  # refresh_sla stores no due time while a clock is paused
            state = "running"
        else:
            state = "paused"
        out[target] = {
            "state": state,
            "due_at": due.isoformat() if due and state == "running" else None,
        }
    return out


def _out(case: Case, detailed: bool = False) -> dict:
    return {
        "id": case.id,
        "number": case.number,
        "subject": case.subject,
        "description": case.description,
        "org_id": case.org_id,
        "priority": case.priority,
        "status": case.status,
        "product_id": case.product_id,
        "product_line": case.product_line,
        "product": case.product,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "sla": _stored_sla(case)
        if not detailed
        else {
            target: {
                "state": clk.state,
                "due_at": clk.due_at.isoformat() if clk.due_at else None,
                "business_hours_left": round(clk.remaining.total_seconds() / 3600, 2),
            }
            for target, clk in services.clocks(case).items()
        },
    }


def _comment(c) -> dict:
    return {
        "id": c.id,
        "body": c.body,
        "internal": c.internal,
        "by_agent": c.by_agent,
        "created_at": c.created_at.isoformat(),
    }


@routes.get("/cases")
@action("cases.view")
@api.validate(
    query=PageQuery, resp=Response(HTTP_200=CasePage, HTTP_422=Problem, **ERRORS), tags=["cases"]
)
def list_cases(query: PageQuery):
    """Cases the caller may see: its own (or its organisation's when shared, or all of them for
    an admin), its managed customers' for a partner, all for support agents."""
    require_action("cases.view")
    rows, cursor = page_of(queries.cases(), Case, query)
    return CasePage(items=[_out(c) for c in rows], next_cursor=cursor)


@routes.get(f"/cases/<{ID}:case_id>")
@guarded(Case, "case_id", "cases.view")
@api.validate(resp=Response(HTTP_200=CaseDetail, HTTP_404=Problem, **ERRORS), tags=["cases"])
def get_case(case_id: int):
    """One case with its conversation (internal notes only for support agents)."""
    case = g.api_record
    return CaseDetail(
        **_out(case, detailed=True), comments=[_comment(c) for c in queries.comments_of(case)]
    )


@routes.post("/cases")
@action("cases.open")
@api.validate(
    json=CaseIn,
    resp=Response(HTTP_201=CaseOut, HTTP_415=Problem, HTTP_422=Problem, **ERRORS),
    tags=["cases"],
)
def open_case(json: CaseIn):
    """Open a case for the caller's organisation (vendor staff: for ``org_id``), about a
    catalogue product (``product_id``) or a product line (``product_line``); an unknown or
    withdrawn product, or a line that is not the product's, is 422 with the reason. Send an
    ``Idempotency-Key`` header to retry safely."""
    require_action("cases.open")
    org_id = json.org_id if g.principal.is_vendor_staff and json.org_id else g.principal.org_id
    org = db.session.scalars(select(Organization).where(Organization.id == org_id)).one_or_none()
    if org is None:
        raise ApiError(422, "Unprocessable Content", "No such organisation here.")

    def create():
        case = services.open_case(org, json.model_dump(exclude={"org_id"}), actor=g.principal)
        return _out(case)

    return write_once(create, 201)


@routes.post(f"/cases/<{ID}:case_id>/comments")
@guarded(Case, "case_id", "cases.open")  # a write: cases:write (agents' role has it too)
@api.validate(
    json=CommentIn,
    resp=Response(
        HTTP_201=CommentOut, HTTP_404=Problem, HTTP_409=Problem, HTTP_415=Problem,
        HTTP_422=Problem, **ERRORS,
    ),
    tags=["cases"],
)  # fmt: skip
def add_comment(case_id: int, json: CommentIn):
    """Reply on a case (a customer's reply reopens a pending or solved case); support agents may
    write internal notes. A partner follows its customers' cases read only (403)."""
    case = g.api_record

    def reply():
        comment = services.add_comment(case, json.body, internal=json.internal, actor=g.principal)
        return _comment(comment)

    return write_once(reply, 201)
