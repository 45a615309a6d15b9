"""The one path of a state change (portal.workflow), the people to tell (portal.people) and reads
past the wall (portal.db.read_across), through the real database."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import select, update

from partners.deals.models import DealRegistration, DealStatus
from portal import events
from portal.audit import AuditEvent
from portal.db import db as portal_db
from portal.db import read_across, set_principal
from portal.errors import InvalidTransition
from portal.identity.models import User
from portal.tenancy import Principal
from portal.workflow import StatusAssigned, stateful_models, transition, workflow_of
from tests import factories
from tests.unchanged import unchanged


@contextmanager
def acting_as(app, user):
    """A request context whose shared session acts as ``user`` behind the tenant wall."""
    with app.test_request_context():
        principal = Principal.for_user(user, "203.0.113.7")
        set_principal(portal_db.session, principal)
        yield principal


@pytest.fixture
def world(db, vendor):
    partner = factories.make_org(db, "reseller", name="Walk Reseller")
    other = factories.make_org(db, "reseller", name="Other Reseller")
    return {
        "vendor": vendor,
        "partner": partner,
        "other": other,
        "manager": factories.make_user(db, vendor, "channel_manager"),
        "admin": factories.make_user(db, vendor, "vendor_admin"),
        "partner_admin": factories.make_user(db, partner),
        "partner_user": factories.make_user(db, partner, "partner_user"),
        "other_admin": factories.make_user(db, other),
    }


def audit_actions(db, record) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.object_type == type(record).__name__,
                AuditEvent.object_id == record.id,
            )
            .order_by(AuditEvent.id)
        )
    )


def test_a_move_is_stamped_audited_with_before_and_after_and_published(app, db, world):
    deal = factories.make_deal(db, world["partner"], status="submitted")
    seen = []

    def listener(event):
        seen.append(event)

    events.subscribe("deal.*", listener)
    try:
        with acting_as(app, world["manager"]) as actor:
            mine = portal_db.session.get(DealRegistration, deal.id)
            assert transition(mine, DealStatus.rejected, actor=actor, data={"why": "late"})
            portal_db.session.commit()
    finally:
        events._subscribers["deal.*"].remove(listener)
    db.expire_all()
    assert deal.status == "rejected"
    assert deal.decided_by_id == world["manager"].id and deal.decided_at is not None
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.object_id == deal.id, AuditEvent.action == "deal.rejected"
        )
    ).one()
    assert event.before["status"] == "submitted" and event.after["status"] == "rejected"
    assert event.after["why"] == "late" and event.actor_user_id == world["manager"].id
    assert event.ip_address == "203.0.113.7"  # the actor carried it, not a request
    (published,) = seen
    assert (published.type, published.record_id, published.org_ids) == (
        "deal.rejected",
        deal.id,
        (world["partner"].id,),
    )
    assert (published.before, published.after, published.data) == (
        "submitted",
        "rejected",
        {"why": "late"},
    )
    assert published.actor_user_id == world["manager"].id


def test_a_move_the_table_refuses_changes_nothing(app, db, world):
    deal = factories.make_deal(db, world["partner"], status="draft")
    with unchanged(db, deal), acting_as(app, world["manager"]) as actor:
        mine = portal_db.session.get(DealRegistration, deal.id)
        with pytest.raises(InvalidTransition, match="Draft cannot become Approved"):
            transition(mine, DealStatus.approved, actor=actor)
        portal_db.session.rollback()
    assert audit_actions(db, deal) == []


def test_a_claimed_move_lost_to_another_writes_nothing(app, db, world):
    deal = factories.make_deal(db, world["partner"], status="approved")
    with acting_as(app, world["manager"]):
        mine = portal_db.session.get(DealRegistration, deal.id)
        # Another writer won the race: the row moved on since this request read it.
        db.execute(
            update(DealRegistration).where(DealRegistration.id == deal.id).values(status="won")
        )
        assert transition(mine, DealStatus.expired, actor=None, claim=True) is False
        assert mine.status == "approved"
    assert audit_actions(db, deal) == []


def test_a_status_assigned_by_hand_is_refused_at_flush(app, db, world):
    deal = factories.make_deal(db, world["partner"], status="approved")
    with acting_as(app, world["manager"]):
        mine = portal_db.session.get(DealRegistration, deal.id)
        mine.status = "won"
        with pytest.raises(StatusAssigned):
            portal_db.session.flush()
        portal_db.session.rollback()


def test_an_orm_update_of_a_status_is_refused(app, db, world):
    deal = factories.make_deal(db, world["partner"], status="approved")
    with acting_as(app, world["manager"]), pytest.raises(StatusAssigned):
        portal_db.session.execute(
            update(DealRegistration).where(DealRegistration.id == deal.id).values(status="won")
        )


def test_a_record_read_past_the_wall_never_reaches_the_request(app, db, world):
    foreign = world["other_admin"]
    with acting_as(app, world["partner_admin"]):
        session = portal_db.session
        with read_across() as reader:
            seen = reader.get(User, foreign.id)
            assert seen is not None and seen.email == foreign.email
        assert seen not in session
        assert all(obj is not seen for obj in session.identity_map.values())
        # The request's own session still cannot see it: the wall holds.
        assert session.scalar(select(User).where(User.id == foreign.id)) is None
        assert session.get(User, foreign.id) is None


def test_read_across_sees_the_transactions_own_new_rows(app, db, world):
    with acting_as(app, world["admin"]):
        newcomer = factories.make_user(portal_db.session, world["other"], "partner_user")
        with read_across() as reader:
            assert reader.scalar(select(User.email).where(User.id == newcomer.id)) == newcomer.email


def test_who_may_answers_from_the_role_table_not_role_names(app, db, world):
    from portal import people

    factories.make_user(db, world["partner"], "partner_user", active=False)
    with acting_as(app, world["partner_user"]):
        reviewers = {p.id for p in people.vendor_staff_who_may("deals.review")}
        followers = {p.id for p in people.who_may("deals.follow", world["partner"].id)}
        registrants = {p.id for p in people.who_may("deals.register", world["partner"].id)}
    assert {world["manager"].id, world["admin"].id} <= reviewers
    assert world["partner_admin"].id not in reviewers
    assert followers == {world["partner_admin"].id}
    assert registrants == {world["partner_admin"].id, world["partner_user"].id}


# Every move of every workflow leaves an audit event. A builder makes a record of each stateful
# model in a given status; a model with a workflow and no builder fails the test below, so a new
# workflow cannot skip the walk.
def _invitation(db, w, status):
    import secrets
    from datetime import timedelta

    from portal.clock import utcnow
    from portal.identity.models import Invitation

    invitation = Invitation(
        org_id=w["partner"].id,
        email=f"walk-{secrets.token_hex(4)}@example.test",
        name="Walk Invitee",
        role="partner_user",
        token_hash=secrets.token_hex(32),
        expires_at=utcnow() + timedelta(days=7),
        status=status,
    )
    db.add(invitation)
    db.flush()
    return invitation


def _quote_request(db, w, status):
    from partners.quotes.models import QuoteRequest

    deal = factories.make_deal(db, w["partner"], status="approved")
    request = QuoteRequest(org_id=w["partner"].id, deal_id=deal.id, status=status)
    db.add(request)
    db.flush()
    return request


def _api_client(db, w, status):
    import secrets

    from portal.oauth.models import OAuthClient

    # The walker acts as the vendor's admin, and a client is seen by its own organisation only.
    client = OAuthClient(
        org_id=w["vendor"].id,
        client_id="walk-" + secrets.token_hex(8),
        name="Walk client",
        redirect_uris=["https://walk.example.test/callback"],
        scopes="users:read",
        status=status,
    )
    db.add(client)
    db.flush()
    return client


def _customer(db, w):
    return factories.make_org(db, "customer", managed_by_id=w["partner"].id)


def _certification(db, w, status):
    from datetime import date

    from partners.program.models import Certification

    # A partner's record about one of its own people; the vendor verifies or rejects it.
    certification = Certification(
        org_id=w["partner"].id,
        user_id=w["partner_user"].id,
        name="Walk Certified Engineer",
        issuer="Walk Academy",
        issued_on=date(2026, 1, 5),
        recorded_by_id=w["partner_admin"].id,
        status=status,
    )
    db.add(certification)
    db.flush()
    return certification


def _tier_proposal(db, w, status):
    from partners.program.models import TierProposal

    # At most one is open per partner: each walked one leaves "proposed" before the next is built.
    proposal = TierProposal(
        org_id=w["partner"].id,
        from_tier="silver",
        to_tier="gold",
        direction="promotion",
        status=status,
    )
    db.add(proposal)
    db.flush()
    return proposal


def _fund_budget(db, w, day):
    from decimal import Decimal

    from partners.funds.models import FundBudget, quarter_of

    year, quarter = quarter_of(day)
    budget = db.scalar(
        select(FundBudget).where(
            FundBudget.org_id == w["partner"].id,
            FundBudget.year == year,
            FundBudget.quarter == quarter,
        )
    )
    if budget is None:
        budget = FundBudget(
            org_id=w["partner"].id, year=year, quarter=quarter, amount=Decimal("100000")
        )
        db.add(budget)
        db.flush()
    return budget


def _fund_request(db, w, status):
    from decimal import Decimal

    from partners.funds.models import FundRequest
    from portal.clock import utcnow

    today = utcnow().date()
    amount = Decimal("100.00")
    budget = None
    if status == "approved":  # an approved request holds its amount on its quarter's budget
        budget = _fund_budget(db, w, today)
        budget.reserved += amount
    request = FundRequest(
        org_id=w["partner"].id,
        activity="Walk webinar",
        amount=amount,
        starts_on=today,
        ends_on=today,
        budget_id=budget.id if budget is not None else None,
        requested_by_id=w["partner_admin"].id,
        status=status,
    )
    db.add(request)
    db.flush()
    return request


def _fund_claim(db, w, status):
    from decimal import Decimal

    from partners.funds.models import FundClaim

    request = _fund_request(db, w, "approved")
    claim = FundClaim(
        org_id=w["partner"].id,
        request_id=request.id,
        amount=Decimal("90.00"),
        submitted_by_id=w["partner_admin"].id,
        status=status,
    )
    db.add(claim)
    db.flush()
    return claim


def _rfq(db, w, status):
    import secrets
    from datetime import timedelta

    from partners.sourcing.models import Rfq
    from portal.clock import utcnow

    # The vendor's own request for quotation.
    rfq = Rfq(
        org_id=w["vendor"].id,
        number="RFQ-W" + secrets.token_hex(4),
        title="Walk sourcing",
        respond_by=(utcnow() + timedelta(days=7)).date(),
        created_by_id=w["admin"].id,
        status=status,
    )
    db.add(rfq)
    db.flush()
    return rfq


def _supplier_offer(db, w, status):
    from decimal import Decimal

    from partners.sourcing.models import SupplierOffer
    from portal.clock import utcnow

    # A supplier's answer (owned by the supplier) to the vendor's open RFQ.
    supplier = factories.make_org(db, "supplier")
    answered = status not in ("requested", "lapsed")
    offer = SupplierOffer(
        org_id=supplier.id,
        rfq_id=_rfq(db, w, "open").id,
        total=Decimal("10.00") if answered else Decimal("0"),
        submitted_at=utcnow() if answered else None,
        status=status,
    )
    db.add(offer)
    db.flush()
    return offer


BUILDERS = {
    "Invitation": _invitation,
    "OAuthClient": _api_client,
    "Article": lambda db, w, status: factories.make_article(db, status=status),
    "Case": lambda db, w, status: factories.make_case(db, _customer(db, w), status=status),
    "Idea": lambda db, w, status: factories.make_idea(db, org=w["partner"], status=status),
    "NpsCampaign": lambda db, w, status: factories.make_campaign(db, w["vendor"], status=status),
    "Quote": lambda db, w, status: factories.make_quote(db, w["partner"], status=status),
    "QuoteRequest": _quote_request,
    "DealRegistration": lambda db, w, status: factories.make_deal(db, w["partner"], status=status),
    "Lead": lambda db, w, status: factories.make_lead(db, w["vendor"], status=status),
    "LeadOffer": lambda db, w, status: factories.make_offer(
        db, factories.make_lead(db, w["vendor"], status="offered"), w["partner"], status=status
    ),
    "SharedLead": lambda db, w, status: factories.make_shared_lead(db, w["partner"], status=status),
    "Certification": _certification,
    "TierProposal": _tier_proposal,
    "FundRequest": _fund_request,
    "FundClaim": _fund_claim,
    "Rfq": _rfq,
    "SupplierOffer": _supplier_offer,
}


def test_every_stateful_model_can_be_walked(app):
    missing = sorted(
        m.__name__
        for m in stateful_models()
        if workflow_of(m).audited and m.__name__ not in BUILDERS
    )
    assert missing == [], f"add a builder for {missing}"


def test_every_move_of_every_workflow_is_audited(app, db, world):
    walked = 0
    for model in stateful_models():
        workflow = workflow_of(model)
        if not workflow.audited or model.__name__ not in BUILDERS:
            continue
        for source, target in workflow.all_moves():
            record = BUILDERS[model.__name__](db, world, str(source))
            with acting_as(app, world["admin"]) as actor:
                mine = portal_db.session.get(model, record.id)
                transition(mine, target, actor=actor)
                portal_db.session.commit()
            assert audit_actions(db, record) == [workflow.event_for(str(target))], (
                model,
                source,
                target,
            )
            walked += 1
    assert walked >= len(workflow_of(DealRegistration).all_moves())


def test_a_claim_moves_the_version_on_so_a_page_read_before_is_stale(app, db, world):
    deal = factories.make_deal(db, world["partner"], status="approved")
    version = deal.version
    with acting_as(app, world["manager"]):
        mine = portal_db.session.get(DealRegistration, deal.id)
        assert transition(mine, DealStatus.expired, actor=None, claim=True)
        assert mine.version == version + 1
        portal_db.session.commit()
    db.expire_all()
    assert (deal.status, deal.version) == ("expired", version + 1)


def test_a_write_inside_a_read_across_block_is_refused(app, db, world):
    from portal.db import TenantViolation

    deal = factories.make_deal(db, world["partner"], status="draft")
    with acting_as(app, world["partner_admin"]):
        mine = portal_db.session.get(DealRegistration, deal.id)
        with read_across(), pytest.raises(TenantViolation):
            mine.notes = "written while reading across"
            portal_db.session.flush()
        portal_db.session.rollback()


def test_the_status_is_no_change_of_a_move(app, db, world):
    deal = factories.make_deal(db, world["partner"], status="submitted")
    with acting_as(app, world["manager"]) as actor:
        mine = portal_db.session.get(DealRegistration, deal.id)
        with pytest.raises(ValueError):
            transition(mine, DealStatus.approved, actor=actor, changes={"status": "won"})


def test_an_update_by_primary_key_rows_setting_a_status_is_refused(app, db, world):
    deal = factories.make_deal(db, world["partner"], status="approved")
    with acting_as(app, world["manager"]), pytest.raises(StatusAssigned):
        portal_db.session.execute(update(DealRegistration), [{"id": deal.id, "status": "won"}])


def test_subscribers_read_behind_the_wall_even_after_a_write_past_it(app, db, world):
    """A customer's acceptance wins its partner's deal (a reviewed write past the wall); what
    subscribes to deal.won reads as the customer, who may not see the registration."""
    from partners.deals import services as deals

    customer = factories.make_org(db, "customer", managed_by_id=world["partner"].id)
    buyer = factories.make_user(db, customer)
    deal = factories.make_deal(db, world["partner"], status="approved")
    seen = []

    def listener(event):
        seen.append(
            portal_db.session.scalar(
                select(DealRegistration).where(DealRegistration.id == event.record_id)
            )
        )

    events.subscribe("deal.won", listener)
    try:
        with acting_as(app, buyer) as actor:
            assert deals.win_deal_by_quote(deal.id, quote_label="Q-1 v1", actor=actor)
            portal_db.session.commit()
    finally:
        events._subscribers["deal.won"].remove(listener)
    assert seen == [None]
    db.expire_all()
    assert deal.status == "won"
