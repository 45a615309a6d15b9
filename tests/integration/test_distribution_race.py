"""Two people of a distributor pass the same lead down to two of its resellers at the same
moment: the database's partial unique index keeps one reseller, and the other person gets a
clear message (409), not a server error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from partners.leads.models import Lead, LeadOffer
from portal.clock import utcnow
from portal.db import Base, unscoped
from portal.engine import make_engine
from portal.identity.models import Organization
from tests import factories
from tests.integration.race_support import together


@pytest.fixture
def committed(app):
    """A distributor with two admins and two resellers, holding a lead the vendor offered it
    (accepted), committed for real and removed again afterwards."""
    session = app.extensions["db"].session_factory()
    made: list[int] = []
    with unscoped(session):
        existed = session.scalar(select(func.count()).where(Organization.kind == "vendor"))
        vendor = factories.vendor_org(session)
        if not existed:
            made.append(vendor.id)
        distributor = factories.make_org(session, "distributor", name="Racing Distribution")
        made.append(distributor.id)
        resellers = []
        for n in range(2):
            reseller = factories.make_org(
                session, "reseller", name=f"Racing Tier Two {n}", managed_by_id=distributor.id
            )
            made.append(reseller.id)
            resellers.append(reseller.id)
        admins = [factories.make_user(session, distributor, "partner_admin") for _ in range(2)]
        lead = factories.make_lead(session, vendor, "Racing Lead AS", "accepted")
        offer = factories.make_offer(session, lead, distributor, "accepted")
        scene = {"admins": admins, "resellers": resellers, "lead": lead.id, "offer": offer.id}
        session.commit()
    session.close()
    yield scene
    admin = make_engine(app.config["DATABASE_URL"])
    with admin.begin() as conn:
        conn.execute(delete(Base.metadata.tables["leads"]).where(Lead.id == scene["lead"]))
        audit = Base.metadata.tables["audit_events"]
        conn.execute(delete(audit).where(audit.c.actor_org_id.in_(made)))
        for table in reversed(Base.metadata.sorted_tables):
            if "org_id" in table.c and table.name != "leads":
                conn.execute(delete(table).where(table.c.org_id.in_(made)))
        organizations = Base.metadata.tables["organizations"]
        conn.execute(delete(organizations).where(organizations.c.id.in_(made[::-1])))
    admin.dispose()


def test_two_pass_downs_at_once_leave_one_reseller(app, client_as, committed):
    clients = [client_as(admin) for admin in committed["admins"]]
    lead_id, resellers = committed["lead"], committed["resellers"]
    due = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    statuses = together(
        app,
        "INSERT INTO lead_offers",
        [
            lambda n=n: (
                clients[n]
                .post(
                    f"/leads/{lead_id}/pass-down",
                    data={"reseller_id": resellers[n], "respond_by": due},
                )
                .status_code
            )
            for n in range(2)
        ],
    )
    assert sorted(statuses) == [302, 409], statuses
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        passed = session.scalars(
            select(LeadOffer.org_id).where(LeadOffer.passed_down_from_id == committed["offer"])
        ).all()
    session.close()
    assert passed == [resellers[statuses.index(302)]]
