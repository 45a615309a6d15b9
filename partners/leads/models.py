"""Leads: the vendor's pipeline, offers of leads to partners, and leads partners share."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, exists, select, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from partners.two_tier import owned_or_resold
from portal.clock import utcnow
from portal.db import Base, TenantOwned
from portal.identity.models import Organization
from portal.search import FullTextIndex
from portal.workflow import Workflow


class LeadStatus(StrEnum):
    new = "new"
    offered = "offered"
    accepted = "accepted"
    won = "won"
    lost = "lost"


class OfferStatus(StrEnum):
    offered = "offered"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    recalled = "recalled"


class SharedLeadStatus(StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"


# Plain strings: the API's schemas list them as literals.
LEAD_STATUSES = tuple(s.value for s in LeadStatus)
OFFER_STATUSES = tuple(s.value for s in OfferStatus)
OPEN_OFFER_STATUSES = (OfferStatus.offered.value, OfferStatus.accepted.value)
# An open offer that passed a lead down (its unique index's condition).
OPEN_RESELLER_OFFER = "passed_down_from_id IS NOT NULL AND status IN ('offered', 'accepted')"
SHARED_LEAD_STATUSES = tuple(s.value for s in SharedLeadStatus)
# What the pages call each status (badges, filters, refusals, timelines).
LEAD_LABELS = {
    "new": _l("New"),
    "offered": _l("Offered"),
    "accepted": _l("Accepted"),
    "won": _l("Won"),
    "lost": _l("Lost"),
}
OFFER_LABELS = {
    "offered": _l("Offered"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "expired": _l("Expired"),
    "recalled": _l("Recalled"),
}
SHARED_LEAD_LABELS = {
    "submitted": _l("Submitted"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
}
OUTCOMES = (LeadStatus.won.value, LeadStatus.lost.value)
LEAD_AUDIT_FIELDS = (
    "company",
    "contact_name",
    "email",
    "phone",
    "country",
    "product_line",
    "source",
    "status",
)
OFFER_AUDIT_FIELDS = (
    "status",
    "lead_id",
    "respond_by",
    "responded_at",
    "decline_reason",
    "reason",
    "passed_down_from_id",
)
SHARED_AUDIT_FIELDS = (
    "status",
    "company",
    "country",
    "product_line",
    "decision_reason",
    "lead_id",
)


class Lead(TenantOwned, Base):
    """A lead in the vendor's pipeline (``org_id`` is the vendor). A partner sees a lead while it
    is offered to it or accepted by it; after a recall it does not (404)."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_status_id", "status", "id"),
        Index("ix_leads_country_id", "country", "id"),
        Index("ix_leads_company_id", "company", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    country: Mapped[str] = mapped_column(String(2))
    product_line: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(60), default="manual")
    status: Mapped[str] = mapped_column(String(20), default=LeadStatus.new.value)
    notes: Mapped[str] = mapped_column(Text, default="")
    credited_to_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    offers: Mapped[list[LeadOffer]] = relationship(back_populates="lead", order_by="LeadOffer.id")
    credited_to: Mapped[Organization | None] = relationship(foreign_keys=[credited_to_org_id])

    __mapper_args__ = {"version_id_col": version}

    # A lead is offered to one partner at a time; the offer's end (declined, expired, recalled)
    # brings it back to new. Vendor staff close a lead not offered right now, the partner the
    # one it accepted.
    workflow = Workflow(
        name="lead",
        noun=_l("lead"),
        statuses=LeadStatus,
        labels=LEAD_LABELS,
        moves={
            "new": {"offered", "won", "lost"},
            "offered": {"accepted", "new"},
            "accepted": {"won", "lost", "new"},
        },
        audit_fields=LEAD_AUDIT_FIELDS,
        # Its events concern the vendor only: an offer's data names the other partners ranked.
    )

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        if principal.is_vendor_staff:
            return true()
        if not principal.is_partner:
            return cls.id.is_(None)
        # An open offer to the partner, or (for a distributor) to one of its resellers.
        offered = (
            select(LeadOffer.id)
            .where(
                LeadOffer.lead_id == cls.id,
                owned_or_resold(LeadOffer.org_id, principal),
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
        # A distributor passes a lead down to one reseller at a time: two pass-downs at the same
        # moment end with one (the second write fails, shown as a conflict).
        Index(
            "uq_lead_offers_open_per_parent",
            "passed_down_from_id",
            unique=True,
            sqlite_where=text(OPEN_RESELLER_OFFER),
            postgresql_where=text(OPEN_RESELLER_OFFER),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=OfferStatus.offered.value)
    offered_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    respond_by: Mapped[datetime]
    responded_at: Mapped[datetime | None]
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    offered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Why this partner: "by hand", or the rule's reasons (territory, specialisation, weight...).
    reason: Mapped[str] = mapped_column(Text, default="")
    reminder_sent_at: Mapped[datetime | None]
    # Two tiers: the distributor's offer this one passed down to one of its resellers (None: the
    # vendor's own offer). The lead stays the distributor's while its reseller decides.
    passed_down_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead_offers.id", ondelete="CASCADE"), index=True
    )
    # Offered by rule among the partners of a segment (portal.segments): a re-offer after a
    # decline chooses among them again. None: by hand, or the whole pool.
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    lead: Mapped[Lead] = relationship(back_populates="offers")
    partner: Mapped[Organization] = relationship(foreign_keys="LeadOffer.org_id")
    passed_down_from: Mapped[LeadOffer | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}

    # Its events concern the partner it is offered to and the vendor whose lead it is.
    workflow = Workflow(
        name="lead_offer",
        noun=_l("lead offer"),
        statuses=OfferStatus,
        labels=OFFER_LABELS,
        moves={
            "offered": {"accepted", "declined", "expired", "recalled"},
            "accepted": {"recalled"},
        },
        audit_fields=OFFER_AUDIT_FIELDS,
        stamps={"accepted": ("responded_at", None), "declined": ("responded_at", None)},
        concerns=lambda offer: (offer.org_id, offer.lead.org_id if offer.lead else None),
    )

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """Vendor staff see every offer; a partner its own, and a distributor also its
        resellers' (read-only: partners.two_tier)."""
        if principal.is_vendor_staff:
            return true()
        return owned_or_resold(cls.org_id, principal)

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        # Only the vendor offers leads; a distributor's pass-down is written past the wall by
        # its reviewed service (services.passing).
        return principal.is_vendor_staff


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
    status: Mapped[str] = mapped_column(String(20), default=SharedLeadStatus.submitted.value)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    partner: Mapped[Organization] = relationship(foreign_keys="SharedLead.org_id")

    __mapper_args__ = {"version_id_col": version}

    workflow = Workflow(
        name="shared_lead",
        noun=_l("shared lead"),
        statuses=SharedLeadStatus,
        labels=SHARED_LEAD_LABELS,
        moves={"submitted": {"approved", "rejected"}},
        audit_fields=SHARED_AUDIT_FIELDS,
        stamps={
            "approved": ("decided_at", "decided_by_id"),
            "rejected": ("decided_at", "decided_by_id"),
        },
    )


# The lead list's search and the portal-wide search (portal.search; migration 0016).
LEAD_INDEX = FullTextIndex(Lead, ("company", "contact_name", "email"))


__all__ = ["Lead", "LeadOffer", "LeadStatus", "OfferStatus", "SharedLead", "SharedLeadStatus"]
