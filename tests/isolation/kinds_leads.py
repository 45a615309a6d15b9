"""Leads and shared leads in the isolation matrix.

The home partner holds one lead (offered to it) and shared one lead. Foreign to it: a lead
offered to the foreign reseller, a lead never offered, a lead recalled from the home partner and
one it declined (both 404 once the offer ended), and the foreign reseller's shared lead. Their
names are markers: they must never appear on a partner's or customer's page.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from partners.leads.models import Lead, LeadOffer, SharedLead
from portal.clock import utcnow
from tests.factories import make_lead, make_offer, make_shared_lead
from tests.isolation.world import World, record_kind


def _seed(db, w: World) -> None:
    home = w.home["partner"]
    make_offer(db, make_lead(db, w.vendor, "Home Offered Lead Co", "offered"), home)
    make_shared_lead(db, home, "Home Shared Lead Co")
    gone = {
        "Recalled Lead ZZQR": "recalled",
        "Declined Lead ZZQK": "declined",
        "Expired Lead ZZQE": "expired",
    }
    for company, status in gone.items():
        make_offer(db, make_lead(db, w.vendor, company), home, status)
        w.markers.append(company)
    make_lead(db, w.vendor, "Unoffered Lead ZZQU", email="unoffered-zzqu@lead.test")
    w.markers += ["Unoffered Lead ZZQU", "unoffered-zzqu@lead.test"]
    for org in w.foreign:
        if org.kind != "reseller":
            continue
        make_offer(db, make_lead(db, w.vendor, f"Foreign Lead ZZQL {org.id}", "offered"), org)
        make_shared_lead(db, org, f"Foreign Shared ZZQS {org.id}", email="shared-zzqs@foreign.test")
        w.markers += [f"Foreign Lead ZZQL {org.id}", f"Foreign Shared ZZQS {org.id}"]
        w.markers.append("shared-zzqs@foreign.test")


def _home_lead_ids(db, w: World) -> set[int]:
    return {
        o.lead_id
        for o in db.query(LeadOffer).filter(
            LeadOffer.org_id == w.home["partner"].id,
            LeadOffer.status.in_(("offered", "accepted")),
        )
    }


def _foreign_leads(db, w: World, role) -> list[int]:
    if role.audience == "vendor":
        return []  # vendor staff see every lead
    visible = _home_lead_ids(db, w) if role.audience == "partner" else set()
    return [lead.id for lead in db.query(Lead).order_by(Lead.id) if lead.id not in visible]


def _own_lead(db, w: World, role) -> int:
    return db.query(Lead).filter_by(company="Home Offered Lead Co").one().id


def _foreign_shared(db, w: World, role) -> list[int]:
    if role.audience == "vendor":
        return []
    home = w.home[role.audience].id
    return [s.id for s in db.query(SharedLead).filter(SharedLead.org_id != home)]


def _own_shared(db, w: World, role) -> int:
    return db.query(SharedLead).filter_by(company="Home Shared Lead Co").one().id


record_kind("lead_id", foreign=_foreign_leads, own=_own_lead, seed=_seed)
record_kind("shared_id", foreign=_foreign_shared, own=_own_shared)


# Builders the lead tests share (tests/integration/test_leads*.py).


def cover(db, org, countries=("DE",), lines=("networking",)) -> None:
    """Give a partner territories and specialisations."""
    from partners.program.models import Specialisation, Territory

    db.add_all(Territory(org_id=org.id, country=c) for c in countries)
    db.add_all(Specialisation(org_id=org.id, product_line=p) for p in lines)
    db.flush()


def bearer_for(db, user, scopes: str = "leads:read leads:write") -> dict:
    """Authorization headers of an API token acting as ``user`` with ``scopes``."""
    import secrets

    from portal.identity.tokens import hash_token
    from portal.oauth.models import OAuthClient, OAuthToken

    client = OAuthClient(
        org_id=user.org_id,
        client_id=f"leads-test-{secrets.token_hex(6)}",
        name="Leads test client",
        secret_hash=hash_token("secret"),
        redirect_uris=[],
        scopes=scopes,
    )
    db.add(client)
    db.flush()
    raw = secrets.token_urlsafe(24)
    db.add(
        OAuthToken(
            org_id=user.org_id,
            client_pk=client.id,
            user_id=user.id,
            access_token_hash=hash_token(raw),
            scope=scopes,
            expires_at=utcnow() + timedelta(days=30),
        )
    )
    db.flush()
    return {"Authorization": f"Bearer {raw}"}


@contextmanager
def acting_as(app, user):
    """A request context whose session acts as ``user`` (the tenant wall on), for calling
    services directly; yields the principal, and commits (as a view would) if nothing raised."""
    from portal.db import db as portal_db
    from portal.db import set_principal
    from portal.tenancy import Principal

    with app.test_request_context():
        principal = Principal.for_user(user)
        set_principal(portal_db.session, principal)
        yield principal
        portal_db.session.commit()


def mine(obj):
    """``obj`` as the acting session (``acting_as``) loads it, through the tenant wall."""
    from sqlalchemy import select

    from portal.db import db as portal_db

    model = type(obj)
    return portal_db.session.scalars(select(model).where(model.id == obj.id)).one()
