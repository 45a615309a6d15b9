"""The partner programme: tiers and what they give and require, partners' territories and
specialisations, their people's certifications and the tier changes the tick proposes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.clock import utcnow
from portal.db import Base, TenantOwned, VendorOnly, global_table
from portal.identity.models import Organization, User
from portal.workflow import Workflow

# Tiers' money requirements are in the programme's currency: registrations in other currencies
# are not converted (the portal keeps no exchange rates), so the scorecard counts this one.
REQUIREMENT_CURRENCY = "EUR"


@global_table("the vendor's programme: one set of tiers that every partner reads")
class Tier(Base):
    __tablename__ = "tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # organizations.tier holds it
    name: Mapped[str] = mapped_column(String(60))
    rank: Mapped[int] = mapped_column(default=0)  # higher is better
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    protection_days: Mapped[int] = mapped_column(default=90)
    distribution_weight: Mapped[int] = mapped_column(default=1)
    max_open_leads: Mapped[int] = mapped_column(default=10)
    # What a partner of the tier should reach (the partner scorecard); None: no requirement.
    # Won value of registrations in the last 12 months, in REQUIREMENT_CURRENCY.
    required_won_value_12m: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # Offered leads accepted, of those answered, in percent.
    required_acceptance_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    # People of the partner with a verified certification valid today.
    required_certified_people: Mapped[int | None]
    # Market development funds a partner of the tier gets each quarter, in REQUIREMENT_CURRENCY,
    # unless its own budget for the quarter says otherwise; None: no funds.
    mdf_quarterly_budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class Territory(TenantOwned, Base):
    """A country a partner sells in (ISO 3166 alpha-2)."""

    __tablename__ = "partner_territories"
    __table_args__ = (UniqueConstraint("org_id", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)


class Specialisation(TenantOwned, Base):
    """A product line a partner is qualified for."""

    __tablename__ = "partner_specialisations"
    __table_args__ = (UniqueConstraint("org_id", "product_line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_line: Mapped[str] = mapped_column(String(60), index=True)


class CertificationKind(StrEnum):
    certification = "certification"  # counts towards the tier's certified people
    training = "training"  # recorded and verified, counts towards nothing


class CertificationStatus(StrEnum):
    recorded = "recorded"  # the partner says so; the vendor has not looked yet
    verified = "verified"
    rejected = "rejected"


CERTIFICATION_AUDIT_FIELDS = ("user_id", "kind", "name", "issuer", "issued_on", "valid_until")


class Certification(TenantOwned, Base):
    """A certification or training one of a partner's people holds: recorded by the partner,
    with an evidence file kept in the row (outside any web root, inside both tenant walls, as case
    attachments), and verified or rejected by vendor staff."""

    __tablename__ = "certifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(15), default=CertificationKind.certification.value)
    name: Mapped[str] = mapped_column(String(120))
    issuer: Mapped[str] = mapped_column(String(120))
    issued_on: Mapped[date]
    valid_until: Mapped[date | None]  # None: does not expire
    status: Mapped[str] = mapped_column(
        String(10), default=CertificationStatus.recorded.value, index=True
    )
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    evidence_filename: Mapped[str | None] = mapped_column(String(120))  # sanitised
    evidence_content_type: Mapped[str | None] = mapped_column(String(100))
    evidence_size: Mapped[int | None]
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

    person: Mapped[User] = relationship(foreign_keys=[user_id])
    partner: Mapped[Organization] = relationship(foreign_keys="Certification.org_id")

    workflow = Workflow(
        name="certification",
        noun=_l("certification"),
        statuses=CertificationStatus,
        moves={"recorded": {"verified", "rejected"}},
        audit_fields=CERTIFICATION_AUDIT_FIELDS,
        stamps={
            "verified": ("decided_at", "decided_by_id"),
            "rejected": ("decided_at", "decided_by_id"),
        },
        labels={
            "recorded": _l("waiting for verification"),
            "verified": _l("verified"),
            "rejected": _l("rejected"),
        },
    )


class ProposalStatus(StrEnum):
    proposed = "proposed"
    applied = "applied"
    dismissed = "dismissed"
    withdrawn = "withdrawn"  # the tick found it no longer holds (or the tier changed meanwhile)


class ProposalDirection(StrEnum):
    promotion = "promotion"
    demotion = "demotion"


class TierProposal(VendorOnly, TenantOwned, Base):
    """A promotion or demotion of a partner (``org_id``) that the tick proposes from its
    standing, for the channel manager to apply or dismiss. ``standing`` keeps the figures it was
    proposed on (plain values). At most one is open per partner (a partial unique index)."""

    __tablename__ = "tier_proposals"
    __table_args__ = (
        Index(
            "uq_tier_proposals_open_org_id",
            "org_id",
            unique=True,
            sqlite_where=text("status = 'proposed'"),
            postgresql_where=text("status = 'proposed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_tier: Mapped[str | None] = mapped_column(String(20))
    to_tier: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    standing: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(
        String(10), default=ProposalStatus.proposed.value, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")  # why it was dismissed

    partner: Mapped[Organization] = relationship(foreign_keys="TierProposal.org_id")

    workflow = Workflow(
        name="tier_proposal",
        noun=_l("tier proposal"),
        statuses=ProposalStatus,
        moves={"proposed": {"applied", "dismissed", "withdrawn"}},
        audit_fields=("from_tier", "to_tier", "direction"),
        stamps={
            "applied": ("decided_at", "decided_by_id"),
            "dismissed": ("decided_at", "decided_by_id"),
            "withdrawn": ("decided_at", None),
        },
        # The vendor's review: its events are the vendor's, not the partner's (the partner is
        # told when its tier changes).
        concerns=lambda proposal: (),
    )

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return principal.is_vendor_staff


__all__ = [
    "REQUIREMENT_CURRENCY",
    "Certification",
    "CertificationKind",
    "CertificationStatus",
    "ProposalDirection",
    "ProposalStatus",
    "Specialisation",
    "Territory",
    "Tier",
    "TierProposal",
]
