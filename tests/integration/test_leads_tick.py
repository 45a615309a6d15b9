"""Deadlines in business hours, expiry and recall by the periodic tick, the next partner by rule,
and reminders, with a frozen clock (time-machine). The vendor's calendar in these tests is the
default: Monday to Friday, 09:00 to 17:00 UTC; offers run 16 business hours, reminders go out
with 4 left."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from partners.leads.models import Lead, LeadOffer
from portal import jobs
from portal.audit import AuditEvent
from portal.notify.models import Notification
from tests.factories import make_lead
from tests.isolation.kinds_leads import bearer_for, cover
from tests.unchanged import unchanged

FRIDAY_3PM = datetime(2027, 3, 5, 15, 0, tzinfo=UTC)
DEADLINE = datetime(2027, 3, 9, 15, 0, tzinfo=UTC)  # Fri 2h + Mon 8h + Tue 6h


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(FRIDAY_3PM, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(db, vendor, org_factory, user_factory):
    class World:
        manager = user_factory(vendor, "channel_manager")
        first = org_factory("reseller", name="First In Line GmbH", tier="platinum")
        second = org_factory("reseller", name="Next In Line GmbH", tier="silver")

    World.first_admin = user_factory(World.first, "partner_admin")
    World.second_admin = user_factory(World.second, "partner_admin")
    cover(db, World.first, ("DE",), ("networking",))
    cover(db, World.second, ("DE",), ("networking",))
    return World


def tick(app, *names: str) -> dict:
    with app.app_context():
        return jobs.run_periodic(list(names) or ["remind_lead_offers", "expire_lead_offers"])


def offer_by_rule(client_as, db, world, company="Deadline GmbH") -> Lead:
    lead = make_lead(db, world.manager.org, company)
    client = client_as(world.manager)
    assert client.post(f"/leads/{lead.id}/offer-by-rule").status_code == 302
    db.expire_all()
    return lead


def offers(db, lead) -> list[tuple[int, str]]:
    return [
        (o.org_id, o.status)
        for o in db.scalars(
            select(LeadOffer).where(LeadOffer.lead_id == lead.id).order_by(LeadOffer.id)
        )
    ]


def kinds_for(db, user) -> list[str]:
    return list(
        db.scalars(
            select(Notification.kind)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def test_respond_by_counts_business_hours_across_the_weekend(client_as, db, world, clock):
    lead = offer_by_rule(client_as, db, world)
    (offer,) = lead.offers
    assert offer.offered_at == FRIDAY_3PM
    assert offer.respond_by == DEADLINE


def test_public_holidays_do_not_count(client_as, app, db, world, clock, monkeypatch):
    monkeypatch.setitem(app.config, "BUSINESS_HOLIDAYS", "DE")
    clock.move_to(at(2027, 3, 25, 15))  # Thursday before Good Friday; Easter Monday follows
    lead = offer_by_rule(client_as, db, world)
    assert lead.offers[0].respond_by == at(2027, 3, 31, 15)  # Thu 2h + Tue 8h + Wed 6h


def test_overdue_offers_expire_and_the_lead_goes_to_the_next_partner(
    client_as, app, db, world, clock
):
    lead = offer_by_rule(client_as, db, world)
    assert offers(db, lead) == [(world.first.id, "offered")]

    clock.move_to(at(2027, 3, 9, 14, 59))
    assert tick(app)["expire_lead_offers"] == 0
    assert offers(db, lead) == [(world.first.id, "offered")]

    clock.move_to(DEADLINE)
    assert tick(app)["expire_lead_offers"] == 1
    db.expire_all()
    assert offers(db, lead) == [(world.first.id, "expired"), (world.second.id, "offered")]
    assert lead.status == "offered"
    fresh = lead.offers[1]
    assert fresh.offered_at == DEADLINE and fresh.offered_by_id is None
    assert fresh.respond_by == at(2027, 3, 11, 15)  # Tue 2h + Wed 8h + Thu 6h
    assert "By rule:" in fresh.reason and "had this lead before" in fresh.reason

    # The first partner lost it (pages and API); the second has it.
    first = client_as(world.first_admin)
    api, bearer = app.test_client(), bearer_for(db, world.first_admin)
    with unchanged(db, lead, *lead.offers, counted=[LeadOffer]):
        assert first.get(f"/leads/{lead.id}").status_code == 404
        assert "Deadline GmbH" not in first.get("/leads/").get_data(as_text=True)
        assert api.get(f"/api/v1/leads/{lead.id}", headers=bearer).status_code == 404
    assert client_as(world.second_admin).get(f"/leads/{lead.id}").status_code == 200

    assert (
        "lead_offer.expired"
        in db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "LeadOffer", AuditEvent.object_id == lead.offers[0].id
            )
        ).all()
    )
    assert kinds_for(db, world.first_admin) == [
        "leads.offered",
        "leads.reminder",
        "leads.offer_closed",
    ]
    assert kinds_for(db, world.second_admin) == ["leads.offered"]
    assert "leads.distribution" in kinds_for(db, world.manager)

    # Safe to run twice: nothing more expires, nobody is offered the lead a second time.
    assert tick(app)["expire_lead_offers"] == 0
    db.expire_all()
    assert offers(db, lead) == [(world.first.id, "expired"), (world.second.id, "offered")]


def test_the_weekend_does_not_run_the_clock(client_as, app, db, world, clock, monkeypatch):
    monkeypatch.setitem(app.config, "LEAD_RESPONSE_HOURS", 2)
    clock.move_to(at(2027, 3, 5, 16))  # Friday 16:00: 1 hour on Friday, 1 on Monday
    lead = offer_by_rule(client_as, db, world)
    assert lead.offers[0].respond_by == at(2027, 3, 8, 10)
    for moment in (at(2027, 3, 6, 12), at(2027, 3, 7, 23, 59), at(2027, 3, 8, 9, 59)):
        clock.move_to(moment)
        assert tick(app, "expire_lead_offers")["expire_lead_offers"] == 0
    clock.move_to(at(2027, 3, 8, 10))
    assert tick(app, "expire_lead_offers")["expire_lead_offers"] == 1


def test_when_nobody_is_left_the_lead_comes_back_new(client_as, app, db, world, clock):
    lead = offer_by_rule(client_as, db, world)
    first = client_as(world.first_admin)
    assert first.post(f"/leads/{lead.id}/decline", data={"reason": "Busy"}).status_code == 302
    db.expire_all()
    assert offers(db, lead) == [(world.first.id, "declined"), (world.second.id, "offered")]
    clock.move_to(at(2027, 3, 12, 9))
    assert tick(app)["expire_lead_offers"] == 1
    db.expire_all()
    assert lead.status == "new"
    assert offers(db, lead) == [(world.first.id, "declined"), (world.second.id, "expired")]
    assert kinds_for(db, world.manager)[-1] == "leads.distribution"  # "no partner for lead"
    assert (
        "lead.no_partner"
        in db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "Lead", AuditEvent.object_id == lead.id
            )
        ).all()
    )


def test_reminders_go_out_once_before_the_deadline(client_as, app, db, world, clock, mailbox):
    lead = offer_by_rule(client_as, db, world)
    clock.move_to(at(2027, 3, 8, 16))  # Monday 16:00: 7 business hours left
    assert tick(app, "remind_lead_offers")["remind_lead_offers"] == 0
    clock.move_to(at(2027, 3, 9, 11))  # Tuesday 11:00: 4 left
    assert tick(app, "remind_lead_offers")["remind_lead_offers"] == 1
    db.expire_all()
    assert lead.offers[0].reminder_sent_at == at(2027, 3, 9, 11)
    clock.move_to(at(2027, 3, 9, 14))
    assert tick(app, "remind_lead_offers")["remind_lead_offers"] == 0
    reminders = [m for m in mailbox.to(world.first_admin.email) if "Answer soon" in m["Subject"]]
    assert len(reminders) == 1
    assert kinds_for(db, world.first_admin).count("leads.reminder") == 1
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "lead_offer.reminded")
        )
        == 1
    )


def test_an_answered_offer_is_neither_reminded_nor_expired(client_as, app, db, world, clock):
    lead = offer_by_rule(client_as, db, world)
    assert client_as(world.first_admin).post(f"/leads/{lead.id}/accept").status_code == 302
    clock.move_to(at(2027, 3, 20, 9))
    assert tick(app) == {"remind_lead_offers": 0, "expire_lead_offers": 0}
    db.expire_all()
    assert offers(db, lead) == [(world.first.id, "accepted")] and lead.status == "accepted"


def test_flask_tick_runs_the_lead_tasks(client_as, app, db, world, clock):
    lead = offer_by_rule(client_as, db, world)
    clock.move_to(at(2027, 3, 10, 9))
    result = app.test_cli_runner().invoke(args=["tick", "expire_lead_offers"])
    assert result.exit_code == 0, result.output
    assert "expire_lead_offers: 1" in result.output
    db.expire_all()
    assert offers(db, lead)[0] == (world.first.id, "expired")


def test_a_tick_racing_another_changes_nothing_the_first_did(client_as, app, db, world, clock):
    """Two ticks at once: the late one read the offer before the first committed. Its write
    carries the version it read, so it fails instead of expiring (and re-offering) again."""
    from sqlalchemy.orm.exc import StaleDataError

    from partners.leads import services
    from portal.db import db as portal_db
    from portal.db import unscoped
    from portal.jobs import system_session

    lead = offer_by_rule(client_as, db, world)
    clock.move_to(at(2027, 3, 10, 9))
    with app.app_context():
        late = portal_db.new_session()
        try:
            with unscoped(late):
                stale = late.get(LeadOffer, lead.offers[0].id)
                assert stale.status == "offered"
            late.commit()  # ends its read; the object keeps what it read (expire_on_commit off)
            assert tick(app, "expire_lead_offers")["expire_lead_offers"] == 1
            db.expire_all()
            with unchanged(db, lead, *lead.offers, counted=[LeadOffer]):
                with unscoped(late), system_session(late), pytest.raises(StaleDataError):
                    services.expire_offer(stale)
                late.rollback()
        finally:
            late.close()
    db.expire_all()
    assert offers(db, lead) == [(world.first.id, "expired"), (world.second.id, "offered")]
