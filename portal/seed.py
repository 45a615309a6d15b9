"""The demo world: a vendor, its partners of every tier and kind, customers (some managed by a
reseller), users of every role, and sample records as features arrive. Safe to run again: it only
adds what is missing."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from portal import audit
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
    ("admin@northwind.example", "vendor_admin", "Northwind Systems"),
    ("channel@northwind.example", "channel_manager", "Northwind Systems"),
    ("sales@northwind.example", "sales_rep", "Northwind Systems"),
    ("support@northwind.example", "support_agent", "Northwind Systems"),
    ("admin@alpine.example", "partner_admin", "Alpine IT Solutions"),
    ("sam@alpine.example", "partner_user", "Alpine IT Solutions"),
    ("admin@brightline.example", "partner_admin", "Brightline Resellers"),
    ("admin@cobalt.example", "partner_admin", "Cobalt Networks"),
    ("admin@delta.example", "partner_admin", "Delta Office Partners"),
    ("admin@fjord.example", "partner_admin", "Fjord Distribution"),
    ("admin@evergreen.example", "partner_admin", "Evergreen Components"),
    ("admin@granite.example", "customer_admin", "Granite Bank"),
    ("lee@granite.example", "customer_user", "Granite Bank"),
    ("admin@harbor.example", "customer_admin", "Harbor Logistics"),
    ("admin@iris.example", "customer_admin", "Iris Health Clinics"),
    ("admin@juniper.example", "customer_admin", "Juniper Retail"),
    ("admin@kestrel.example", "customer_admin", "Kestrel Manufacturing"),
]


# client_id, secret, organisation, service role, scopes (the README lists these)
DEMO_API_CLIENTS = [
    (
        "alpine-erp",
        "alpine-demo-secret-2026",
        "Alpine IT Solutions",
        "partner_admin",
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
        "partner_user",
        ["organizations:read", "leads:read", "deals:read", "deals:write", "quotes:read"],
    ),
]


# Feature packages add their part of the demo world: ``func(session, orgs)`` returning how many
# rows it added, run after the organisations and users exist, in order of registration. Each
# must be safe to run again (add only what is missing).
SEEDERS: list = []


def register_seeder(func):
    SEEDERS.append(func)
    return func


def _name_from_email(email: str, org: str) -> str:
    local = email.split("@")[0]
    return f"{org.split()[0]} {'Admin' if local == 'admin' else local.capitalize()}"


def seed_demo_world() -> int:
    """Create what is missing of the demo world and commit; returns how many rows were added."""
    session = db.session
    added = 0
    with unscoped(session):
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
        # Features seed through their services, which build links: give them a request.
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
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
            select(User).where(User.org_id == org.id, User.role == "partner_admin")
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
