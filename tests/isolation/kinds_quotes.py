"""Quotes and the catalogue in the isolation matrix.

A quote belongs to its recipient: a partner or customer sees its own sent quotes, never another
organisation's (not even those of a customer the partner manages), and never a draft, even one
addressed to it. The catalogue is the vendor's (global): its pages are for vendor staff."""

from __future__ import annotations

from decimal import Decimal

from partners.catalogue.models import Product
from partners.quotes.models import Quote, QuoteRequest
from tests.factories import make_deal, make_quote
from tests.isolation.world import World, record_kind

PDF = b"%PDF-1.4 matrix placeholder"


def _seed(db, w: World) -> None:
    for org in w.foreign:
        make_quote(db, org, f"Foreign quote ZZQQ {org.id}", "viewed")
        w.markers += [f"Foreign quote ZZQQ {org.id}", f"Line of Foreign quote ZZQQ {org.id}"]
    for audience in ("partner", "customer"):
        make_quote(db, w.home[audience], f"Home {audience} quote", "viewed")
        make_quote(db, w.home[audience], f"Unsent draft ZZQR {audience}", status="draft")
        w.markers.append(f"Unsent draft ZZQR {audience}")  # recipients never see drafts
    db.add(Product(sku="MX-1", name="Matrix product", list_price=Decimal("1"), currency="EUR"))
    for org in [*(o for o in w.foreign if o.kind == "reseller"), w.home["partner"]]:
        deal = make_deal(db, org, f"Quote request customer {org.id}", status="approved")
        db.add(QuoteRequest(org_id=org.id, deal_id=deal.id, message=f"Request of {org.id}"))
        if org in w.foreign:
            w.markers.append(f"Request of {org.id}")
    db.flush()


def _foreign(db, w: World, role) -> list[int]:
    if role.audience == "vendor":
        return []  # vendor staff see every quote
    home = w.home[role.audience].id
    return [
        q.id for q in db.query(Quote).filter((Quote.org_id != home) | (Quote.status == "draft"))
    ]


def _own(db, w: World, role) -> int | None:
    audience = "partner" if role.audience == "vendor" else role.audience
    return (
        db.query(Quote)
        .filter(Quote.org_id == w.home[audience].id, Quote.status == "viewed")
        .first()
        .id
    )


record_kind("quote_id", foreign=_foreign, own=_own, seed=_seed)
record_kind(
    "product_id",  # the vendor's catalogue: no organisation's, so nothing foreign
    foreign=lambda db, w, role: [],
    own=lambda db, w, role: db.query(Product).filter_by(sku="MX-1").first().id,
)


def _foreign_requests(db, w: World, role) -> list[int]:
    if role.audience == "vendor":
        return []  # vendor staff answer every partner's requests
    home = w.home[role.audience].id
    return [r.id for r in db.query(QuoteRequest).filter(QuoteRequest.org_id != home)]


def _own_request(db, w: World, role) -> int | None:
    if role.audience == "customer":
        return None  # customers ask for no quotes
    return db.query(QuoteRequest).filter_by(org_id=w.home["partner"].id).first().id


record_kind("request_id", foreign=_foreign_requests, own=_own_request)
