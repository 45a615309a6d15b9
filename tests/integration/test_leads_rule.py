"""The distribution rule: who fits (territory and specialisation, resellers and distributors),
who is skipped (declined, had the lead, at the tier's cap, inactive), how tier weights share the
leads out, and that the choice and its reasons are recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from partners.leads import services
from partners.leads.models import LeadOffer
from portal.audit import AuditEvent
from portal.notify.models import Notification
from tests.factories import make_lead, make_offer
from tests.isolation.kinds_leads import acting_as, cover, mine


@pytest.fixture
def manager(vendor, user_factory):
    return user_factory(vendor, "channel_manager")


def offered_to(db, lead):
    return db.scalar(
        select(LeadOffer.org_id).where(LeadOffer.lead_id == lead.id, LeadOffer.status == "offered")
    )


def test_only_partners_covering_both_territory_and_specialisation_fit(
    app, db, vendor, manager, org_factory
):
    both = org_factory("distributor", tier="registered")
    country_only = org_factory("reseller", tier="platinum")
    line_only = org_factory("reseller", tier="platinum")
    supplier = org_factory("supplier", tier="platinum")
    asleep = org_factory("reseller", tier="platinum", active=False)
    cover(db, both, ("FR",), ("storage",))
    cover(db, country_only, ("FR",), ("cloud",))
    cover(db, line_only, ("BE",), ("storage",))
    cover(db, supplier, ("FR",), ("storage",))
    cover(db, asleep, ("FR",), ("storage",))
    lead = make_lead(db, vendor, "Paris Storage SA", country="FR", product_line="storage")
    with acting_as(app, manager) as actor:
        ranked = services.rank_partners(mine(lead))
        assert [r.org.id for r in ranked] == [both.id]
        offer = services.offer_by_rule(mine(lead), actor=actor)
    assert offer.org_id == both.id


def test_tier_weights_share_the_leads_out_in_proportion(app, db, vendor, manager, org_factory):
    gold = org_factory("reseller", tier="gold")  # weight 3, cap 10
    registered = org_factory("reseller", tier="registered")  # weight 1, cap 3
    for org in (gold, registered):
        cover(db, org, ("DE",), ("security",))
    picks = []
    with acting_as(app, manager) as actor:
        for n in range(8):
            lead = make_lead(db, vendor, f"Weighted {n}", country="DE", product_line="security")
            picks.append(services.offer_by_rule(mine(lead), actor=actor).org_id)
    # D'Hondt: 3/1 > 1/1, 3/2 > 1, tie 1 = 1 (higher tier), 3/4 < 1, ... six to two.
    assert picks == [
        gold.id,
        gold.id,
        gold.id,
        registered.id,
        gold.id,
        gold.id,
        gold.id,
        registered.id,
    ]


def test_the_rule_skips_decliners_previous_holders_and_capped_partners(
    app, db, vendor, manager, org_factory
):
    decliner = org_factory("reseller", name="Decliner Ltd", tier="platinum")
    expired = org_factory("reseller", name="Slowpoke Ltd", tier="platinum")
    capped = org_factory("reseller", name="Capped Ltd", tier="registered")  # cap 3
    chosen = org_factory("reseller", name="Chosen Ltd", tier="registered")
    for org in (decliner, expired, capped, chosen):
        cover(db, org, ("NL",), ("cloud",))
    for n in range(3):
        busy = make_lead(db, vendor, f"Busy {n}", "offered", country="NL", product_line="cloud")
        make_offer(db, busy, capped)
    lead = make_lead(db, vendor, "Contested BV", country="NL", product_line="cloud")
    make_offer(db, lead, decliner, "declined", decline_reason="Too small")
    make_offer(db, lead, expired, "expired")
    with acting_as(app, manager) as actor:
        ranked = services.rank_partners(mine(lead))
        assert [(r.org.name, r.skipped) for r in ranked] == [
            ("Chosen Ltd", None),
            ("Decliner Ltd", "declined this lead"),
            ("Slowpoke Ltd", "had this lead before and did not answer in time"),
            ("Capped Ltd", "at its cap of 3 open leads"),
        ]
        offer = services.offer_by_rule(mine(lead), actor=actor)
    assert offer.org_id == chosen.id
    # Why, on the offer (the partner's row: no other partner is named there)...
    assert "territory NL and specialisation cloud fit" in offer.reason
    assert "tier Registered (weight 1)" in offer.reason and "0 of 3 open leads" in offer.reason
    assert (
        "declined this lead (1)" in offer.reason
        and "at its cap of 3 open leads (1)" in offer.reason
    )
    for other in ("Decliner", "Slowpoke", "Capped"):
        assert other not in offer.reason
    # ...and the whole ranking, names included, in the vendor's history of the lead.
    event = db.scalar(
        select(AuditEvent).where(
            AuditEvent.object_type == "Lead",
            AuditEvent.object_id == lead.id,
            AuditEvent.action == "lead.offered",
        )
    )
    assert event.org_id == vendor.id
    assert [r["partner"] for r in event.after["ranking"]] == [
        "Chosen Ltd",
        "Decliner Ltd",
        "Slowpoke Ltd",
        "Capped Ltd",
    ]


def test_closed_leads_free_a_partners_capacity(app, db, vendor, manager, org_factory):
    small = org_factory("reseller", tier="registered")  # cap 3
    cover(db, small, ("IT",), ("services",))
    for n, lead_status in enumerate(("accepted", "accepted", "won")):
        held = make_lead(db, vendor, f"Held {n}", lead_status, country="IT")
        make_offer(db, held, small, "accepted")
    lead = make_lead(db, vendor, "Roma Servizi", country="IT", product_line="services")
    with acting_as(app, manager) as actor:
        (entry,) = services.rank_partners(mine(lead))
        assert entry.open_leads == 2 and entry.skipped is None
        assert services.offer_by_rule(mine(lead), actor=actor).org_id == small.id


def test_no_eligible_partner_leaves_the_lead_new_and_tells_the_channel_team(
    client_as, db, vendor, manager, org_factory
):
    lead = make_lead(db, vendor, "Nowhere KK", country="JP")
    client = client_as(manager)
    response = client.post(f"/leads/{lead.id}/offer-by-rule", follow_redirects=True)
    assert "No partner is eligible" in response.get_data(as_text=True)
    db.expire_all()
    assert lead.status == "new" and offered_to(db, lead) is None
    assert (
        db.scalar(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "Lead", AuditEvent.object_id == lead.id)
            .order_by(AuditEvent.id.desc())
        )
        == "lead.no_partner"
    )
    assert (
        db.scalar(select(Notification.kind).where(Notification.user_id == manager.id))
        == "leads.distribution"
    )


def test_the_vendor_sees_the_rules_ranking_on_the_lead_page(
    client_as, db, vendor, manager, org_factory
):
    first = org_factory("reseller", name="First Choice GmbH", tier="platinum")
    second = org_factory("reseller", name="Second Choice GmbH", tier="silver")
    for org in (first, second):
        cover(db, org, ("DE",), ("networking",))
    lead = make_lead(db, vendor, "Ranked AG")
    page = client_as(manager).get(f"/leads/{lead.id}").get_data(as_text=True)
    ranking = page.split('data-testid="ranking"')[1].split("</table>")[0]
    assert ranking.index("First Choice GmbH") < ranking.index("Second Choice GmbH")
    assert "5.00" in ranking and "2.00" in ranking  # priorities: weight / (offers + 1)
