"""Deal registrations in the API (``deals:read``, ``deals:write``), through the same services
as the pages."""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask import g
from pydantic import BaseModel, Field
from spectree import Response
from sqlalchemy import select

from partners.deals import services
from partners.deals.models import DealRegistration
from partners.deals.services import CURRENCIES
from portal.api import api, bp
from portal.api.auth import require_action
from portal.api.errors import ApiError, Problem
from portal.api.pagination import PageQuery, page_of
from portal.api.resources import ERRORS, ID, action
from portal.db import db, get_or_404
from portal.errors import DomainError
from portal.identity.models import Organization


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


class DealPage(BaseModel):
    items: list[DealOut]
    next_cursor: str | None


def _out(deal: DealRegistration) -> dict:
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
    ).model_dump(mode="json")


def _visible(deal_id: int) -> DealRegistration:
    deal = db.session.scalars(
        select(DealRegistration).where(DealRegistration.id == deal_id)
    ).one_or_none()
    if deal is None:
        raise ApiError(404, "Not Found", f"No deal registration {deal_id} here.")
    return deal


@bp.get("/deals")
@action("deals.view")
@api.validate(
    query=PageQuery, resp=Response(HTTP_200=DealPage, HTTP_422=Problem, **ERRORS), tags=["deals"]
)
def list_deals(query: PageQuery):
    """Deal registrations the caller may see: a partner's own; vendor staff all."""
    require_action("deals.view")
    rows, cursor = page_of(select(DealRegistration), DealRegistration, query)
    return DealPage(items=[_out(d) for d in rows], next_cursor=cursor)


@bp.get(f"/deals/<{ID}:deal_id>")
@action("deals.view")
@api.validate(resp=Response(HTTP_200=DealOut, HTTP_404=Problem, **ERRORS), tags=["deals"])
def get_deal(deal_id: int):
    deal = _visible(deal_id)
    require_action("deals.view")
    return DealOut(**_out(deal))


@bp.post("/deals")
@action("deals.register")
@api.validate(
    json=DealIn,
    resp=Response(HTTP_201=DealOut, HTTP_415=Problem, HTTP_422=Problem, **ERRORS),
    tags=["deals"],
)
def register_deal(json: DealIn):
    """Register a deal for the caller's organisation (a reseller or distributor); conflicts
    are checked on submit. Send an ``Idempotency-Key`` header to retry safely."""
    from portal.api.idempotency import run_once

    require_action("deals.register")
    partner = get_or_404(Organization, g.principal.org_id)

    def register():
        try:
            deal = services.register_deal(
                partner, json.model_dump(exclude={"submit"}), submit=json.submit, actor=g.principal
            )
        except DomainError as error:
            raise ApiError(
                error.status_code,
                "Unprocessable Content" if error.status_code == 422 else "Refused",
                error.message,
            ) from None
        return _out(deal), 201

    response = run_once(register)
    db.session.commit()
    return response
