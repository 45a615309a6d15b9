"""Deal registrations by partners, the vendor's direct deals, and the conflicts between them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from partners.two_tier import owned_or_resold
from portal.clock import utcnow
from portal.db import Base, TenantOwned, global_table
from portal.identity.models import Organization, User
from portal.search import FullTextIndex
from portal.workflow import Workflow


class DealStatus(StrEnum):
    draft = "draft"
    distributor_review = "distributor_review"  # a reseller's, with its distributor first
    submitted = "submitted"
    info_requested = "info_requested"
    approved = "approved"
    rejected = "rejected"
    won = "won"
    lost = "lost"
    expired = "expired"


DEAL_STATUSES = tuple(DealStatus)
OPEN_DEAL_STATUSES = (
    DealStatus.distributor_review,
    DealStatus.submitted,
    DealStatus.info_requested,
    DealStatus.approved,
)
AWAITING_DECISION = (DealStatus.distributor_review, DealStatus.submitted, DealStatus.info_requested)
EDITABLE_FIELDS = [
    "customer_name",
    "customer_domain",
    "contact_name",
    "contact_email",
    "products",
    "value",
    "currency",
    "expected_close",
    "notes",
]
AUDIT_FIELDS = [
    "status",
    *EDITABLE_FIELDS,
    "expires_at",
    "decision_reason",
    "extension_requested_days",
    "extension_request_reason",
    "extension_outcome",
    "extension_response",
]
_DECIDED = ("decided_at", "decided_by_id")
_CLOSED = ("closed_at", None)
STATUS_LABELS = {
    DealStatus.draft: _l("Draft"),
    DealStatus.distributor_review: _l("With the distributor"),
    DealStatus.submitted: _l("Under review"),
    DealStatus.info_requested: _l("Information requested"),
    DealStatus.approved: _l("Approved"),
    DealStatus.rejected: _l("Rejected"),
    DealStatus.won: _l("Won"),
    DealStatus.lost: _l("Lost"),
    DealStatus.expired: _l("Expired"),
}


class DealRegistration(TenantOwned, Base):
    """A partner's claim on a deal with an end customer (``org_id``: the partner). Approved, it
    is protected until ``expires_at``."""

    __tablename__ = "deal_registrations"
    __table_args__ = (
        # the review queue (oldest first) and the list filtered by state, both paged by key
        Index("ix_deal_registrations_status_submitted_id", "status", "submitted_at", "id"),
        Index("ix_deal_registrations_status_id", "status", "id"),
        # A partner's home (migration 0045): its registrations counted per status and the
        # protections ending soonest, read from the index; those waiting on it for information,
        # the longest-waiting first.
        Index("ix_deal_registrations_org_status_expires", "org_id", "status", "expires_at", "id"),
        Index("ix_deal_registrations_org_status_decided", "org_id", "status", "decided_at", "id"),
        Index("ix_deal_registrations_domain", "customer_domain"),
        # At most one protection per customer: a second approval for the same normalised domain
        # fails in the database even when two channel managers approve at the same moment.
        Index(
            "uq_deal_registrations_protected_domain",
            "customer_domain",
            unique=True,
            sqlite_where=text("status = 'approved'"),
            postgresql_where=text("status = 'approved'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_name_key: Mapped[str] = mapped_column(String(200), index=True)  # legal suffix off
    customer_domain: Mapped[str] = mapped_column(String(253))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    products: Mapped[list] = mapped_column(JSON, default=list)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    expected_close: Mapped[date] = mapped_column(Date, index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    registered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None] = mapped_column(index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    # The partner's one request for longer protection; outcome "" while it waits for a decision.
    extension_requested_at: Mapped[datetime | None]
    extension_requested_days: Mapped[int | None]
    extension_requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    extension_request_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    extension_outcome: Mapped[str] = mapped_column(String(20), default="", server_default="")
    extension_response: Mapped[str] = mapped_column(Text, default="", server_default="")
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    partner: Mapped[Organization] = relationship(foreign_keys="DealRegistration.org_id")
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])

    __mapper_args__ = {"version_id_col": version}

    workflow = Workflow(
        name="deal",
        noun=_l("registration"),
        statuses=DealStatus,
        labels=STATUS_LABELS,
        moves={
            "draft": {"submitted", "distributor_review"},
            # the distributor's first approval sends it on to the vendor, or rejects it
            "distributor_review": {"submitted", "rejected"},
            "submitted": {"approved", "rejected", "info_requested"},
            "info_requested": {"submitted", "distributor_review", "rejected"},
            "approved": {"won", "lost", "expired"},
        },
        audit_fields=tuple(AUDIT_FIELDS),
        stamps={
            "distributor_review": ("submitted_at", None),
            "submitted": ("submitted_at", None),
            "approved": _DECIDED,
            "rejected": _DECIDED,
            "info_requested": _DECIDED,
            "won": _CLOSED,
            "lost": _CLOSED,
            "expired": _CLOSED,
        },
    )

    @property
    def extension_pending(self) -> bool:
        return self.extension_requested_at is not None and not self.extension_outcome

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """Vendor staff see every registration; a partner its own, and a distributor also its
        resellers' (read-only: partners.two_tier)."""
        if principal.is_vendor_staff:
            return true()
        return owned_or_resold(cls.org_id, principal)


@global_table("the vendor's rules for deal registration: one row every registration follows")
class DealProgramme(Base):
    """The programme's settings for deal registration (one row, id 1)."""

    __tablename__ = "deal_programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A reseller attached to a distributor submits to the distributor first, then the vendor.
    distributor_first_approval: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    updated_at: Mapped[datetime | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class DirectDeal(TenantOwned, Base):
    """A deal the vendor works itself (``org_id``: the vendor); registrations must not collide
    with it unnoticed."""

    __tablename__ = "direct_deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_name_key: Mapped[str] = mapped_column(String(200), index=True)
    customer_domain: Mapped[str] = mapped_column(String(253), index=True)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | won | lost
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User | None] = relationship()


class DealConflict(TenantOwned, Base):
    """A possible clash found when a registration was submitted (``org_id``: the vendor, so no
    partner ever sees who else registered). Flagged for the channel manager, never acted on
    silently."""

    __tablename__ = "deal_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("deal_registrations.id", ondelete="CASCADE"), index=True
    )
    other_registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("deal_registrations.id", ondelete="CASCADE"), index=True
    )
    direct_deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("direct_deals.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))  # domain | name
    score: Mapped[int] = mapped_column(default=100)
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The channel manager's settlement: which side keeps the customer ("registration": the one
    # submitted when the clash was found, "other": the registration or direct deal it clashed
    # with) and, where it is not the first in, why.
    settled_at: Mapped[datetime | None]
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    winner: Mapped[str] = mapped_column(String(20), default="", server_default="")
    settlement_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    registration: Mapped[DealRegistration] = relationship(foreign_keys=[registration_id])
    other_registration: Mapped[DealRegistration | None] = relationship(
        foreign_keys=[other_registration_id]
    )
    direct_deal: Mapped[DirectDeal | None] = relationship()
    settled_by: Mapped[User | None] = relationship(foreign_keys=[settled_by_id])

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return True  # written by the partner's submit, into the vendor's review queue


# The portal-wide search (portal.search; migration 0016).
REGISTRATION_INDEX = FullTextIndex(DealRegistration, ("customer_name", "customer_domain", "number"))
