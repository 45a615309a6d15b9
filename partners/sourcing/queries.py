"""Read side of sourcing, through the wall: the vendor's RFQs, a supplier's offers, the
suppliers one may ask."""

from __future__ import annotations

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import selectinload

from partners.sourcing.models import OfferStatus, Rfq, RfqStatus, SupplierOffer
from portal import access
from portal.db import db
from portal.identity.models import Organization
from portal.identity.queries import supplier_relationship_label
from portal.web import choices


def rfqs() -> Select:
    """Every RFQ the principal sees: open ones first, the soonest due first."""
    return select(Rfq).order_by(
        case((Rfq.status == RfqStatus.open, 0), else_=1), Rfq.respond_by, Rfq.id.desc()
    )


def offer_counts(rfq_ids: list[int]) -> dict[int, dict[str, int]]:
    """``{rfq id: {status: number of offers}}`` for the RFQs of one page (one grouped query)."""
    counts: dict[int, dict[str, int]] = {i: {} for i in rfq_ids}
    if not rfq_ids:
        return counts
    rows = db.session.execute(
        select(SupplierOffer.rfq_id, SupplierOffer.status, func.count())
        .where(SupplierOffer.rfq_id.in_(rfq_ids))
        .group_by(SupplierOffer.rfq_id, SupplierOffer.status)
    )
    for rfq_id, status, n in rows:
        counts[rfq_id][status] = n
    return counts


def offers_of(rfq: Rfq) -> list[SupplierOffer]:
    """The offers of one RFQ with their lines and suppliers, by supplier name."""
    return db.session.scalars(
        select(SupplierOffer)
        .join(Organization, Organization.id == SupplierOffer.org_id)
        .where(SupplierOffer.rfq_id == rfq.id)
        .options(selectinload(SupplierOffer.lines), selectinload(SupplierOffer.supplier))
        .order_by(Organization.name)
    ).all()


def my_offers() -> Select:
    """A supplier's offers (the wall keeps them to its own), those waiting for it first."""
    return (
        select(SupplierOffer)
        .join(Rfq, Rfq.id == SupplierOffer.rfq_id)
        .options(selectinload(SupplierOffer.rfq))
        .order_by(
            case((SupplierOffer.status == OfferStatus.requested, 0), else_=1),
            Rfq.respond_by.desc(),
            SupplierOffer.id.desc(),
        )
    )


def waiting_for_supplier(limit: int = 5) -> tuple[int, list[SupplierOffer]]:
    """The supplier's offers still to send on open RFQs: how many, and the first few."""
    where = (SupplierOffer.status == OfferStatus.requested, Rfq.status == RfqStatus.open)
    base = select(SupplierOffer).join(Rfq, Rfq.id == SupplierOffer.rfq_id).where(*where)
    count = db.session.scalar(select(func.count()).select_from(base.subquery()))
    first = db.session.scalars(
        base.options(selectinload(SupplierOffer.rfq)).order_by(Rfq.respond_by).limit(limit)
    ).all()
    return count or 0, first


def to_decide(limit: int = 5) -> tuple[int, list[SupplierOffer]]:
    """Submitted offers waiting for the vendor's decision: how many, and the oldest few."""
    base = select(SupplierOffer).where(SupplierOffer.status == OfferStatus.submitted)
    count = db.session.scalar(select(func.count()).select_from(base.subquery()))
    first = db.session.scalars(
        base.options(selectinload(SupplierOffer.rfq), selectinload(SupplierOffer.supplier))
        .order_by(SupplierOffer.submitted_at)
        .limit(limit)
    ).all()
    return count or 0, first


def supplier_choices() -> list:
    """The active suppliers one may ask, by name, with their relationship."""
    suppliers = db.session.scalars(
        select(Organization)
        .where(Organization.kind.in_(access.SUPPLIER_KINDS), Organization.active.is_(True))
        .order_by(Organization.name)
    )
    return choices(
        (
            s.id,
            f"{s.name} ({supplier_relationship_label(s.supplier_relationship)})"
            if s.supplier_relationship
            else s.name,
        )
        for s in suppliers
    )
