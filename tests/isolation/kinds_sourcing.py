"""Sourcing in the isolation matrix.

An RFQ is the vendor's; a supplier sees those addressed to it and its own offer on each, never
another supplier's offer. The matrix's home partner is a reseller: it is asked for nothing, so
every RFQ and offer is foreign to it (and to customers)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from partners.sourcing.models import Rfq, SupplierOffer, SupplierOfferLine
from portal.clock import utcnow
from tests.factories import make_org
from tests.isolation.world import World, record_kind


def _seed(db, w: World) -> None:
    supplier = make_org(db, "supplier", name="Foreign Supplier ZZQS")
    rfq = Rfq(
        org_id=w.vendor.id,
        number="RFQ-2026-90001",
        title="Secret sourcing ZZQF",
        needs="Confidential needs ZZQF",
        respond_by=(utcnow() + timedelta(days=7)).date(),
        status="open",
    )
    db.add(rfq)
    db.flush()
    offer = SupplierOffer(
        rfq_id=rfq.id,
        org_id=supplier.id,
        status="submitted",
        currency="EUR",
        total=Decimal("10.00"),
        note="Foreign offer note ZZQO",
        pdf=b"%PDF-1.4 matrix",
        pdf_name="zzqo-offer.pdf",
        submitted_at=utcnow(),
    )
    db.add(offer)
    db.flush()
    db.add(
        SupplierOfferLine(
            offer_id=offer.id,
            org_id=supplier.id,
            description="Foreign line ZZQL",
            quantity=1,
            unit_price=Decimal("10.00"),
        )
    )
    db.flush()
    w.markers += [
        "Foreign Supplier ZZQS",
        "Secret sourcing ZZQF",
        "Foreign offer note ZZQO",
        "Foreign line ZZQL",
    ]


def _foreign(model):
    def foreign(db, w: World, role) -> list[int]:
        if role.audience == "vendor":
            return []  # vendor staff see every RFQ and offer
        return [r.id for r in db.query(model)]

    return foreign


def _own(model):
    def own(db, w: World, role) -> int | None:
        if role.audience != "vendor":
            return None  # the home partner is a reseller and the customer is asked nothing
        return db.query(model).first().id

    return own


record_kind("rfq_id", foreign=_foreign(Rfq), own=_own(Rfq), seed=_seed)
record_kind("offer_id", foreign=_foreign(SupplierOffer), own=_own(SupplierOffer))
