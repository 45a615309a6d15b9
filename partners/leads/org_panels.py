"""The organisation page's leads section: leads offered to a partner and leads it shared."""

from __future__ import annotations

from sqlalchemy import func, select

from partners.leads.models import LeadOffer, OfferStatus, SharedLead
from portal.db import db
from portal.panels import Panel


def leads(principal, *, org_id: int) -> dict | None:
    """Three statements: offers by state, shared leads by state, the five latest shared leads."""
    offers = dict(
        db.session.execute(
            select(LeadOffer.status, func.count())
            .where(LeadOffer.org_id == org_id)
            .group_by(LeadOffer.status)
        ).all()
    )
    shared = dict(
        db.session.execute(
            select(SharedLead.status, func.count())
            .where(SharedLead.org_id == org_id)
            .group_by(SharedLead.status)
        ).all()
    )
    if not offers and not shared:
        return None
    latest = db.session.scalars(
        select(SharedLead)
        .where(SharedLead.org_id == org_id)
        .order_by(SharedLead.id.desc())
        .limit(5)
    ).all()
    return {
        "open_offers": offers.get(OfferStatus.offered, 0),
        "accepted": offers.get(OfferStatus.accepted, 0),
        "offers": sum(offers.values()),
        "shared": shared,
        "latest_shared": latest,
    }


PANELS = (
    Panel(
        "leads",
        "partners/leads/_org_leads.html",
        leads,
        action="leads.view",
        audiences=("vendor", "partner"),
        order=10,
    ),
)
