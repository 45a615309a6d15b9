"""The partner programme's part of the demo world: where the demo partners sell and what they
are qualified for. The tiers themselves come with the migration that made their table."""

from __future__ import annotations

from sqlalchemy import select

from partners.program.models import Specialisation, Territory
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
