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
from portal.api import api
from portal.api.auth import require_action
from portal.api.errors import Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.pagination import PageQuery, page_of
from portal.api.resources import ERRORS, ID, action
from portal.routes import Routes

routes = Routes()


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
    via_org_id: int | None = Field(
        None, description="The distributor a quote to its reseller goes through (two tiers)."
    )
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
        via_org_id=quote.via_org_id,
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


@routes.get("/quotes")
@action("quotes.view")
@api.validate(
    query=PageQuery, resp=Response(HTTP_200=QuotePage, HTTP_422=Problem, **ERRORS), tags=["quotes"]
)
def list_quotes(query: PageQuery):
    """Quote versions the caller may see: a recipient's own, once sent; vendor staff all."""
    require_action("quotes.view")
    rows, cursor = page_of(select(Quote), Quote, query)
    return QuotePage(items=[_out(q) for q in rows], next_cursor=cursor)


@routes.get(f"/quotes/<{ID}:quote_id>")
@guarded(Quote, "quote_id", "quotes.view")
@api.validate(resp=Response(HTTP_200=QuoteOut, HTTP_404=Problem, **ERRORS), tags=["quotes"])
def get_quote(quote_id: int):
    """One version of a quote with its lines and the SHA-256 of its stored PDF."""
    return QuoteOut(**_out(g.api_record))


@routes.post(f"/quotes/<{ID}:quote_id>/accept")
@guarded(Quote, "quote_id", "quotes.accept")
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
    quote = g.api_record

    def accept():
        services.accept_quote(
            quote,
            full_name=json.full_name,
            consent=json.consent,
            pdf_sha256=json.pdf_sha256,
            user_agent=request.headers.get("User-Agent", ""),
            actor=g.principal,
        )
        return _out(quote)

    return write_once(accept)


@routes.post(f"/quotes/<{ID}:quote_id>/decline")
@guarded(Quote, "quote_id", "quotes.accept")
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
    quote = g.api_record

    def decline():
        services.decline_quote(
            quote,
            reason=json.reason,
            user_agent=request.headers.get("User-Agent", ""),
            actor=g.principal,
        )
        return _out(quote)

    return write_once(decline)
