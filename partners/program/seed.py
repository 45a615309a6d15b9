"""The partner programme's part of the demo world: where the demo partners sell and what they
are qualified for, and what each tier requires of its partners (the partner scorecard measures
them against it). The tiers themselves come with the migration that made their table."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from partners.program.models import Specialisation, Territory, Tier
from portal.product_lines import PRODUCT_LINES

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
