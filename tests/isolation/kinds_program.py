"""The partner programme's route parameters, for the isolation matrix.

``partner_id``: a partner organisation. Vendor staff see every partner, so nothing is foreign to
them; for everyone else the foreign partners are (and their pages are vendor staff's only).
``tier_id``: tiers are the vendor's global configuration, read by everyone: nothing is foreign.
``certification_id``: a partner's people's certification; vendor staff see every partner's, a
partner only its own, a customer none.
``proposal_id``: a proposed tier change, the vendor's review: no partner or customer sees one,
not even about itself.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from partners.program.models import (
    Certification,
    Specialisation,
    Territory,
    Tier,
    TierProposal,
)
from tests import factories
from tests.isolation.world import record_kind

EVIDENCE = b"%PDF-1.4\n%matrix\n%%EOF\n"


def _certification(db, org, name: str) -> None:
    person = factories.make_user(db, org, "partner_user", name=f"Certified person of {org.name}")
    db.add(
        Certification(
            org_id=org.id,
            user_id=person.id,
            name=name,
            issuer="Northwind Academy",
            issued_on=date(2026, 1, 5),
            evidence_filename="certificate.pdf",
            evidence_content_type="application/pdf",
            evidence_size=len(EVIDENCE),
            evidence_sha256="0" * 64,
            evidence=EVIDENCE,
        )
    )


def _seed(db, w) -> None:
    home, foreign = w.home["partner"], w.foreign[0]
    db.add_all(
        [
            Territory(org_id=home.id, country="CH"),
            Specialisation(org_id=home.id, product_line="security"),
            Territory(org_id=foreign.id, country="JP"),
            Specialisation(org_id=foreign.id, product_line="storage"),
        ]
    )
    home.tier, foreign.tier = "gold", "platinum"
    _certification(db, home, "Home certification")
    _certification(db, foreign, "Foreign certification ZZQK")
    w.markers.append("Foreign certification ZZQK")
    db.add_all(
        [
            TierProposal(org_id=home.id, from_tier="gold", to_tier="silver", direction="demotion"),
            TierProposal(
                org_id=foreign.id, from_tier="platinum", to_tier="gold", direction="demotion"
            ),
        ]
    )
    db.flush()


def _certifications_of(db, org_id: int | None = None, *, not_of: int | None = None) -> list[int]:
    stmt = select(Certification.id).order_by(Certification.id)
    if org_id is not None:
        stmt = stmt.where(Certification.org_id == org_id)
    if not_of is not None:
        stmt = stmt.where(Certification.org_id != not_of)
    return list(db.scalars(stmt))


def _proposal_of(db, org_id: int) -> int:
    return db.scalar(select(TierProposal.id).where(TierProposal.org_id == org_id))


record_kind(
    "partner_id",
    foreign=lambda db, w, role: (
        [] if role.audience == "vendor" else [o.id for o in w.foreign]  # a reseller, a customer
    ),
    own=lambda db, w, role: w.home["partner"].id,
    seed=_seed,
)
record_kind(
    "tier_id",
    foreign=lambda db, w, role: [],
    own=lambda db, w, role: db.scalar(select(Tier.id).order_by(Tier.rank, Tier.id)),
)
record_kind(
    "certification_id",
    foreign=lambda db, w, role: {
        "vendor": [],
        "partner": _certifications_of(db, not_of=w.home["partner"].id),
        "customer": _certifications_of(db),
    }[role.audience],
    own=lambda db, w, role: (
        None if role.audience == "customer" else _certifications_of(db, w.home["partner"].id)[0]
    ),
)
record_kind(
    "proposal_id",
    foreign=lambda db, w, role: (
        []
        if role.audience == "vendor"
        else list(db.scalars(select(TierProposal.id).order_by(TierProposal.id)))
    ),
    own=lambda db, w, role: (
        _proposal_of(db, w.home["partner"].id) if role.audience == "vendor" else None
    ),
)
