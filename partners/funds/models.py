"""Market development funds: each partner's budget per quarter, its fund requests, the claims
that prove what was done, and the claims' files.

Money moves in one place: a budget's ``reserved`` grows when a request is approved and gives
back what a claim did not use when the claim is approved. The database refuses a budget whose
``reserved`` passes its ``amount`` (a check constraint), so two approvals at once cannot both
spend the same balance, whichever server and session they come from.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.clock import utcnow
from portal.db import Base, TenantOwned
from portal.identity.models import Organization, User
from portal.workflow import Workflow

ZERO = Decimal("0.00")


class FundBudget(TenantOwned, Base):
    """What a partner (``org_id``) may spend in one quarter (``amount``, set by the vendor or
    taken from the partner's tier when first needed) and what approved requests hold of it
    (``reserved``). The balance is ``amount - reserved``; the check keeps it at zero or above."""

    __tablename__ = "fund_budgets"
    __table_args__ = (
        UniqueConstraint("org_id", "year", "quarter"),
        CheckConstraint("reserved >= 0 AND reserved <= amount", name="balance_not_negative"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    quarter: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    reserved: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    partner: Mapped[Organization] = relationship()

    @property
    def balance(self) -> Decimal:
        return self.amount - self.reserved

    @property
    def label(self) -> str:
        return f"{self.year} Q{self.quarter}"


class RequestStatus(StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"


REQUEST_LABELS = {
    RequestStatus.submitted: _l("Waiting for a decision"),
    RequestStatus.approved: _l("Approved"),
    RequestStatus.rejected: _l("Rejected"),
}
_DECIDED = ("decided_at", "decided_by_id")


class FundRequest(TenantOwned, Base):
    """A partner's (``org_id``) request for funds for a marketing activity. Approved, its amount
    is reserved on the budget of the quarter the activity starts in (``budget_id``)."""

    __tablename__ = "fund_requests"
    __table_args__ = (Index("ix_fund_requests_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.submitted)
    budget_id: Mapped[int | None] = mapped_column(
        ForeignKey("fund_budgets.id", ondelete="RESTRICT"), index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    partner: Mapped[Organization] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    budget: Mapped[FundBudget | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    workflow = Workflow(
        name="fund_request",
        noun=_l("fund request"),
        statuses=RequestStatus,
        labels=REQUEST_LABELS,
        moves={"submitted": {"approved", "rejected"}},
        audit_fields=("activity", "amount", "starts_on", "ends_on", "decision_reason"),
        stamps={"approved": _DECIDED, "rejected": _DECIDED},
    )

    @property
    def quarter(self) -> tuple[int, int]:
        return quarter_of(self.starts_on)


class ClaimStatus(StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    paid = "paid"


CLAIM_LABELS = {
    ClaimStatus.submitted: _l("Waiting for a decision"),
    ClaimStatus.approved: _l("Approved, to be paid"),
    ClaimStatus.rejected: _l("Rejected"),
    ClaimStatus.paid: _l("Paid"),
}
OPEN_CLAIM_STATUSES = (ClaimStatus.submitted, ClaimStatus.approved, ClaimStatus.paid)


class FundClaim(TenantOwned, Base):
    """What a partner (``org_id``) spent on an approved request, with proof of performance
    (``files``), for reimbursement: approved, then marked paid."""

    __tablename__ = "fund_claims"
    __table_args__ = (Index("ix_fund_claims_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("fund_requests.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=ClaimStatus.submitted)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    paid_at: Mapped[datetime | None]
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    payment_reference: Mapped[str] = mapped_column(String(100), default="")
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    request: Mapped[FundRequest] = relationship()
    files: Mapped[list[FundClaimFile]] = relationship(
        order_by="FundClaimFile.id", back_populates="claim"
    )

    __mapper_args__ = {"version_id_col": version}

    workflow = Workflow(
        name="fund_claim",
        noun=_l("claim"),
        statuses=ClaimStatus,
        labels=CLAIM_LABELS,
        moves={"submitted": {"approved", "rejected"}, "approved": {"paid"}},
        audit_fields=("amount", "decision_reason", "payment_reference"),
        stamps={
            "approved": _DECIDED,
            "rejected": _DECIDED,
            "paid": ("paid_at", "paid_by_id"),
        },
    )


class FundClaimFile(TenantOwned, Base):
    """A proof of performance sent with a claim (photos, invoices, attendee lists). Kept in the
    database as case attachments are: inside the transaction and both tenant walls, served only
    as a download."""

    __tablename__ = "fund_claim_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        ForeignKey("fund_claims.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(120))  # sanitised
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))

    claim: Mapped[FundClaim] = relationship(back_populates="files")


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1
