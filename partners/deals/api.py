"""Deal registrations in the API (``deals:read``, ``deals:write``), through the same services
as the pages: register, submit, the channel manager's decisions, the partner's one extension
request, and the outcome. Routes with a registration id are ``guarded`` (portal.api.guard)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask import g
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response
from sqlalchemy import select

from partners.deals import queries, services
from partners.deals.models import DealRegistration
from partners.deals.services import CURRENCIES
from portal.api import api
from portal.api.auth import require_action
from portal.api.errors import Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.pagination import PageQuery, page_of
from portal.api.resources import ERRORS, ID, REQUIRED_TEXT, WRITE_ERRORS, action
from portal.db import get_or_404
from portal.identity.models import Organization
from portal.routes import Routes

TAGS = ["deals"]
routes = Routes()


class DealIn(BaseModel):
    customer_name: str = Field(min_length=1, max_length=200)
    customer_domain: str = Field(min_length=3, max_length=253)
    contact_name: str = Field("", max_length=200)
    contact_email: str = Field("", max_length=254)
    products: list[str] = Field(min_length=1, max_length=20)
    value: str = Field(pattern=r"^[0-9]{1,10}(\.[0-9]{1,2})?$", description="Above zero.")
    currency: Literal[CURRENCIES] = Field(description="ISO 4217 code.")
    expected_close: date
    notes: str = Field("", max_length=5000)
    submit: bool = Field(True, description="Submit for review at once (else a draft).")


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protection_days: int | None = Field(
        None, ge=1, le=730, description="Empty: the partner's tier's protection days."
    )


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, pattern=REQUIRED_TEXT)


class MessageIn(BaseModel):
    message: str = Field(min_length=1, max_length=2000, pattern=REQUIRED_TEXT)


class ExtendIn(BaseModel):
    days: int = Field(ge=1, le=365)


class ExtensionRequestIn(BaseModel):
    days: int = Field(ge=1, le=365)
    reason: str = Field(min_length=1, max_length=2000, pattern=REQUIRED_TEXT)


class CloseIn(BaseModel):
    outcome: Literal["won", "lost"]


class ExtensionOut(BaseModel):
    requested_at: str
    days: int
    reason: str
    outcome: Literal["pending", "granted", "declined"]
    response: str


class DealOut(BaseModel):
    id: int
    number: str
    status: str
    customer_name: str
    customer_domain: str
    products: list[str]
    value: str
    currency: str
    expected_close: date
    expires_at: str | None
    decision_reason: str
    extension: ExtensionOut | None
    under_conflict_review: bool = Field(
        description="Awaiting the channel team's decision while a possible conflict with another "
        "registration, or with a deal the vendor works itself, is looked into. Who or what it "
        "conflicts with is the vendor's to know: a partner learns only this."
    )


class DealPage(BaseModel):
    items: list[DealOut]
    next_cursor: str | None


def _out(deal: DealRegistration, conflict_review: set[int] | None = None) -> dict:
    """The registration as the API shows it; ``conflict_review``: the ids under conflict review
    among a page's registrations (read once for the page), else read for this one."""
    if conflict_review is None:
        conflict_review = queries.under_conflict_review([deal])
    return DealOut(
        id=deal.id,
        number=deal.number,
        status=deal.status,
        customer_name=deal.customer_name,
        customer_domain=deal.customer_domain,
        products=deal.products,
        value=str(deal.value),
        currency=deal.currency,
        expected_close=deal.expected_close,
        expires_at=deal.expires_at.isoformat() if deal.expires_at else None,
        decision_reason=deal.decision_reason,
        extension=_extension(deal),
        under_conflict_review=deal.id in conflict_review,
    ).model_dump(mode="json")


def _extension(deal: DealRegistration) -> ExtensionOut | None:
    if deal.extension_requested_at is None:
        return None
    return ExtensionOut(
        requested_at=deal.extension_requested_at.isoformat(),
        days=deal.extension_requested_days,
        reason=deal.extension_request_reason,
        outcome=deal.extension_outcome or "pending",
        response=deal.extension_response,
    )


@routes.get("/deals")
@action("deals.view")
@api.validate(
    query=PageQuery, resp=Response(HTTP_200=DealPage, HTTP_422=Problem, **ERRORS), tags=TAGS
)
def list_deals(query: PageQuery):
    """Deal registrations the caller may see: a partner's own; vendor staff all. Each says
    whether it is ``under_conflict_review`` (never with whom)."""
    require_action("deals.view")
    rows, cursor = page_of(select(DealRegistration), DealRegistration, query)
    conflict_review = queries.under_conflict_review(rows)
    return DealPage(items=[_out(d, conflict_review) for d in rows], next_cursor=cursor)


@routes.get(f"/deals/<{ID}:deal_id>")
@guarded(DealRegistration, "deal_id", "deals.view")
@api.validate(resp=Response(HTTP_200=DealOut, HTTP_404=Problem, **ERRORS), tags=TAGS)
def get_deal(deal_id: int):
    """One registration; ``under_conflict_review`` is true while a possible conflict with
    another registration or a direct deal of the vendor is looked into before the decision."""
    return DealOut(**_out(g.api_record))


@routes.post("/deals")
@action("deals.register")
@api.validate(
    json=DealIn,
    resp=Response(HTTP_201=DealOut, HTTP_415=Problem, HTTP_422=Problem, **ERRORS),
    tags=TAGS,
)
def register_deal(json: DealIn):
    """Register a deal for the caller's organisation (a reseller or distributor); conflicts
    are checked on submit. Send an ``Idempotency-Key`` header to retry safely."""
    require_action("deals.register")
    partner = get_or_404(Organization, g.principal.org_id)

    def register():
        deal = services.register_deal(
            partner, json.model_dump(exclude={"submit"}), submit=json.submit, actor=g.principal
        )
        return _out(deal)

    return write_once(register, 201)


def _transition(use_case) -> dict:
    use_case(g.api_record)
    return _out(g.api_record)


@routes.post(f"/deals/<{ID}:deal_id>/submit")
@guarded(DealRegistration, "deal_id", "deals.register")
@api.validate(json=Empty, resp=Response(HTTP_200=DealOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def submit_deal(deal_id: int, json: Empty):
    """The registering partner submits a draft (or an edited one the channel team asked about)
    for review; conflict detection runs. Its answer says "submitted" and, where a possible
    conflict was found, ``under_conflict_review`` (never with whom)."""
    return write_once(
        lambda: _transition(lambda deal: services.submit_deal(deal, actor=g.principal))
    )


@routes.post(f"/deals/<{ID}:deal_id>/pass-on")
@guarded(DealRegistration, "deal_id", "deals.view")  # the service checks deals.first_review
@api.validate(json=Empty, resp=Response(HTTP_200=DealOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def pass_on(deal_id: int, json: Empty):
    """A distributor's first approval of its reseller's registration (status
    ``distributor_review``, where the programme asks for it): on to the vendor's review."""
    return write_once(
        lambda: _transition(lambda deal: services.pass_to_vendor(deal, actor=g.principal))
    )


@routes.post(f"/deals/<{ID}:deal_id>/first-reject")
@guarded(DealRegistration, "deal_id", "deals.view")  # the service checks deals.first_review
@api.validate(json=ReasonIn, resp=Response(HTTP_200=DealOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def first_reject(deal_id: int, json: ReasonIn):
    """A distributor rejects its reseller's registration before the vendor sees it, saying why
    (the reseller reads it)."""
    return write_once(
        lambda: _transition(
            lambda deal: services.reject_first_review(deal, reason=json.reason, actor=g.principal)
        )
    )


@routes.post(f"/deals/<{ID}:deal_id>/approve")
@guarded(DealRegistration, "deal_id", "deals.review")
@api.validate(json=ApproveIn, resp=Response(HTTP_200=DealOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def approve_deal(deal_id: int, json: ApproveIn):
    """Approve a submitted registration: protected for ``protection_days`` or the partner's
    tier's days. 409 for a registration that is not submitted, one with a possible conflict
    still to settle (``/settle``), or one whose customer domain another registration's
    approval took meanwhile (one protection per domain)."""
    return write_once(
        lambda: _transition(
            lambda deal: services.approve_deal(
                deal, protection_days=json.protection_days, actor=g.principal
            )
        )
    )


@routes.post(f"/deals/<{ID}:deal_id>/reject")
@guarded(DealRegistration, "deal_id", "deals.review")
@api.validate(json=ReasonIn, resp=Response(HTTP_200=DealOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def reject_deal(deal_id: int, json: ReasonIn):
    """Reject a submitted registration, saying why (the partner reads it)."""
    return write_once(
        lambda: _transition(
            lambda deal: services.reject_deal(deal, reason=json.reason, actor=g.principal)
        )
    )


@routes.post(f"/deals/<{ID}:deal_id>/request-info")
@guarded(DealRegistration, "deal_id", "deals.review")
@api.validate(json=MessageIn, resp=Response(HTTP_200=DealOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def request_information(deal_id: int, json: MessageIn):
    """Ask the partner for more information; it edits and submits again."""
    return write_once(
        lambda: _transition(
            lambda deal: services.request_information(deal, message=json.message, actor=g.principal)
        )
    )


@routes.post(f"/deals/<{ID}:deal_id>/extension-request")
@guarded(DealRegistration, "deal_id", "deals.register")
@api.validate(
    json=ExtensionRequestIn, resp=Response(HTTP_200=DealOut, **WRITE_ERRORS, **ERRORS), tags=TAGS
)
def request_extension(deal_id: int, json: ExtensionRequestIn):
    """The registering partner asks, once, for longer protection of an approved registration."""
    return write_once(
        lambda: _transition(
            lambda deal: services.request_extension(
                deal, days=json.days, reason=json.reason, actor=g.principal
            )
        )
    )


@routes.post(f"/deals/<{ID}:deal_id>/extend")
@guarded(DealRegistration, "deal_id", "deals.review")
@api.validate(json=ExtendIn, resp=Response(HTTP_200=DealOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def extend_protection(deal_id: int, json: ExtendIn):
    """Extend an approved registration's protection (granting the partner's request, if one
    waits)."""
    return write_once(
        lambda: _transition(
            lambda deal: services.extend_protection(deal, days=json.days, actor=g.principal)
        )
    )


@routes.post(f"/deals/<{ID}:deal_id>/decline-extension")
@guarded(DealRegistration, "deal_id", "deals.review")
@api.validate(json=ReasonIn, resp=Response(HTTP_200=DealOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def decline_extension(deal_id: int, json: ReasonIn):
    """Decline the partner's pending extension request, saying why."""
    return write_once(
        lambda: _transition(
            lambda deal: services.decline_extension(deal, reason=json.reason, actor=g.principal)
        )
    )


@routes.post(f"/deals/<{ID}:deal_id>/close")
@guarded(DealRegistration, "deal_id", "deals.close")
@api.validate(json=CloseIn, resp=Response(HTTP_200=DealOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def close_deal(deal_id: int, json: CloseIn):
    """Record an approved registration as won or lost (the partner or vendor staff)."""
    return write_once(
        lambda: _transition(
            lambda deal: services.close_deal(deal, outcome=json.outcome, actor=g.principal)
        )
    )
