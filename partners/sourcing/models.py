"""Sourcing: the vendor's requests for quotation (RFQs) and its suppliers' offers.

An ``Rfq`` is the vendor's (``org_id``: the vendor): what is needed, by when an answer is due.
It is addressed to chosen suppliers by giving each one a ``SupplierOffer`` (``org_id``: the
supplier), which waits as *requested* until the supplier answers with line items, a PDF, or
both. So the wall and row-level security give a supplier its own offers and the RFQs it was
asked, never another supplier's offer or an RFQ not addressed to it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Date,
    ForeignKey,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    exists,
    select,
    true,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.db import Base, TenantOwned
from portal.identity.models import Organization, User
from portal.workflow import Workflow


class RfqStatus(StrEnum):
    open = "open"
    closed = "closed"


RFQ_STATUS_LABELS = {RfqStatus.open: _l("Open"), RfqStatus.closed: _l("Closed")}


class OfferStatus(StrEnum):
    requested = "requested"  # addressed to the supplier, no answer yet
    submitted = "submitted"
    accepted = "accepted"
    declined = "declined"
    lapsed = "lapsed"  # the RFQ closed before the supplier answered


OFFER_STATUS_LABELS = {
    OfferStatus.requested: _l("Waiting for the offer"),
    OfferStatus.submitted: _l("Offer submitted"),
    OfferStatus.accepted: _l("Accepted"),
    OfferStatus.declined: _l("Declined"),
    OfferStatus.lapsed: _l("Lapsed"),
}
DECIDABLE = (OfferStatus.submitted,)


class Rfq(TenantOwned, Base):
    """A request for quotation: open until vendor staff close it (unanswered offers lapse)."""

    __tablename__ = "rfqs"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(200))
    needs: Mapped[str] = mapped_column(Text, default="")  # what is needed: quantities, specs
    respond_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=RfqStatus.open)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    offers: Mapped[list[SupplierOffer]] = relationship(
        back_populates="rfq", order_by="SupplierOffer.id"
    )

    workflow = Workflow(
        name="rfq",
        noun=_l("request for quotation"),
        statuses=RfqStatus,
        labels=RFQ_STATUS_LABELS,
        moves={"open": {"closed"}},
        audit_fields=("status", "respond_by"),
        stamps={"closed": ("closed_at", None)},
    )

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """Vendor staff see every RFQ; a supplier those addressed to it (it holds an offer)."""
        if principal.is_vendor_staff:
            return true()
        asked = (
            select(SupplierOffer.id)
            .where(SupplierOffer.rfq_id == cls.id, SupplierOffer.org_id == principal.org_id)
            .correlate(cls)
        )
        return exists(asked)

    @property
    def status_label(self) -> str:
        return str(RFQ_STATUS_LABELS[RfqStatus(self.status)])


class SupplierOffer(TenantOwned, Base):
    """One supplier's answer to one RFQ (``org_id``: the supplier). Its content is line items,
    a PDF the supplier uploaded, or both; ``total`` is the lines' sum in ``currency``."""

    __tablename__ = "supplier_offers"
    __table_args__ = (UniqueConstraint("rfq_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=OfferStatus.requested)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    note: Mapped[str] = mapped_column(Text, default="")
    # The uploaded offer document: kept in the database like case attachments and quote PDFs,
    # served only as a download.
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_name: Mapped[str | None] = mapped_column(String(120))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")

    rfq: Mapped[Rfq] = relationship(back_populates="offers")
    supplier: Mapped[Organization] = relationship(foreign_keys="SupplierOffer.org_id")
    lines: Mapped[list[SupplierOfferLine]] = relationship(
        back_populates="offer", order_by="SupplierOfferLine.position", cascade="all, delete-orphan"
    )

    workflow = Workflow(
        name="supplier_offer",
        noun=_l("offer"),
        statuses=OfferStatus,
        labels=OFFER_STATUS_LABELS,
        moves={
            "requested": {"submitted", "lapsed"},
            "submitted": {"accepted", "declined"},
        },
        audit_fields=("status", "total", "currency"),
        stamps={
            "submitted": ("submitted_at", "submitted_by_id"),
            "accepted": ("decided_at", "decided_by_id"),
            "declined": ("decided_at", "decided_by_id"),
        },
    )

    @property
    def status_label(self) -> str:
        return str(OFFER_STATUS_LABELS[OfferStatus(self.status)])

    @property
    def answered(self) -> bool:
        return self.status not in (OfferStatus.requested, OfferStatus.lapsed)


class SupplierOfferLine(TenantOwned, Base):
    """A line of a supplier's offer (``org_id``: the supplier, as its offer's)."""

    __tablename__ = "supplier_offer_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(
        ForeignKey("supplier_offers.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=1)
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2))

    offer: Mapped[SupplierOffer] = relationship(back_populates="lines")

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity
