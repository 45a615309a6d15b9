"""Sourcing's part of the demo world: a supplier of each relationship type (Evergreen
Components exists; the others are added, each with an admin) and a request for quotation with
one offer sent and one awaited. Adds only what is missing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from partners.sourcing.models import (
    OfferStatus,
    Rfq,
    RfqStatus,
    SupplierOffer,
    SupplierOfferLine,
)
from portal import access, audit
from portal.clock import utcnow
from portal.identity.models import Organization, User
from portal.identity.passwords import hash_password
from portal.seed import DEMO_PASSWORD

# name, relationship, admin's email (Evergreen's admin is in portal.seed's users)
DEMO_SUPPLIERS = [
    ("Evergreen Components", "ongoing_relationship", None),
    ("Quarry Bulk Supply", "buy_the_market", "admin@quarry.example"),
    ("Summit Precision Parts", "partnership", "admin@summit.example"),
    ("Tidewater Cable Alliance", "strategic_alliance", "admin@tidewater.example"),
    ("Umber Foundry", "backward_integration", "admin@umber.example"),
]
DEMO_RFQ_TITLE = "Rack-mount enclosures for the 2027 appliance line"


def seed_suppliers(session, orgs: dict) -> int:
    """The demo suppliers, and each one's relationship where none is set yet."""
    added = 0
    for name, relationship, email in DEMO_SUPPLIERS:
        org = orgs.get(name)
        if org is None:
            org = Organization(name=name, kind="supplier", supplier_relationship=relationship)
            session.add(org)
            session.flush()
            audit.record(
                "organization.created",
                org,
                actor=None,
                after=audit.snapshot(org, ["name", "kind", "supplier_relationship"]),
            )
            orgs[name] = org
            added += 1
        elif org.kind == "supplier" and org.supplier_relationship is None:
            org.supplier_relationship = relationship
            added += 1
        if email and session.scalar(select(User.id).where(User.email == email)) is None:
            session.add(
                User(
                    org_id=org.id,
                    email=email,
                    role=access.PARTNER_ADMIN,
                    name=f"{name.split()[0]} Admin",
                    password_hash=hash_password(DEMO_PASSWORD),
                )
            )
            added += 1
    session.flush()
    return added


def seed_rfq(session, orgs: dict) -> int:
    """One open RFQ to Evergreen and Summit: Evergreen has sent its offer, Summit has not."""
    if session.scalar(select(Rfq.id).where(Rfq.title == DEMO_RFQ_TITLE)) is not None:
        return 0
    vendor, evergreen, summit = (
        orgs.get(n) for n in ("Northwind Systems", "Evergreen Components", "Summit Precision Parts")
    )
    if vendor is None or evergreen is None or summit is None:
        return 0
    now = utcnow()
    rfq = Rfq(
        org_id=vendor.id,
        number="pending",
        title=DEMO_RFQ_TITLE,
        needs="400 x 2U steel enclosures, powder-coated black, delivered to Hamburg by March.",
        respond_by=(now + timedelta(days=21)).date(),
        status=RfqStatus.open,
    )
    session.add(rfq)
    session.flush()
    rfq.number = f"RFQ-{rfq.created_at.year}-{rfq.id:05d}"
    sent = SupplierOffer(
        rfq_id=rfq.id,
        org_id=evergreen.id,
        status=OfferStatus.submitted,
        currency="EUR",
        total=Decimal("34800.00"),
        note="Prices hold for 60 days.",
        submitted_at=now,
    )
    waiting = SupplierOffer(rfq_id=rfq.id, org_id=summit.id, status=OfferStatus.requested)
    session.add_all([sent, waiting])
    session.flush()
    session.add_all(
        [
            SupplierOfferLine(
                offer_id=sent.id,
                org_id=evergreen.id,
                position=1,
                description="2U enclosure, powder-coated",
                quantity=400,
                unit_price=Decimal("82.00"),
            ),
            SupplierOfferLine(
                offer_id=sent.id,
                org_id=evergreen.id,
                position=2,
                description="Delivery to Hamburg",
                quantity=1,
                unit_price=Decimal("2000.00"),
            ),
        ]
    )
    session.flush()
    return 5
