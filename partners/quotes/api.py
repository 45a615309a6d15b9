"""Quotes in the API (``quotes:read``; ``quotes:write`` to accept or decline as the recipient),
through the same services as the pages."""

from __future__ import annotations

from datetime import date

from flask import g, request
from pydantic import BaseModel, Field
from spectree import Response
from sqlalchemy import select

from partners.quotes import services
from partners.quotes.models import Quote
from portal.api import api, auth, bp
from portal.api.auth import require_action
from portal.api.errors import ApiError, Problem
from portal.api.pagination import PageQuery, page_of
from portal.api.resources import ERRORS, ID, action
from portal.db import db
from portal.errors import DomainError


class LineOut(BaseModel):
    position: int
    sku: str
    name: str
    quantity: int
    unit_price: str
    tier_discount_percent: str
    discount_percent: str
    tax_rate_percent: str
    net_amount: str
    tax_amount: str


class QuoteOut(BaseModel):
    id: int
    number: str
    version: int = Field(description="The version of the quote (1, 2 …) this row is.")
    status: str
    title: str
    recipient_org_id: int
    currency: str
    valid_until: date
    subtotal: str
    tax_total: str
    total: str
    pdf_sha256: str | None = Field(description="SHA-256 of the stored PDF (sent versions).")
    superseded_by_id: int | None
    decided_at: str | None
    signer_name: str
    lines: list[LineOut]


class QuotePage(BaseModel):
    items: list[QuoteOut]
    next_cursor: str | None


class AcceptIn(BaseModel):
    full_name: str = Field(min_length=2, max_length=200)
    consent: bool = Field(description="Must be true: the recipient accepts this version.")
    pdf_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the PDF the person was shown."
    )


class DeclineIn(BaseModel):
    reason: str = Field(min_length=1, max_length=5000)


def _out(quote: Quote) -> dict:
    return QuoteOut(
        id=quote.id,
        number=quote.number,
        version=quote.revision,
        status=quote.status,
        title=quote.title,
        recipient_org_id=quote.org_id,
        currency=quote.currency,
        valid_until=quote.valid_until,
        subtotal=str(quote.subtotal),
        tax_total=str(quote.tax_total),
        total=str(quote.total),
        pdf_sha256=quote.pdf_sha256,
        superseded_by_id=quote.superseded_by_id,
        decided_at=quote.decided_at.isoformat() if quote.decided_at else None,
        signer_name=quote.signer_name,
        lines=[
            LineOut(
                position=ln.position,
                sku=ln.sku,
                name=ln.name,
                quantity=ln.quantity,
                unit_price=str(ln.unit_price),
                tier_discount_percent=str(ln.tier_discount_percent),
                discount_percent=str(ln.discount_percent),
                tax_rate_percent=str(ln.tax_rate_percent),
                net_amount=str(ln.net_amount),
                tax_amount=str(ln.tax_amount),
            )
            for ln in quote.lines
        ],
    ).model_dump(mode="json")


def _visible(quote_id: int) -> Quote:
    quote = db.session.scalars(select(Quote).where(Quote.id == quote_id)).one_or_none()
    if quote is None:
        raise ApiError(404, "Not Found", f"No quote {quote_id} here.")
    return quote


# Answers check the caller's role and the record before the body is even read, so a role that
# may not answer gets 403 and a foreign quote 404 whatever is sent (as the leads API does).
_ANSWERS = {"api.accept_quote", "api.decline_quote"}


@bp.url_value_preprocessor
def _check_answer_first(endpoint: str | None, values: dict | None) -> None:
    if endpoint not in _ANSWERS or not values:
        return
    auth.authenticate()
    require_action("quotes.accept")
    g.api_quote = _visible(values["quote_id"])


def _answer(answer) -> None:
    try:
        answer()
    except DomainError as error:
        db.session.rollback()
        raise ApiError(
            error.status_code,
            "Unprocessable Content" if error.status_code == 422 else "Refused",
            error.message,
        ) from None


@bp.get("/quotes")
@action("quotes.view")
@api.validate(
    query=PageQuery, resp=Response(HTTP_200=QuotePage, HTTP_422=Problem, **ERRORS), tags=["quotes"]
)
def list_quotes(query: PageQuery):
    """Quote versions the caller may see: a recipient's own, once sent; vendor staff all."""
    require_action("quotes.view")
    rows, cursor = page_of(select(Quote), Quote, query)
    return QuotePage(items=[_out(q) for q in rows], next_cursor=cursor)


@bp.get(f"/quotes/<{ID}:quote_id>")
@action("quotes.view")
@api.validate(resp=Response(HTTP_200=QuoteOut, HTTP_404=Problem, **ERRORS), tags=["quotes"])
def get_quote(quote_id: int):
    """One version of a quote with its lines and the SHA-256 of its stored PDF."""
    quote = _visible(quote_id)
    require_action("quotes.view")
    return QuoteOut(**_out(quote))


@bp.post(f"/quotes/<{ID}:quote_id>/accept")
@action("quotes.accept")
@api.validate(
    json=AcceptIn,
    resp=Response(
        HTTP_200=QuoteOut,
        HTTP_404=Problem,
        HTTP_409=Problem,
        HTTP_415=Problem,
        HTTP_422=Problem,
        **ERRORS,
    ),
    tags=["quotes"],
)
def accept_quote(quote_id: int, json: AcceptIn):
    """Accept a sent version as its recipient: the typed full name, consent, and the SHA-256
    of the PDF shown (it must be this version's). Refused for expired or superseded versions."""
    quote = g.api_quote
    _answer(
        lambda: services.accept_quote(
            quote,
            full_name=json.full_name,
            consent=json.consent,
            pdf_sha256=json.pdf_sha256,
            ip=request.remote_addr,
            user_agent=request.headers.get("User-Agent", ""),
            actor=g.principal,
        )
    )
    db.session.commit()
    return QuoteOut(**_out(quote))


@bp.post(f"/quotes/<{ID}:quote_id>/decline")
@action("quotes.accept")
@api.validate(
    json=DeclineIn,
    resp=Response(
        HTTP_200=QuoteOut,
        HTTP_404=Problem,
        HTTP_409=Problem,
        HTTP_415=Problem,
        HTTP_422=Problem,
        **ERRORS,
    ),
    tags=["quotes"],
)
def decline_quote(quote_id: int, json: DeclineIn):
    """Decline a sent version as its recipient, saying why."""
    quote = g.api_quote
    _answer(
        lambda: services.decline_quote(
            quote,
            reason=json.reason,
            ip=request.remote_addr,
            user_agent=request.headers.get("User-Agent", ""),
            actor=g.principal,
        )
    )
    db.session.commit()
    return QuoteOut(**_out(quote))
