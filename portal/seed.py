"""The demo world: a vendor, its partners of every tier and kind, customers (some managed by a
reseller), users of every role, and sample records as features arrive. Safe to run again: it only
adds what is missing."""

from __future__ import annotations

from sqlalchemy import select

from portal import access, audit
from portal.db import db, unscoped
from portal.identity.models import Organization, User
from portal.identity.passwords import hash_password

DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105 - published in the README on purpose

# name, kind, tier, managed by
ORGANIZATIONS = [
    ("Northwind Systems", "vendor", None, None),
    ("Alpine IT Solutions", "reseller", "gold", None),
    ("Brightline Resellers", "reseller", "silver", None),
    ("Cobalt Networks", "reseller", "platinum", None),
    ("Delta Office Partners", "reseller", "registered", None),
    ("Fjord Distribution", "distributor", "silver", None),
    ("Evergreen Components", "supplier", None, None),
    ("Granite Bank", "customer", None, "Alpine IT Solutions"),
    ("Harbor Logistics", "customer", None, "Alpine IT Solutions"),
    ("Iris Health Clinics", "customer", None, "Brightline Resellers"),
    ("Juniper Retail", "customer", None, None),
    ("Kestrel Manufacturing", "customer", None, None),
]

# email, role, organisation (the README lists these)
DEMO_USERS = [
    ("admin@northwind.example", access.VENDOR_ADMIN, "Northwind Systems"),
    ("channel@northwind.example", access.CHANNEL_MANAGER, "Northwind Systems"),
    ("sales@northwind.example", access.SALES_REP, "Northwind Systems"),
    ("support@northwind.example", access.SUPPORT_AGENT, "Northwind Systems"),
    ("admin@alpine.example", access.PARTNER_ADMIN, "Alpine IT Solutions"),
    ("sam@alpine.example", access.PARTNER_USER, "Alpine IT Solutions"),
    ("admin@brightline.example", access.PARTNER_ADMIN, "Brightline Resellers"),
    ("admin@cobalt.example", access.PARTNER_ADMIN, "Cobalt Networks"),
    ("admin@delta.example", access.PARTNER_ADMIN, "Delta Office Partners"),
    ("admin@fjord.example", access.PARTNER_ADMIN, "Fjord Distribution"),
    ("admin@evergreen.example", access.PARTNER_ADMIN, "Evergreen Components"),
    ("admin@granite.example", access.CUSTOMER_ADMIN, "Granite Bank"),
    ("lee@granite.example", access.CUSTOMER_USER, "Granite Bank"),
    ("admin@harbor.example", access.CUSTOMER_ADMIN, "Harbor Logistics"),
    ("admin@iris.example", access.CUSTOMER_ADMIN, "Iris Health Clinics"),
    ("admin@juniper.example", access.CUSTOMER_ADMIN, "Juniper Retail"),
    ("admin@kestrel.example", access.CUSTOMER_ADMIN, "Kestrel Manufacturing"),
]


# client_id, secret, organisation, service role, scopes (the README lists these)
DEMO_API_CLIENTS = [
    (
        "alpine-erp",
        "alpine-demo-secret-2026",
        "Alpine IT Solutions",
        access.PARTNER_ADMIN,
        [
            "organizations:read",
            "users:read",
            "users:write",
            "leads:read",
            "leads:write",
            "deals:read",
            "deals:write",
            "quotes:read",
            "cases:read",
            "cases:write",
        ],
    ),
    (
        "brightline-crm",
        "brightline-demo-secret-2026",
        "Brightline Resellers",
        access.PARTNER_USER,
        ["organizations:read", "leads:read", "deals:read", "deals:write", "quotes:read"],
    ),
]


# Feature packages add their part of the demo world: ``func(session, orgs)`` returning how many
# rows it added, run after the organisations and users exist, in order of registration. Each
# must be safe to run again (add only what is missing).
SEEDERS: list = []


def add_seeder(func) -> None:
    """Run ``func`` when the demo world is seeded (a package's ``init_app`` adds it; adding the
    same function again keeps one)."""
    key = (func.__module__, func.__qualname__)
    SEEDERS[:] = [f for f in SEEDERS if (f.__module__, f.__qualname__) != key]
    SEEDERS.append(func)


def _name_from_email(email: str, org: str) -> str:
    local = email.split("@")[0]
    return f"{org.split()[0]} {'Admin' if local == 'admin' else local.capitalize()}"


def seed_demo_world() -> int:
    """Create what is missing of the demo world and commit; returns how many rows were added."""
    session = db.session
    added = 0
    with unscoped(session):  # reason: the demo world spans every organisation
        orgs = {o.name: o for o in session.scalars(select(Organization))}
        for name, kind, tier, manager in ORGANIZATIONS:
            if name in orgs:
                continue
            org = Organization(
                name=name, kind=kind, tier=tier, managed_by_id=orgs[manager].id if manager else None
            )
            session.add(org)
            session.flush()
            audit.record(
                "organization.created",
                org,
                actor=None,
                after=audit.snapshot(org, ["name", "kind", "tier"]),
            )
            orgs[name] = org
            added += 1
        existing = set(session.scalars(select(User.email)))
        password_hash = hash_password(DEMO_PASSWORD)
        for email, role, org_name in DEMO_USERS:
            if email in existing:
                continue
            session.add(
                User(
                    org_id=orgs[org_name].id,
                    email=email,
                    role=role,
                    name=_name_from_email(email, org_name),
                    password_hash=password_hash,
                )
            )
            added += 1
        session.flush()
        added += _seed_api_clients(session, orgs)
        # Features seed through their services, which need no request (links are endpoints).
        for seeder in SEEDERS:
            session.flush()
            added += seeder(session, orgs)
        session.commit()
    return added


def _seed_api_clients(session, orgs: dict) -> int:
    from portal.oauth.models import OAuthClient
    from portal.oauth.services import register_client
    from portal.tenancy import Principal

    existing = set(session.scalars(select(OAuthClient.client_id)))
    added = 0
    for client_id, secret, org_name, role, scopes in DEMO_API_CLIENTS:
        if client_id in existing:
            continue
        org = orgs[org_name]
        admin = session.scalar(
            select(User).where(User.org_id == org.id, User.role == access.PARTNER_ADMIN)
        )
        register_client(
            org,
            name=f"{org_name} integration",
            redirect_uris=[],
            scopes=scopes,
            confidential=True,
            service_role=role,
            actor=Principal.for_user(admin),
            client_id=client_id,
            secret=secret,
        )
        added += 1
    return added
