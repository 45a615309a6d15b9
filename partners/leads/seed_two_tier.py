"""Demo of two tiers: Fjord Distribution with two resellers attached (Delta Office Partners, and
Skagen IT Partners with its admin), a lead the vendor offered to Fjord that Fjord passed down to
Skagen (waiting for Skagen's answer), and one offered to Fjord to pass down. Built through the
services, as real use. Safe to run again: it adds only what is missing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from partners.leads import services
from partners.leads.models import Lead
from partners.program.models import Specialisation, Territory
from portal import access, audit
from portal.clock import utcnow
from portal.errors import DomainError
from portal.identity.models import Organization, User
from portal.identity.passwords import hash_password
from portal.seed import DEMO_PASSWORD
from portal.tenancy import Principal

DISTRIBUTOR = "Fjord Distribution"
ATTACHED = "Delta Office Partners"  # an existing reseller, attached if it has no distributor
RESELLER = "Skagen IT Partners"
RESELLER_ADMIN = "admin@skagen.example"
RESELLER_COVERAGE = (("NO", "DK"), ("storage",))
# company, contact, email, country, product line, passed down to Skagen?
LEADS = [
    ("Bergen Havn AS", "Kari Nilsen", "k.nilsen@bergenhavn.example", "NO", "storage", True),
    ("Aarhus Logistik A/S", "Mads Holm", "m.holm@aarhuslogistik.example", "DK", "storage", False),
]


def _reseller(session, orgs: dict, fjord: Organization) -> tuple[Organization, int]:
    reseller = orgs.get(RESELLER)
    if reseller is not None:
        return reseller, 0
    reseller = Organization(
        name=RESELLER, kind="reseller", tier="registered", managed_by_id=fjord.id
    )
    session.add(reseller)
    session.flush()
    audit.record(
        "organization.created",
        reseller,
        actor=None,
        after=audit.snapshot(reseller, ["name", "kind", "tier", "managed_by_id"]),
    )
    orgs[RESELLER] = reseller
    countries, lines = RESELLER_COVERAGE
    session.add_all(Territory(org_id=reseller.id, country=c) for c in countries)
    session.add_all(Specialisation(org_id=reseller.id, product_line=p) for p in lines)
    return reseller, 1 + len(countries) + len(lines)


def _admin(session, org: Organization, email: str) -> tuple[User, int]:
    user = session.scalar(select(User).where(User.email == email))
    if user is not None:
        return user, 0
    user = User(
        org_id=org.id,
        email=email,
        role=access.PARTNER_ADMIN,
        name=f"{org.name.split()[0]} Admin",
        password_hash=hash_password(DEMO_PASSWORD),
    )
    session.add(user)
    session.flush()
    return user, 1


def _leads(session, fjord: Organization, reseller: Organization) -> int:
    companies = [company for company, *_ in LEADS]
    if session.scalar(select(Lead.id).where(Lead.company.in_(companies)).limit(1)) is not None:
        return 0
    channel = session.scalar(select(User).where(User.email == "channel@northwind.example"))
    fjord_admin = session.scalar(select(User).where(User.email == "admin@fjord.example"))
    if channel is None or fjord_admin is None:
        return 0
    vendor, distributor = Principal.for_user(channel), Principal.for_user(fjord_admin)
    added = 0
    for company, contact, email, country, line, passed in LEADS:
        values = {
            "company": company,
            "contact_name": contact,
            "email": email,
            "country": country,
            "product_line": line,
            "notes": "Demo lead for the two-tier channel.",
        }
        lead = services.create_lead(values, actor=vendor, source="demo")
        added += 1
        try:
            offer = services.offer_lead(
                lead, fjord, actor=vendor, note="For Fjord's resellers in the Nordics."
            )
            if passed:
                services.pass_down(offer, reseller, utcnow() + timedelta(days=2), actor=distributor)
        except DomainError:
            continue  # Fjord holds its tier's most open leads: the lead stays new
    return added


def seed_two_tier(session, orgs: dict[str, Organization]) -> int:
    fjord = orgs.get(DISTRIBUTOR)
    if fjord is None:
        return 0
    added = 0
    delta = orgs.get(ATTACHED)
    if delta is not None and delta.managed_by_id is None:
        delta.managed_by_id = fjord.id
        session.flush()
        audit.record("organization.updated", delta, actor=None, after={"managed_by_id": fjord.id})
        added += 1
    reseller, count = _reseller(session, orgs, fjord)
    added += count
    added += _admin(session, reseller, RESELLER_ADMIN)[1]
    session.flush()
    return added + _leads(session, fjord, reseller)
