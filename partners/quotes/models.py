"""Quotes and proposals: one row per version of a quote, its lines, and partners' requests.

``org_id`` of a quote is its *recipient* organisation (a partner or a customer), so the tenant
wall and PostgreSQL's row-level security give each recipient its own quotes and nobody else's.
Drafts are the vendor's work in progress: recipients never see them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    exists,
    select,
    true,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from partners.two_tier import owned_or_resold
from portal.clock import utcnow
from portal.db import Base, TenantOwned
from portal.identity.models import Organization, User
from portal.search import FullTextIndex
from portal.workflow import Workflow


class QuoteStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    viewed = "viewed"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    superseded = "superseded"


STATUS_LABELS = {
    QuoteStatus.draft: _l("Draft"),
    QuoteStatus.sent: _l("Sent"),
    QuoteStatus.viewed: _l("Viewed"),
    QuoteStatus.accepted: _l("Accepted"),
    QuoteStatus.declined: _l("Declined"),
    QuoteStatus.expired: _l("Expired"),
    QuoteStatus.superseded: _l("Superseded"),
}


class QuoteRequestStatus(StrEnum):
    open = "open"
    quoted = "quoted"
    closed = "closed"


QUOTE_STATUSES = tuple(QuoteStatus)
OPEN_STATUSES = (QuoteStatus.sent, QuoteStatus.viewed)  # the recipient may still answer
REQUEST_STATUSES = tuple(QuoteRequestStatus)
# What a quote's audit events show of it, besides what each move adds.
AUDIT_FIELDS = ("status", "total", "valid_until")
_DECIDED = ("decided_at", "decided_by_id")


class Quote(TenantOwned, Base):
    """One version of a quote. Versions of one quote share ``number``; ``revision`` counts them
    from 1. (``version`` is the row's optimistic-locking counter.)"""

    __tablename__ = "quotes"
    __table_args__ = (
        UniqueConstraint("number", "revision"),
        Index("ix_quotes_status_valid_until", "status", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), index=True)
    revision: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default=QuoteStatus.draft)
    title: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(3))
    valid_until: Mapped[date] = mapped_column(Date)
    terms: Mapped[str] = mapped_column(Text, default="")
    cover_letter: Mapped[str] = mapped_column(Text, default="")  # markdown, sanitised on render
    scope: Mapped[str] = mapped_column(Text, default="")
    timeline: Mapped[str] = mapped_column(Text, default="")
    tier_code: Mapped[str | None] = mapped_column(String(20))  # the recipient's, when priced
    tier_discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    subtotal: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    tax_total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deal_registrations.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    viewed_at: Mapped[datetime | None]
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("quotes.id", ondelete="SET NULL")
    )
    # Two tiers: the distributor a quote to one of its resellers goes through (named on the
    # quote, told when it is sent); None for a quote sent straight to its recipient.
    via_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    # The PDF of a sent version: rendered once, stored, served from here afterwards.
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # The recipient's answer.
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    signer_name: Mapped[str] = mapped_column(String(200), default="")
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    decided_ip: Mapped[str | None] = mapped_column(String(45))
    decided_user_agent: Mapped[str] = mapped_column(String(500), default="")
    decided_pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    recipient: Mapped[Organization] = relationship(foreign_keys="Quote.org_id")
    via: Mapped[Organization | None] = relationship(foreign_keys="Quote.via_org_id")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="quote", order_by="QuoteLine.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    # One version's life: draft -> sent -> viewed -> accepted | declined | expired. Sending a
    # revision supersedes the version it revises (live, declined or expired).
    workflow = Workflow(
        name="quote",
        noun=_l("quote"),
        statuses=QuoteStatus,
        labels=STATUS_LABELS,
        moves={
            "draft": {"sent"},
            "sent": {"viewed", "accepted", "declined", "expired", "superseded"},
            "viewed": {"accepted", "declined", "expired", "superseded"},
            "declined": {"superseded"},
            "expired": {"superseded"},
        },
        audit_fields=AUDIT_FIELDS,
        stamps={
            "sent": ("sent_at", None),
            "viewed": ("viewed_at", None),
            "accepted": _DECIDED,
            "declined": _DECIDED,
        },
    )

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """Vendor staff see every quote; a recipient sees the quotes addressed to it, once sent,
        and a distributor those sent to its resellers (read-only: partners.two_tier)."""
        if principal.is_vendor_staff:
            return true()
        return and_(owned_or_resold(cls.org_id, principal), cls.status != QuoteStatus.draft)

    @property
    def label(self) -> str:
        return f"{self.number} v{self.revision}"


class QuoteLine(TenantOwned, Base):
    """A line as priced: the product's catalogue data is copied, so a later catalogue change
    never alters a quote already sent. ``org_id`` is the quote's recipient."""

    __tablename__ = "quote_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20), default="unit")
    quantity: Mapped[int]
    list_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))  # after the quantity break
    tier_discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    discount_limit_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    discount_approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    discount_approved_at: Mapped[datetime | None]
    tax_rate_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    net_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))

    quote: Mapped[Quote] = relationship(back_populates="lines")

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """As its quote: vendor staff all; a recipient (and its distributor) the lines of its
        quotes once sent."""
        if principal.is_vendor_staff:
            return true()
        sent = (
            select(Quote.id)
            .where(Quote.id == cls.quote_id, Quote.status != QuoteStatus.draft)
            .correlate(cls)
        )
        return and_(owned_or_resold(cls.org_id, principal), exists(sent))

    @property
    def needs_approval(self) -> bool:
        return (
            self.discount_percent > self.discount_limit_percent
            and self.discount_approved_at is None
        )

    @property
    def total(self) -> Decimal:
        return self.net_amount + self.tax_amount


class QuoteRequest(TenantOwned, Base):
    """A partner asks the vendor for a quote on one of its approved deal registrations
    (``org_id``: the partner). open -> quoted (a quote was started from it) | closed (vendor
    staff declined it, saying why)."""

    __tablename__ = "quote_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deal_registrations.id", ondelete="CASCADE"), index=True
    )
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=QuoteRequestStatus.open)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str] = mapped_column(Text, default="")

    partner: Mapped[Organization] = relationship(foreign_keys="QuoteRequest.org_id")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    workflow = Workflow(
        name="quote_request",
        noun=_l("quote request"),
        statuses=QuoteRequestStatus,
        moves={"open": {"quoted", "closed"}},
        stamps={"closed": ("closed_at", None)},
    )


# The portal-wide search (portal.search; migration 0016).
QUOTE_INDEX = FullTextIndex(Quote, ("number", "title"))
