"""Deal registrations in every state for the demo world, with conflicts to review."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from partners.deals import matching, services
from partners.deals.models import DealRegistration, DealStatus, DirectDeal
from portal import access
from portal.clock import utcnow
from portal.identity.models import User
from portal.tenancy import Principal
from portal.workflow import transition

# partner, customer, domain, products, value, then what happens to it
REGISTRATIONS = [
    (
        "Alpine IT Solutions",
        "Hawthorne Retail Group",
        "hawthorne-retail.com",
        ["Core switches", "Wi-Fi 7 access points"],
        "184000.00",
        "approve",
    ),
    (
        "Cobalt Networks",
        "Hawthorne Retail Group Ltd",
        "hawthorne-retail.com",
        ["Firewalls"],
        "96000.00",
        "submit",
    ),  # conflicts with Alpine's
    (
        "Delta Office Partners",
        "Meridian Foods GmbH",
        "meridian-foods.de",
        ["Branch routers"],
        "41000.00",
        "submit",
    ),  # conflicts with the vendor's direct deal
    (
        "Brightline Resellers",
        "Orchid Dental Clinics",
        "orchid-dental.co.uk",
        ["Collaboration suite"],
        "23500.00",
        "info",
    ),
    (
        "Alpine IT Solutions",
        "Tannenberg Versicherung AG",
        "tannenberg-vers.de",
        ["Security gateway"],
        "77000.00",
        "reject",
    ),
    (
        "Cobalt Networks",
        "Pinecrest University",
        "pinecrest.edu",
        ["Campus network"],
        "410000.00",
        "won",
    ),
    (
        "Brightline Resellers",
        "Harrow & Finch Solicitors",
        "harrowfinch.co.uk",
        ["Storage array"],
        "38000.00",
        "lost",
    ),
    (
        "Fjord Distribution",
        "Nordlys Shipping AS",
        "nordlys-shipping.no",
        ["Storage array", "Backup"],
        "65000.00",
        "draft",
    ),
    (
        "Alpine IT Solutions",
        "Bergwerk Maschinenbau GmbH",
        "bergwerk-mb.ch",
        ["Industrial switches"],
        "52000.00",
        "expired",
    ),
    (
        "Brightline Resellers",
        "Saltmarsh Brewing Co",
        "saltmarsh-brewing.co.uk",
        ["Wi-Fi 7 access points"],
        "31000.00",
        "submit",
    ),  # no conflict: approved in one click
]


def seed_deals(session, orgs: dict) -> int:
    if session.scalar(select(func.count()).select_from(DealRegistration)):
        return 0
    vendor = orgs["Northwind Systems"]
    manager = session.scalar(
        select(User).where(User.org_id == vendor.id, User.role == access.CHANNEL_MANAGER)
    )
    reviewer = Principal.for_user(manager)
    session.add(
        DirectDeal(
            org_id=vendor.id,
            customer_name="Meridian Foods",
            customer_name_key=matching.name_key("Meridian Foods"),
            customer_domain="meridian-foods.de",
            value="150000.00",
            currency="EUR",
            owner_id=manager.id,
        )
    )
    session.flush()
    for partner_name, customer, domain, products, value, fate in REGISTRATIONS:
        partner = orgs[partner_name]
        admin = session.scalar(
            select(User).where(User.org_id == partner.id, User.role == access.PARTNER_ADMIN)
        )
        actor = Principal.for_user(admin)
        deal = services.register_deal(
            partner,
            {
                "customer_name": customer,
                "customer_domain": domain,
                "products": products,
                "value": value,
                "currency": "EUR" if not domain.endswith(".co.uk") else "GBP",
                "expected_close": (utcnow() + timedelta(days=60)).date(),
                "contact_name": "Procurement",
                "contact_email": f"buyer@{domain}",
            },
            submit=fate != "draft",
            actor=actor,
        )
        if fate in ("approve", "won", "lost", "expired"):
            services.approve_deal(deal, protection_days=None, actor=reviewer)
        if fate in ("won", "lost"):
            services.close_deal(deal, outcome=fate, actor=actor)
        if fate == "expired":
            transition(
                deal,
                DealStatus.expired,
                actor=None,
                changes={"expires_at": utcnow() - timedelta(days=1)},
            )
        if fate == "reject":
            services.reject_deal(
                deal,
                reason="The customer is served directly by Northwind's enterprise team.",
                actor=reviewer,
            )
        if fate == "info":
            services.request_information(
                deal,
                message="Which sites are in scope, and who is the economic buyer?",
                actor=reviewer,
            )
    return len(REGISTRATIONS) + 1
