"""Market development funds in the API (``funds:read``, ``funds:write``), through the same
services as the pages: budgets, requests and the channel team's decisions on them, claims with
their proof (files sent base64-encoded) and their approval and payment. Routes with a record
id are ``guarded`` (portal.api.guard)."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Literal

from flask import g
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response
from sqlalchemy import select

from partners.funds import queries, services
from partners.funds.models import FundBudget, FundClaim, FundRequest
from portal.api import api
from portal.api.auth import require_action
from portal.api.errors import ApiError, Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.pagination import PageQuery, page_of
from portal.api.resources import ERRORS, ID, REQUIRED_TEXT, WRITE_ERRORS, action
from portal.db import get_or_404
from portal.identity.models import Organization
from portal.routes import Routes

TAGS = ["funds"]
routes = Routes()
AMOUNT = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BudgetOut(BaseModel):
    id: int
    org_id: int
    year: int
    quarter: int
    amount: str
    reserved: str
    balance: str
    currency: str


class BudgetPage(BaseModel):
    items: list[BudgetOut]
    next_cursor: str | None


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_id: int = Field(ge=1, le=2147483647, description="The reseller or distributor.")
    year: int = Field(ge=2000, le=2100)
    quarter: int = Field(ge=1, le=4)
    amount: str = Field(pattern=AMOUNT, description="In the programme's currency (EUR).")


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    activity: str = Field(min_length=1, max_length=200, pattern=REQUIRED_TEXT)
    description: str = Field("", max_length=5000)
    amount: str = Field(pattern=AMOUNT, description="Above zero, in EUR.")
    starts_on: date = Field(description="Its quarter's budget pays: this quarter or later.")
    ends_on: date


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, pattern=REQUIRED_TEXT)


class PayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=100, pattern=REQUIRED_TEXT)


class FileIn(BaseModel):
    filename: str = Field(min_length=1, max_length=200)
    content_base64: str = Field(min_length=1, description="The file, base64-encoded.")


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: str = Field(pattern=AMOUNT, description="At most the request's approved amount.")
    description: str = Field("", max_length=5000)
    files: list[FileIn] = Field(
        min_length=1, max_length=5, description="Proof of performance: at least one file."
    )


class FileOut(BaseModel):
    id: int
    filename: str
    size: int
    sha256: str


class ClaimOut(BaseModel):
    id: int
    request_id: int
    status: Literal["submitted", "approved", "rejected", "paid"]
    amount: str
    description: str
    decision_reason: str
    payment_reference: str
    paid_at: str | None
    files: list[FileOut]


class RequestOut(BaseModel):
    id: int
    org_id: int
    status: Literal["submitted", "approved", "rejected"]
    activity: str
    description: str
    amount: str
    currency: str
    starts_on: date
    ends_on: date
    quarter: str
    decision_reason: str
    claims: list[ClaimOut]


class RequestPage(BaseModel):
    items: list[RequestOut]
    next_cursor: str | None


def _budget(budget: FundBudget) -> dict:
    return BudgetOut(
        id=budget.id,
        org_id=budget.org_id,
        year=budget.year,
        quarter=budget.quarter,
        amount=str(budget.amount),
        reserved=str(budget.reserved),
        balance=str(budget.balance),
        currency=services.CURRENCY,
    ).model_dump(mode="json")


def _claim(claim: FundClaim) -> ClaimOut:
    return ClaimOut(
        id=claim.id,
        request_id=claim.request_id,
        status=claim.status,
        amount=str(claim.amount),
        description=claim.description,
        decision_reason=claim.decision_reason,
        payment_reference=claim.payment_reference,
        paid_at=claim.paid_at.isoformat() if claim.paid_at else None,
        files=[
            FileOut(id=f.id, filename=f.filename, size=f.size, sha256=f.sha256) for f in claim.files
        ],
    )


def _request(record: FundRequest, claims: list[FundClaim] | None = None) -> dict:
    """``claims``: the request's, when the caller read a page's at once."""
    year, quarter = record.quarter
    return RequestOut(
        id=record.id,
        org_id=record.org_id,
        status=record.status,
        activity=record.activity,
        description=record.description,
        amount=str(record.amount),
        currency=services.CURRENCY,
        starts_on=record.starts_on,
        ends_on=record.ends_on,
        quarter=f"{year}-Q{quarter}",
        decision_reason=record.decision_reason,
        claims=[_claim(c) for c in (queries.claims_of(record) if claims is None else claims)],
    ).model_dump(mode="json")


@routes.get("/funds/budgets")
@action("funds.view")
@api.validate(
    query=PageQuery, resp=Response(HTTP_200=BudgetPage, HTTP_422=Problem, **ERRORS), tags=TAGS
)
def list_fund_budgets(query: PageQuery):
    """Budgets the caller may see: a partner's own quarters; vendor staff every partner's. A
    quarter without a budget yet has the tier's default, made into a budget when first used."""
    require_action("funds.view")
    rows, cursor = page_of(select(FundBudget), FundBudget, query)
    return BudgetPage(items=[_budget(b) for b in rows], next_cursor=cursor)


@routes.post("/funds/budgets")
@action("funds.manage")
@api.validate(json=BudgetIn, resp=Response(HTTP_200=BudgetOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def set_fund_budget(json: BudgetIn):
    """Set a partner's budget for a quarter (the channel team); never below what approved
    requests hold of it (422)."""
    require_action("funds.manage")
    partner = get_or_404(Organization, json.org_id)
    return write_once(
        lambda: _budget(
            services.set_budget(
                partner,
                year=json.year,
                quarter=json.quarter,
                amount=json.amount,
                actor=g.principal,
            )
        )
    )


@routes.get("/funds/requests")
@action("funds.view")
@api.validate(
    query=PageQuery, resp=Response(HTTP_200=RequestPage, HTTP_422=Problem, **ERRORS), tags=TAGS
)
def list_fund_requests(query: PageQuery):
    """Fund requests the caller may see, with their claims: a partner's own; vendor staff
    every partner's."""
    require_action("funds.view")
    rows, cursor = page_of(select(FundRequest), FundRequest, query)
    claims = queries.claims_by_request([r.id for r in rows])
    return RequestPage(items=[_request(r, claims[r.id]) for r in rows], next_cursor=cursor)


@routes.get(f"/funds/requests/<{ID}:fund_request_id>")
@guarded(FundRequest, "fund_request_id", "funds.view")
@api.validate(resp=Response(HTTP_200=RequestOut, HTTP_404=Problem, **ERRORS), tags=TAGS)
def get_fund_request(fund_request_id: int):
    """One fund request with its claims."""
    return RequestOut(**_request(g.api_record))


@routes.post("/funds/requests")
@action("funds.request")
@api.validate(
    json=RequestIn,
    resp=Response(HTTP_201=RequestOut, HTTP_415=Problem, HTTP_422=Problem, **ERRORS),
    tags=TAGS,
)
def request_funds(json: RequestIn):
    """Ask for funds for an activity (a reseller or distributor); 422 past the quarter's
    balance. Send an ``Idempotency-Key`` header to retry safely."""
    require_action("funds.request")
    partner = get_or_404(Organization, g.principal.org_id)
    return write_once(
        lambda: _request(services.request_funds(partner, **json.model_dump(), actor=g.principal)),
        201,
    )


def _on_request(use_case) -> dict:
    use_case(g.api_record)
    return _request(g.api_record)


@routes.post(f"/funds/requests/<{ID}:fund_request_id>/approve")
@guarded(FundRequest, "fund_request_id", "funds.manage")
@api.validate(json=Empty, resp=Response(HTTP_200=RequestOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def approve_fund_request(fund_request_id: int, json: Empty):
    """Approve: the amount is reserved on the budget of the activity's quarter; 422 (with the
    balance) where the budget cannot cover it, 409 for a request already decided."""
    return write_once(lambda: _on_request(lambda r: services.approve_request(r, actor=g.principal)))


@routes.post(f"/funds/requests/<{ID}:fund_request_id>/reject")
@guarded(FundRequest, "fund_request_id", "funds.manage")
@api.validate(
    json=ReasonIn, resp=Response(HTTP_200=RequestOut, **WRITE_ERRORS, **ERRORS), tags=TAGS
)
def reject_fund_request(fund_request_id: int, json: ReasonIn):
    """Reject a request, saying why (the partner reads it)."""
    return write_once(
        lambda: _on_request(
            lambda r: services.reject_request(r, reason=json.reason, actor=g.principal)
        )
    )


def _decoded(files: list[FileIn]) -> list[tuple[str, bytes]]:
    try:
        return [(f.filename, base64.b64decode(f.content_base64, validate=True)) for f in files]
    except (binascii.Error, ValueError):
        raise ApiError(422, "Unprocessable Content", "A file is not valid base64.") from None


@routes.post(f"/funds/requests/<{ID}:fund_request_id>/claims")
@guarded(FundRequest, "fund_request_id", "funds.request")
@api.validate(json=ClaimIn, resp=Response(HTTP_201=RequestOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def claim_funds(fund_request_id: int, json: ClaimIn):
    """Claim what an approved request's activity cost, with proof of performance (files as
    case attachments accept: PDF, images, text, zip)."""
    files = _decoded(json.files)
    return write_once(
        lambda: _on_request(
            lambda r: services.claim_funds(
                r,
                amount=json.amount,
                description=json.description,
                files=files,
                actor=g.principal,
            )
        ),
        201,
    )


def _on_claim(use_case) -> dict:
    use_case(g.api_record)
    return _request(g.api_record.request)


@routes.post(f"/funds/claims/<{ID}:fund_claim_id>/approve")
@guarded(FundClaim, "fund_claim_id", "funds.manage")
@api.validate(json=Empty, resp=Response(HTTP_200=RequestOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def approve_fund_claim(fund_claim_id: int, json: Empty):
    """Approve a claim; what it did not use of the request goes back to the budget."""
    return write_once(lambda: _on_claim(lambda c: services.approve_claim(c, actor=g.principal)))


@routes.post(f"/funds/claims/<{ID}:fund_claim_id>/reject")
@guarded(FundClaim, "fund_claim_id", "funds.manage")
@api.validate(
    json=ReasonIn, resp=Response(HTTP_200=RequestOut, **WRITE_ERRORS, **ERRORS), tags=TAGS
)
def reject_fund_claim(fund_claim_id: int, json: ReasonIn):
    """Reject a claim, saying why; the partner may claim again."""
    return write_once(
        lambda: _on_claim(lambda c: services.reject_claim(c, reason=json.reason, actor=g.principal))
    )


@routes.post(f"/funds/claims/<{ID}:fund_claim_id>/pay")
@guarded(FundClaim, "fund_claim_id", "funds.manage")
@api.validate(json=PayIn, resp=Response(HTTP_200=RequestOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def pay_fund_claim(fund_claim_id: int, json: PayIn):
    """Record an approved claim as paid, with the payment's reference."""
    return write_once(
        lambda: _on_claim(
            lambda c: services.pay_claim(c, reference=json.reference, actor=g.principal)
        )
    )
