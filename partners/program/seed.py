"""The partner programme's part of the demo world: where the demo partners sell and what they
are qualified for, what each tier requires of its partners (the partner scorecard measures
them against it), their people's certifications and the tick's proposed tier changes. The tiers
themselves come with the migration that made their table."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from partners.program.models import (
    Certification,
    CertificationStatus,
    Specialisation,
    Territory,
    Tier,
    TierProposal,
)
from partners.program.standing import propose_tier_changes
from portal.clock import utcnow
from portal.identity.models import User
from portal.product_lines import PRODUCT_LINES
from portal.tenancy import Principal
from portal.workflow import transition

# organisation name -> (countries, product lines)
DEMO_COVERAGE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Alpine IT Solutions": (("CH", "DE", "AT"), ("networking", "security")),
    "Brightline Resellers": (("GB", "IE"), ("cloud", "collaboration")),
    "Cobalt Networks": (("US", "CA"), tuple(PRODUCT_LINES)),
    "Delta Office Partners": (("FR",), ()),
    "Fjord Distribution": (("NO", "SE", "DK"), ("storage",)),
    "Evergreen Components": (("DE",), ("services",)),
}


# tier code -> (won value in the last 12 months, in REQUIREMENT_CURRENCY; offer acceptance %)
DEMO_REQUIREMENTS: dict[str, tuple[Decimal | None, Decimal | None]] = {
    "registered": (None, Decimal("40.00")),
    "silver": (Decimal("50000.00"), Decimal("50.00")),
    "gold": (Decimal("150000.00"), Decimal("60.00")),
    "platinum": (Decimal("400000.00"), Decimal("70.00")),
}


def seed_tier_requirements(session, orgs: dict) -> int:
    """The demo tiers' requirements, each only for a tier that has none yet (so a requirement
    set in the demo survives a second seeding). Returns the tiers changed."""
    changed = 0
    for tier in session.scalars(select(Tier).where(Tier.code.in_(DEMO_REQUIREMENTS))):
        if tier.required_won_value_12m is not None or tier.required_acceptance_percent is not None:
            continue
        tier.required_won_value_12m, tier.required_acceptance_percent = DEMO_REQUIREMENTS[tier.code]
        changed += 1
    session.flush()
    return changed


def seed_partner_coverage(session, orgs: dict) -> int:
    """Territories and specialisations of the demo partners, each only for a partner that has
    none yet (so an edit made in the demo survives a second seeding). Returns rows added."""
    added = 0
    for name, (countries, lines) in DEMO_COVERAGE.items():
        org = orgs.get(name)
        if org is None:
            continue
        if session.scalar(select(Territory.id).where(Territory.org_id == org.id).limit(1)) is None:
            session.add_all(Territory(org_id=org.id, country=c) for c in countries)
            added += len(countries)
        has_lines = session.scalar(
            select(Specialisation.id).where(Specialisation.org_id == org.id).limit(1)
        )
        if has_lines is None:
            session.add_all(Specialisation(org_id=org.id, product_line=line) for line in lines)
            added += len(lines)
    session.flush()
    return added


# tier code -> certified people required
DEMO_CERTIFIED_PEOPLE = {"silver": 1, "gold": 2, "platinum": 3}

# person's email -> (kind, name, issuer, obtained days ago, valid for days or None, verified)
DEMO_CERTIFICATIONS = [
    ("admin@alpine.example", "certification", "Northwind Certified Network Engineer",
     "Northwind Academy", 200, 730, True),
    ("sam@alpine.example", "certification", "Northwind Security Specialist",
     "Northwind Academy", 90, 730, True),
    ("sam@alpine.example", "training", "Selling Northwind Cloud", "Northwind Academy", 20, None,
     False),
    ("admin@cobalt.example", "certification", "Northwind Certified Network Engineer",
     "Northwind Academy", 400, 730, True),
    ("admin@brightline.example", "certification", "Northwind Cloud Architect",
     "Northwind Academy", 10, 1095, False),
]  # fmt: skip

# A one-page PDF: the evidence the demo's certifications carry.
DEMO_EVIDENCE = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 100]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def seed_certifications(session, orgs: dict) -> int:
    """The demo tiers' certified-people requirement (each only for a tier that has none yet),
    and the demo people's certifications: some verified, some waiting for the vendor (each only
    if that person has none of that name). Returns the rows added or changed."""
    changed = 0
    for tier in session.scalars(select(Tier).where(Tier.code.in_(DEMO_CERTIFIED_PEOPLE))):
        if tier.required_certified_people is None:
            tier.required_certified_people = DEMO_CERTIFIED_PEOPLE[tier.code]
            changed += 1
    people = {
        u.email: u
        for u in session.scalars(
            select(User).where(User.email.in_([c[0] for c in DEMO_CERTIFICATIONS]))
        )
    }
    held = set(session.execute(select(Certification.user_id, Certification.name)).all())
    vendor_admin = session.scalar(select(User).where(User.email == "admin@northwind.example"))
    today = utcnow().date()
    for email, kind, name, issuer, ago, valid_days, verified in DEMO_CERTIFICATIONS:
        person = people.get(email)
        if person is None or (person.id, name) in held:
            continue
        obtained = today - timedelta(days=ago)
        certification = Certification(
            org_id=person.org_id,
            user_id=person.id,
            kind=kind,
            name=name,
            issuer=issuer,
            issued_on=obtained,
            valid_until=obtained + timedelta(days=valid_days) if valid_days else None,
            recorded_by_id=person.id,
            evidence_filename="certificate.pdf",
            evidence_content_type="application/pdf",
            evidence_size=len(DEMO_EVIDENCE),
            evidence_sha256=hashlib.sha256(DEMO_EVIDENCE).hexdigest(),
            evidence=DEMO_EVIDENCE,
        )
        session.add(certification)
        session.flush()
        if verified:
            actor = Principal.for_user(vendor_admin) if vendor_admin is not None else None
            transition(certification, CertificationStatus.verified, actor=actor)
        changed += 1
    session.flush()
    return changed


def seed_tier_proposals(session, orgs: dict) -> int:
    """The tick's proposals from the demo's standing, once: only when none was ever made (run
    after the deals and leads are seeded, so the standing is the demo's). Returns proposals."""
    if session.scalar(select(TierProposal.id).limit(1)) is not None:
        return 0
    return propose_tier_changes()
