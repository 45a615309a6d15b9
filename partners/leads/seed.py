"""Demo leads: partners' territories and specialisations (where they have none), leads in every
state, offers made by rule and by hand, accepted, declined, expired and recalled, and leads
partners shared (waiting, approved, rejected). Built through the services, so the demo has the
same audit trail and notifications as real use. Safe to run again: it adds leads only once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from partners.leads import queries, services
from partners.leads.models import Lead
from partners.program.models import Specialisation, Territory
from portal import access
from portal.clock import utcnow
from portal.identity.models import Organization, User
from portal.product_lines import PRODUCT_LINES
from portal.tenancy import Principal

SOURCE = "demo"

# partner -> (territories, specialisations), given only to a partner that has neither yet. The
# same as the programme's demo coverage (partners/program/seed.py), whichever seeder runs first.
COVERAGE = {
    "Alpine IT Solutions": (("CH", "DE", "AT"), ("networking", "security")),
    "Brightline Resellers": (("GB", "IE"), ("cloud", "collaboration")),
    "Cobalt Networks": (("US", "CA"), tuple(PRODUCT_LINES)),
    "Delta Office Partners": (("FR",), ()),
    "Fjord Distribution": (("NO", "SE", "DK"), ("storage",)),
}

# company, contact, email, country, product line, what happens to it
LEADS = [
    (
        "Bergwerk Maschinenbau GmbH",
        "Jonas Keller",
        "j.keller@bergwerk.example",
        "DE",
        "networking",
        "offered",
    ),
    ("Salzach Kliniken", "Eva Brunner", "e.brunner@salzach.example", "AT", "security", "offered"),
    ("Göteborg Lagerhus AB", "Elsa Lind", "e.lind@lagerhus.example", "SE", "storage", "offered"),
    ("Maple Leaf Couriers", "Ethan Roy", "e.roy@mapleleaf.example", "CA", "services", "offered"),
    (
        "Thames Valley Insurance",
        "Oliver Grant",
        "o.grant@thamesvalley.example",
        "GB",
        "cloud",
        "accepted",
    ),
    ("Zürcher Privatbank AG", "Lukas Meier", "l.meier@zpb.example", "CH", "security", "accepted"),
    ("Nordlys Energi AS", "Ingrid Solberg", "i.solberg@nordlys.example", "NO", "storage", "won"),
    (
        "Great Lakes Dental Group",
        "Maria Lopez",
        "m.lopez@gldental.example",
        "US",
        "collaboration",
        "lost",
    ),
    (
        "Hanse Handelshaus KG",
        "Frieda Lorenz",
        "f.lorenz@hanse.example",
        "DE",
        "networking",
        "declined",
    ),
    ("Liffey Software Ltd", "Aoife Byrne", "a.byrne@liffey.example", "IE", "cloud", "expired"),
    (
        "Schwarzwald Präzision GmbH",
        "Tobias Wagner",
        "t.wagner@swp.example",
        "DE",
        "security",
        "expired_then_by_hand",
    ),
    (
        "Toronto Legal LLP",
        "Chloe Martin",
        "c.martin@torontolegal.example",
        "CA",
        "cloud",
        "recalled",
    ),
    ("Rhône Logistique SA", "Claire Martin", "c.martin@rhone.example", "FR", "cloud", "no_partner"),
    (
        "Kyoto Robotics KK",
        "Haruto Sato",
        "h.sato@kyoto-robotics.example",
        "JP",
        "networking",
        "no_partner",
    ),
    ("Lisboa Seguros SA", "Inês Costa", "i.costa@lisboaseguros.example", "PT", "security", "new"),
    ("Danube Shipping Kft", "Gábor Nagy", "g.nagy@danube.example", "HU", "storage", "new"),
    ("Helsinki Data Oy", "Aino Virtanen", "a.virtanen@hdata.example", "FI", "storage", "new"),
    ("Pacific Coast Realty", "Noah Kim", "n.kim@pcrealty.example", "US", "services", "new"),
]

# company, contact, email, country, line, partner, what the vendor decides (None: waits)
SHARED = [
    (
        "Innsbruck Alpine Hotels",
        "Sophie Huber",
        "s.huber@iah.example",
        "AT",
        "networking",
        "Alpine IT Solutions",
        None,
    ),
    (
        "Graz Medical Devices",
        "Paul Gruber",
        "p.gruber@gmd.example",
        "AT",
        "security",
        "Alpine IT Solutions",
        "approved",
    ),
    (
        "Oslo Fish Export",
        "Sindre Berg",
        "s.berg@ofe.example",
        "NO",
        "storage",
        "Evergreen Components",
        "rejected",
    ),
    (
        "Trondheim Timber",
        "Kari Lie",
        "k.lie@timber.example",
        "NO",
        "networking",
        "Evergreen Components",
        None,
    ),
]


def _principal(session, email: str) -> Principal | None:
    user = session.scalar(select(User).where(User.email == email))
    return Principal.for_user(user) if user is not None else None


def _coverage(session, orgs: dict[str, Organization]) -> int:
    added = 0
    for name, (countries, lines) in COVERAGE.items():
        org = orgs.get(name)
        if org is None:
            continue
        has_any = session.scalar(
            select(Territory.id).where(Territory.org_id == org.id).limit(1)
        ) or session.scalar(
            select(Specialisation.id).where(Specialisation.org_id == org.id).limit(1)
        )
        if has_any is not None:
            continue  # the programme's seeder (or a person) already set it
        session.add_all(Territory(org_id=org.id, country=c) for c in countries)
        session.add_all(Specialisation(org_id=org.id, product_line=p) for p in lines)
        added += len(countries) + len(lines)
    session.flush()
    return added


def _partner_of(session, lead: Lead) -> Principal | None:
    """The admin of the partner the lead is offered to."""
    offer = queries.open_offer(lead.id)
    if offer is None:
        return None
    admin = session.scalar(
        select(User).where(User.org_id == offer.org_id, User.role == access.PARTNER_ADMIN).limit(1)
    )
    return Principal.for_user(admin) if admin is not None else None


def _play(session, lead: Lead, story: str, vendor: Principal, orgs: dict) -> None:
    if story in ("new", "no_partner"):
        if story == "no_partner":
            services.offer_by_rule(lead, actor=vendor)
        return
    if services.offer_by_rule(lead, actor=vendor) is None:
        return
    partner = _partner_of(session, lead)
    if story in ("accepted", "won", "lost") and partner is not None:
        offer = queries.open_offer(lead.id)
        services.accept_offer(offer, actor=partner)
        if story != "accepted":
            services.close_lead(lead, story, actor=partner)
    elif story == "declined" and partner is not None:
        services.decline_offer(
            queries.open_offer(lead.id),
            "Outside our current capacity this quarter.",
            actor=partner,
        )
    elif story.startswith("expired"):
        # As if it was offered three days ago and nobody answered: the system expires it and
        # passes the lead on by rule, exactly as the tick does (here nobody else fits).
        offer = queries.open_offer(lead.id)
        offer.offered_at = utcnow() - timedelta(days=3)
        offer.respond_by = utcnow() - timedelta(hours=1)
        session.flush()
        if services.expire_offer(offer) is None and story == "expired_then_by_hand":
            services.offer_lead(
                lead, orgs["Cobalt Networks"], actor=vendor, note="Cobalt has a DE office now."
            )
    elif story == "recalled":
        services.recall_offer(lead, actor=vendor)


def seed_leads(session, orgs: dict[str, Organization]) -> int:
    added = _coverage(session, orgs)
    if session.scalar(select(Lead.id).where(Lead.source == SOURCE).limit(1)) is not None:
        return added
    vendor = _principal(session, "channel@northwind.example")
    if vendor is None:
        return added
    for company, contact, email, country, line, story in LEADS:
        lead = services.create_lead(
            {
                "company": company,
                "contact_name": contact,
                "email": email,
                "country": country,
                "product_line": line,
                "notes": "Demo lead.",
            },
            actor=vendor,
            source=SOURCE,
        )
        _play(session, lead, story, vendor, orgs)
        added += 1
    for company, contact, email, country, line, partner, decision in SHARED:
        admin = session.scalar(
            select(User)
            .join(Organization, Organization.id == User.org_id)
            .where(Organization.name == partner, User.role == access.PARTNER_ADMIN)
            .limit(1)
        )
        if admin is None:
            continue
        shared = services.submit_shared_lead(
            {
                "company": company,
                "contact_name": contact,
                "email": email,
                "country": country,
                "product_line": line,
                "notes": "Met them at a customer event.",
            },
            actor=Principal.for_user(admin),
        )
        if decision == "approved":
            services.approve_shared_lead(shared, actor=vendor, note="Good find, thanks.")
        elif decision == "rejected":
            services.reject_shared_lead(
                shared, "Already in our pipeline through a direct contact.", actor=vendor
            )
        added += 1
    session.flush()
    return added
