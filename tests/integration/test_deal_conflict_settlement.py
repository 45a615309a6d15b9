"""Conflicts settled before protection (issue 15, item 1): a registration with an unsettled
conflict is not approved; the channel manager settles each conflict on the registration's page
or through the API (first in wins by default, otherwise with a reason); the loser is rejected
as a duplicate through its transition and its partner told why without the winner's name;
audited; and the database keeps one approved protection per customer domain, also when two
channel managers approve at the same moment."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from partners.deals.models import DealConflict, DealRegistration
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.db import Base, unscoped
from portal.engine import make_engine
from portal.identity.models import Organization
from portal.notify.models import Notification
from tests import factories
from tests.integration import test_deals as deals
from tests.integration.race_support import together
from tests.unchanged import unchanged

channel = deals.channel  # two resellers (gold, silver), a supplier, the channel manager


def rival_pair(app, channel) -> tuple[int, int]:
    """Silver registers first, gold second, for the same customer domain."""
    first = deals.register(
        app,
        channel,
        "silver_admin",
        customer_name="Hawthorne Retail Group",
        customer_domain="hawthorne-retail.com",
    )
    second = deals.register(
        app,
        channel,
        customer_name="Hawthorne Retail Group Ltd",
        customer_domain="https://www.hawthorne-retail.com/",
    )
    return first, second


def conflict_of(db, deal_id: int) -> DealConflict:
    db.expire_all()
    return db.scalar(select(DealConflict).where(DealConflict.registration_id == deal_id))


def titles_of(db, user) -> list[str]:
    return db.scalars(select(Notification.title).where(Notification.user_id == user.id)).all()


def test_an_unsettled_conflict_stops_the_approval_with_a_clear_message(app, client_as, channel, db):
    first, second = rival_pair(app, channel)
    manager = client_as(channel["manager"])
    for deal_id in (first, second):  # both sides wait for the settlement
        with unchanged(db, (DealRegistration, deal_id)):
            refused = manager.post(f"/deals/{deal_id}/approve", data={})
        assert refused.status_code == 422
        assert "Settle the possible conflict of this registration" in refused.get_data(as_text=True)
    page = manager.get(f"/deals/{second}").get_data(as_text=True)
    assert 'data-testid="settle-first"' in page and 'data-testid="settle-form"' in page
    assert "hawthorne-retail.com" in page and "Same domain" in page
    gold = client_as(channel["gold_user"]).get(f"/deals/{second}").get_data(as_text=True)
    assert "Under conflict review." in gold and "Silver Reseller" not in gold


def test_the_page_shows_who_was_first_with_the_times_and_what_matched(app, client_as, channel, db):
    first = deals.register(
        app,
        channel,
        "silver_admin",
        customer_name="Quillfeather Analytics Ltd",
        customer_domain="quillfeather.io",
    )
    with time_machine.travel(utcnow() + timedelta(hours=3)):
        second = deals.register(
            app,
            channel,
            customer_name="Quillfeather Analytics, Inc.",
            customer_domain="quillfeather-us.com",
        )
    page = client_as(channel["manager"]).get(f"/deals/{second}").get_data(as_text=True)
    order = page.split('data-testid="first-in"', 1)[1].split("</ol>", 1)[0]
    numbers = [deals.load(db, i).number for i in (first, second)]
    assert "First in" in order and order.index(numbers[0]) < order.index(numbers[1])
    assert "Silver Reseller" in order and "<time" in order
    assert "Similar name (100%)" in page  # the name's similarity score


def test_first_in_wins_by_default_the_loser_is_rejected_as_a_duplicate_and_told_why(
    app, client_as, channel, db
):
    first, second = rival_pair(app, channel)
    conflict = conflict_of(db, second)
    manager = client_as(channel["manager"])
    settled = manager.post(
        f"/deals/{second}/settle", data={"conflict_id": conflict.id, "winner": "other"}
    )
    assert settled.status_code == 302

    loser, winner = deals.load(db, second), deals.load(db, first)
    assert loser.status == "rejected" and winner.status == "submitted"
    assert loser.decision_reason.startswith("Duplicate: another registration")
    conflict = conflict_of(db, second)
    assert conflict.settled_at is not None and conflict.winner == "other"
    assert conflict.settled_by_id == channel["manager"].id

    # Told why, never who won: no other partner's name or number reaches the partner.
    told = [t for t in titles_of(db, channel["gold_admin"]) if loser.number in t]
    assert told and all("Silver" not in t and winner.number not in t for t in told)
    page = client_as(channel["gold_user"]).get(f"/deals/{second}").get_data(as_text=True)
    assert "Rejected: Duplicate" in page and "Silver Reseller" not in page
    assert winner.number not in page and "conflict review" not in page.lower()

    # Audited: the settlement in the vendor's history, the rejection in the partner's.
    events = {
        e.action: e for e in db.scalars(select(AuditEvent).where(AuditEvent.action.like("deal.%")))
    }
    settlement = events["deal.conflict_settled"]
    assert (
        settlement.org_id == conflict.org_id and settlement.actor_user_id == channel["manager"].id
    )
    assert settlement.after["winner"] == winner.number and settlement.after["first_in"] is True
    rejected = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "deal.rejected", AuditEvent.object_id == second
        )
    )
    assert rejected.org_id == channel["gold"].id and rejected.after["duplicate"] is True
    assert winner.number not in str(rejected.after)

    # The winner has no conflict left: it is approved now.
    assert manager.post(f"/deals/{first}/approve", data={}).status_code == 302
    assert deals.load(db, first).status == "approved"
    shown = manager.get(f"/deals/{first}").get_data(as_text=True)
    assert 'data-testid="settlement"' in shown and "keeps the customer" in shown


def test_choosing_the_later_needs_a_reason_and_nothing_is_written_without_it(
    app, client_as, channel, db
):
    first, second = rival_pair(app, channel)
    conflict = conflict_of(db, second)
    manager = client_as(channel["manager"])
    with unchanged(
        db, (DealRegistration, first), (DealRegistration, second), (DealConflict, conflict.id)
    ):
        refused = manager.post(
            f"/deals/{first}/settle",
            data={"conflict_id": conflict.id, "winner": "registration", "reason": "  "},
        )
    assert refused.status_code == 422
    assert "Say why the later claim wins" in refused.get_data(as_text=True)

    chosen = manager.post(
        f"/deals/{first}/settle",
        data={
            "conflict_id": conflict.id,
            "winner": "registration",
            "reason": "The customer's buyer asked for Gold by name.",
        },
    )
    assert chosen.status_code == 302
    assert deals.load(db, first).status == "rejected"
    assert "gave this customer to another registration" in deals.load(db, first).decision_reason
    assert conflict_of(db, second).settlement_reason.startswith("The customer's buyer")
    assert manager.post(f"/deals/{second}/approve", data={}).status_code == 302
    silver = client_as(channel["silver_admin"]).get(f"/deals/{first}").get_data(as_text=True)
    assert "Gold" not in silver and "buyer asked" not in silver  # the reason stays the vendor's


def test_a_settlement_is_made_once_and_a_protected_first_cannot_lose(app, client_as, channel, db):
    first = deals.register(
        app, channel, "silver_admin", customer_name="Orchid Dental", customer_domain="orchid.co.uk"
    )
    manager = client_as(channel["manager"])
    assert manager.post(f"/deals/{first}/approve", data={}).status_code == 302
    second = deals.register(
        app, channel, customer_name="Orchid Dental", customer_domain="orchid.co.uk"
    )
    conflict = conflict_of(db, second)
    with unchanged(db, (DealRegistration, first), (DealConflict, conflict.id)):
        refused = manager.post(
            f"/deals/{second}/settle",
            data={"conflict_id": conflict.id, "winner": "registration", "reason": "Bigger deal."},
        )
    assert refused.status_code == 422
    assert "is approved and protected" in refused.get_data(as_text=True)

    ok = {"conflict_id": conflict.id, "winner": "other"}
    assert manager.post(f"/deals/{second}/settle", data=ok).status_code == 302
    again = manager.post(f"/deals/{second}/settle", data=ok)
    assert again.status_code == 422 and "settled already" in again.get_data(as_text=True)
    assert db.scalar(select(func.count()).where(AuditEvent.action == "deal.conflict_settled")) == 1


def test_another_registrations_conflict_is_not_settled_from_this_page(app, client_as, channel, db):
    _first, second = rival_pair(app, channel)
    other = deals.register(app, channel, customer_name="Harbourside", customer_domain="hb.com")
    conflict = conflict_of(db, second)
    refused = client_as(channel["manager"]).post(
        f"/deals/{other}/settle", data={"conflict_id": conflict.id, "winner": "other"}
    )
    assert refused.status_code == 422 and conflict_of(db, second).settled_at is None


def test_partners_do_not_settle(app, client_as, channel, db):
    _first, second = rival_pair(app, channel)
    conflict = conflict_of(db, second)
    with unchanged(db, (DealConflict, conflict.id), (DealRegistration, second)):
        refused = client_as(channel["gold_admin"]).post(
            f"/deals/{second}/settle", data={"conflict_id": conflict.id, "winner": "registration"}
        )
    assert refused.status_code == 403


def test_a_direct_deal_of_the_vendor_wins_or_gives_way(app, client_as, channel, db):
    sales = client_as(channel["sales"])
    sales.post(
        "/deals/direct/new",
        data={
            "customer_name": "Meridian Foods",
            "customer_domain": "meridian-foods.de",
            "value": "5000",
            "currency": "EUR",
        },
    )
    losing = deals.register(
        app, channel, customer_name="Meridian", customer_domain="meridian-foods.de"
    )
    winning = deals.register(
        app,
        channel,
        "silver_admin",
        customer_name="Meridian Foods GmbH",
        customer_domain="meridian-foods.at",
    )
    manager = client_as(channel["manager"])
    first_in = {"conflict_id": conflict_of(db, losing).id, "winner": "other"}
    assert manager.post(f"/deals/{losing}/settle", data=first_in).status_code == 302
    assert deals.load(db, losing).status == "rejected"
    assert "vendor already works this deal" in deals.load(db, losing).decision_reason

    given = {
        "conflict_id": conflict_of(db, winning).id,
        "winner": "registration",
        "reason": "Our team hands Austria to the partner.",
    }
    assert manager.post(f"/deals/{winning}/settle", data=given).status_code == 302
    assert manager.post(f"/deals/{winning}/approve", data={}).status_code == 302


def test_a_closed_side_ends_the_conflict_without_a_settlement(app, client_as, channel, db):
    first, second = rival_pair(app, channel)
    manager = client_as(channel["manager"])
    manager.post(f"/deals/{first}/reject", data={"reason": "Lapsed customer."})
    assert manager.post(f"/deals/{second}/approve", data={}).status_code == 302


def test_a_resubmission_records_each_clash_once(app, client_as, channel, db):
    _first, second = rival_pair(app, channel)
    manager = client_as(channel["manager"])
    manager.post(f"/deals/{second}/request-info", data={"message": "Which site?"})
    assert client_as(channel["gold_admin"]).post(f"/deals/{second}/submit").status_code == 302
    assert db.scalar(select(func.count()).select_from(DealConflict)) == 1


# The API.


def test_the_api_lists_settles_and_refuses_like_the_pages(app, channel, db, vendor):
    first, second = rival_pair(app, channel)
    api, headers = deals.api_as(app, db, vendor, "channel_manager")
    refused = api.post(f"/api/v1/deals/{second}/approve", json={}, headers=headers)
    assert refused.status_code == 409 and "Settle the possible conflict" in refused.json["detail"]

    listed = api.get(f"/api/v1/deals/{second}/conflicts", headers=headers)
    assert listed.status_code == 200
    [item] = listed.json["items"]
    assert item["first_in"] == "other" and item["unsettled"] is True
    assert item["other"]["registration_id"] == first and item["kind"] == "domain"

    no_reason = api.post(
        f"/api/v1/deals/{second}/settle",
        json={"conflict_id": item["id"], "winner": "registration"},
        headers=headers,
    )
    assert no_reason.status_code == 422 and "Say why" in no_reason.json["detail"]
    settled = api.post(
        f"/api/v1/deals/{second}/settle",
        json={"conflict_id": item["id"], "winner": "other"},
        headers=headers,
    )
    assert settled.status_code == 200, settled.get_data(as_text=True)
    assert settled.json["items"][0]["winner"] == "other"
    assert settled.json["items"][0]["unsettled"] is False
    assert deals.load(db, second).status == "rejected"
    again = api.post(
        f"/api/v1/deals/{second}/settle",
        json={"conflict_id": item["id"], "winner": "other"},
        headers=headers,
    )
    assert again.status_code == 409
    assert api.post(f"/api/v1/deals/{first}/approve", json={}, headers=headers).status_code == 200

    partner, partner_headers = deals.api_as(app, db, channel["gold"], "partner_admin")
    assert (
        partner.get(f"/api/v1/deals/{second}/conflicts", headers=partner_headers).status_code == 403
    )


# One protection per customer domain, in the database.


def test_the_database_refuses_a_second_approved_protection_for_a_domain(db, channel):
    factories.make_deal(db, channel["gold"], status="approved", customer_domain="one.example")
    factories.make_deal(db, channel["silver"], status="expired", customer_domain="one.example")
    with pytest.raises(IntegrityError), db.begin_nested():
        factories.make_deal(db, channel["silver"], status="approved", customer_domain="one.example")


def test_an_approval_that_finds_the_domain_protected_gets_a_clear_message(
    app, client_as, channel, db
):
    # No conflict was recorded (both written directly), so only the database stands in the way:
    # as when another channel manager's approval commits a moment earlier.
    factories.make_deal(db, channel["silver"], status="approved", customer_domain="two.example",
                        expires_at=utcnow() + timedelta(days=30))  # fmt: skip
    later = factories.make_deal(db, channel["gold"], customer_domain="two.example").id
    manager = client_as(channel["manager"])
    with unchanged(db, (DealRegistration, later)):
        refused = manager.post(f"/deals/{later}/approve", data={})
    assert refused.status_code == 422
    assert "was approved meanwhile" in refused.get_data(as_text=True)


def test_a_lapsed_protection_the_tick_has_not_expired_gives_way(app, client_as, channel, db):
    lapsed = factories.make_deal(
        db,
        channel["silver"],
        status="approved",
        customer_domain="three.example",
        expires_at=utcnow() - timedelta(hours=1),
    ).id
    later = factories.make_deal(db, channel["gold"], customer_domain="three.example").id
    assert client_as(channel["manager"]).post(f"/deals/{later}/approve", data={}).status_code == 302
    assert deals.load(db, lapsed).status == "expired"
    assert deals.load(db, later).status == "approved"


# Two channel managers approving rival registrations at the same moment: one protection.


@pytest.fixture
def committed(app):
    """A vendor with a channel manager, two resellers each with a submitted registration for
    the same domain (no conflict recorded: the database alone must keep one protection),
    committed for real and removed again afterwards."""
    session = app.extensions["db"].session_factory()
    made: list[int] = []
    with unscoped(session):
        existed = session.scalar(select(func.count()).where(Organization.kind == "vendor"))
        vendor = factories.vendor_org(session)
        if not existed:
            made.append(vendor.id)
        people = {"managers": [], "deals": []}
        for n in range(2):
            partner = factories.make_org(session, "reseller", name=f"Racing Reseller {n}")
            made.append(partner.id)
            people["managers"].append(factories.make_user(session, vendor, "channel_manager"))
            people["deals"].append(
                factories.make_deal(session, partner, customer_domain="race.example").id
            )
        session.commit()
        manager_ids = [m.id for m in people["managers"]]
    session.close()
    yield people
    admin = make_engine(app.config["DATABASE_URL"])
    with admin.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if "org_id" in table.c:
                conn.execute(delete(table).where(table.c.org_id.in_(made)))
        users = Base.metadata.tables["users"]
        audit = Base.metadata.tables["audit_events"]
        conn.execute(delete(audit).where(audit.c.actor_user_id.in_(manager_ids)))
        conn.execute(delete(users).where(users.c.id.in_(manager_ids)))
        organizations = Base.metadata.tables["organizations"]
        conn.execute(delete(organizations).where(organizations.c.id.in_(made)))
    admin.dispose()


def test_two_concurrent_approvals_leave_exactly_one_protection(app, client_as, committed):
    clients = [client_as(manager) for manager in committed["managers"]]
    ids = committed["deals"]
    statuses = together(
        app,
        "UPDATE deal_registrations SET",
        [
            lambda n=n: clients[n].post(f"/deals/{ids[n]}/approve", data={}).status_code
            for n in range(2)
        ],
    )
    assert sorted(statuses) == [302, 422], statuses
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        approved = session.scalars(
            select(DealRegistration.id).where(
                DealRegistration.id.in_(ids), DealRegistration.status == "approved"
            )
        ).all()
        assert approved == [ids[statuses.index(302)]]
        assert (
            session.scalar(
                select(func.count()).where(
                    AuditEvent.action == "deal.approved", AuditEvent.object_id.in_(ids)
                )
            )
            == 1
        )
    session.close()
