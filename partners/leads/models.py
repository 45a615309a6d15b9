"""Leads: the vendor's pipeline, offers of leads to partners, and leads partners share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, exists, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.db import Base, TenantOwned
from portal.identity.models import Organization

LEAD_STATUSES = ("new", "offered", "accepted", "won", "lost")
OFFER_STATUSES = ("offered", "accepted", "declined", "expired", "recalled")
OPEN_OFFER_STATUSES = ("offered", "accepted")
SHARED_LEAD_STATUSES = ("submitted", "approved", "rejected")


class Lead(TenantOwned, Base):
    """A lead in the vendor's pipeline (``org_id`` is the vendor). A partner sees a lead while it
    is offered to it or accepted by it; after a recall it does not (404)."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_status_id", "status", "id"),
        Index("ix_leads_country_id", "country", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    country: Mapped[str] = mapped_column(String(2))
    product_line: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(60), default="manual")
    status: Mapped[str] = mapped_column(String(20), default="new")
    notes: Mapped[str] = mapped_column(Text, default="")
    credited_to_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    offers: Mapped[list[LeadOffer]] = relationship(back_populates="lead", order_by="LeadOffer.id")
    credited_to: Mapped[Organization | None] = relationship(foreign_keys=[credited_to_org_id])

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        if principal.is_vendor_staff:
            return true()
        if not principal.is_partner:
            return cls.id.is_(None)
        offered = (
            select(LeadOffer.id)
            .where(
                LeadOffer.lead_id == cls.id,
                LeadOffer.org_id == principal.org_id,
                LeadOffer.status.in_(OPEN_OFFER_STATUSES),
            )
            .correlate(cls)
        )
        return exists(offered)


class LeadOffer(TenantOwned, Base):
    """A lead offered to one partner (``org_id``), to accept or decline before ``respond_by``."""

    __tablename__ = "lead_offers"
    __table_args__ = (
        Index("ix_lead_offers_status_respond_by", "status", "respond_by"),
        Index("ix_lead_offers_lead_id_status", "lead_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="offered")
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    respond_by: Mapped[datetime]
    responded_at: Mapped[datetime | None]
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    offered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Why this partner: "by hand", or the rule's reasons (territory, specialisation, weight...).
    reason: Mapped[str] = mapped_column(Text, default="")
    reminder_sent_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    lead: Mapped[Lead] = relationship(back_populates="offers")
    partner: Mapped[Organization] = relationship(foreign_keys="LeadOffer.org_id")

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return principal.is_vendor_staff  # only the vendor offers leads


class SharedLead(TenantOwned, Base):
    """A lead a partner or supplier found and shares with the vendor (``org_id``: the partner).
    Vendor staff approve it into the pipeline (credited to the partner) or reject it."""

    __tablename__ = "shared_leads"
    __table_args__ = (Index("ix_shared_leads_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    country: Mapped[str] = mapped_column(String(2))
    product_line: Mapped[str] = mapped_column(String(60))
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    partner: Mapped[Organization] = relationship(foreign_keys="SharedLead.org_id")

    __mapper_args__ = {"version_id_col": version}


__all__ = ["Lead", "LeadOffer", "SharedLead"]
