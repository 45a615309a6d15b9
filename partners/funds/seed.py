"""Market development funds in the demo world: funds per quarter for the paying tiers, and
Alpine's budget this quarter with a request paid out, one claimed and waiting for approval, and
one waiting for a decision; a request of Brightline's waiting too. Through the services, as the
partners and the channel team would; only where Alpine has no request yet."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from partners.funds import services
from partners.funds.models import FundRequest
from partners.program.models import Tier
from portal.clock import utcnow
from portal.identity.models import User
from portal.tenancy import Principal

DEMO_TIER_FUNDS = {
    "silver": Decimal("5000.00"),
    "gold": Decimal("10000.00"),
    "platinum": Decimal("20000.00"),
}
PROOF = b"%PDF-1.4\n% Northwind demo: proof of performance\n"


def seed_funds(session, orgs: dict) -> int:
    """Returns the rows added."""
    added = 0
    for tier in session.scalars(select(Tier).where(Tier.code.in_(DEMO_TIER_FUNDS))):
        if tier.mdf_quarterly_budget is None:
            tier.mdf_quarterly_budget = DEMO_TIER_FUNDS[tier.code]
            added += 1
    session.flush()
    alpine, brightline = orgs.get("Alpine IT Solutions"), orgs.get("Brightline Resellers")
    if alpine is None or brightline is None:
        return added
    if session.scalar(select(FundRequest.id).where(FundRequest.org_id == alpine.id).limit(1)):
        return added
    people = {
        u.email: Principal.for_user(u)
        for u in session.scalars(
            select(User).where(
                User.email.in_(
                    [
                        "admin@alpine.example",
                        "admin@brightline.example",
                        "channel@northwind.example",
                    ]
                )
            )
        )
    }
    partner, channel = people["admin@alpine.example"], people["channel@northwind.example"]
    year, quarter = services.current_quarter()
    start = utcnow().date().replace(month=3 * quarter - 2, day=1)

    def ask(org, who, activity, amount, days):
        return services.request_funds(
            org,
            activity=activity,
            description="",
            amount=Decimal(amount),
            starts_on=start,
            ends_on=start + timedelta(days=days),
            actor=who,
        )

    def claim(record, amount, name):
        return services.claim_funds(
            record, amount=Decimal(amount), description="", files=[(name, PROOF)], actor=partner
        )

    webinars = ask(alpine, partner, "Webinar series: secure branch networking", "3000", 30)
    services.approve_request(webinars, actor=channel)
    paid = claim(webinars, "2800", "webinar-invoices.pdf")
    services.approve_claim(paid, actor=channel)
    services.pay_claim(paid, reference="NW-MDF-0001", actor=channel)
    security_day = ask(alpine, partner, "Customer security day in Zurich", "5000", 1)
    services.approve_request(security_day, actor=channel)
    claim(security_day, "4650", "security-day-proof.pdf")
    ask(alpine, partner, "Trade fair stand at Swiss IT Forum", "1500", 3)
    if "admin@brightline.example" in people:
        ask(
            brightline, people["admin@brightline.example"], "Partner newsletter, spring", "1000", 60
        )
    session.flush()
    return added + 4
