"""The next-response SLA target (issue 14's gap), on the real database with a frozen clock:
after a public comment of the customer's side on a case an agent had answered, the agent's next
public reply is due within the policy's next-response hours (business hours, its own pause
rule); one wait per round, however many comments the customer adds; met by the agent's public
reply, breached (for good) when its clock runs out, warned of and told by the tick; shown on the
case's page and in the API; counted by the support figures' rollup. The calendar is the
vendor's default (Monday to Friday, 09:00-17:00 UTC); migration 0029 gave every default policy a
next-response target equal to its first response (urgent 1 h, normal 8 h; on hold stops it)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import reports
from portal.audit import AuditEvent
from portal.db import db as portal_db
from portal.db import set_principal
from portal.errors import InvalidInput
from portal.tenancy import Principal
from selfservice.analytics import sla, support
from selfservice.cases import policies, services
from selfservice.cases.models import CaseReplyWait, SlaPolicy
from tests.integration.test_cases import (
    MONDAY_10,
    at,
    load,
    make_people,
    open_case,
    set_status,
    tick,
)
from tests.isolation.kinds_leads import bearer_for

SCOPES = "cases:read cases:write"


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    return make_people(vendor, org_factory, user_factory)


@pytest.fixture
def clock():
    import time_machine

    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


def reply(client_as, user, case_id: int, body: str = "More details.", **extra):
    response = client_as(user).post(f"/cases/{case_id}/reply", data={"body": body, **extra})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def waits(db, case_id: int) -> list[tuple]:
    db.expire_all()
    return [
        (w.started_at, w.answered_at, w.due_at, w.breached)
        for w in db.scalars(
            select(CaseReplyWait).where(CaseReplyWait.case_id == case_id).order_by(CaseReplyWait.id)
        )
    ]


def clocks_of(app, db, case_id: int):
    """The case's clocks as an agent reads them."""
    case = load(db, case_id)
    with app.test_request_context():
        set_principal(portal_db.session, Principal(1, "vendor", "support_agent", None))
        return services.clocks(case)


def test_the_default_policies_have_a_next_response_target_like_their_first_response(db):
    for policy in db.scalars(select(SlaPolicy)):
        assert policy.next_response_hours == policy.first_response_hours, policy.name
        assert policy.next_response_pauses == policy.first_response_pauses, policy.name


def test_the_agents_next_reply_after_the_customers_is_due_and_met(
    client_as, app, db, people, clock
):
    case_id = open_case(client_as, people.customer_user, priority="urgent")  # 1 h targets
    reply(client_as, people.customer_user, case_id, "Before any answer: no next response yet.")
    assert waits(db, case_id) == []
    clock.shift(timedelta(minutes=20))
    reply(client_as, people.agent, case_id, "Restart the spooler.")  # first response, 10:20
    assert waits(db, case_id) == []
    clock.shift(timedelta(minutes=40))
    reply(client_as, people.customer_user, case_id, "Did not help.")  # 11:00: due 12:00
    clock.shift(timedelta(minutes=30))
    reply(client_as, people.customer_admin, case_id, "Same here.")  # 11:30: the same wait
    assert waits(db, case_id) == [(at(2027, 3, 1, 11), None, at(2027, 3, 1, 12), False)]
    case = load(db, case_id)
    assert case.next_response_due_at == at(2027, 3, 1, 12)
    state = clocks_of(app, db, case_id)["next_response"]
    assert state.state == "running" and state.elapsed == timedelta(minutes=30)
    # An internal note answers nothing.
    reply(client_as, people.agent, case_id, "Looking at the logs.", internal="y")
    assert waits(db, case_id)[0][1] is None
    clock.shift(timedelta(minutes=15))
    reply(client_as, people.agent, case_id, "Try the new driver.")  # 11:45: met
    assert waits(db, case_id) == [
        (at(2027, 3, 1, 11), at(2027, 3, 1, 11, 45), at(2027, 3, 1, 12), False)
    ]
    case = load(db, case_id)
    assert case.next_response_due_at is None and not case.next_response_breached
    assert clocks_of(app, db, case_id)["next_response"].state == "met"
    page = client_as(people.customer_user).get(f"/cases/{case_id}").get_data(as_text=True)
    sla_list = page[page.index('data-testid="sla"') :]
    assert "Next response:" in sla_list and "met" in sla_list.split("</ul>")[0]
    # The next round starts a new wait.
    clock.shift(timedelta(minutes=15))
    reply(client_as, people.customer_user, case_id, "It works now, but one question.")
    assert len(waits(db, case_id)) == 2
    assert load(db, case_id).next_response_due_at == at(2027, 3, 1, 13)


def test_the_tick_warns_then_breaches_and_the_breach_stays(
    client_as, app, db, people, clock, mailbox
):
    case_id = open_case(client_as, people.customer_user, priority="urgent")
    reply(client_as, people.agent, case_id, "Which model?")  # 10:00
    assert tick(app, "case_sla") == {"case_sla": 0}  # the first response was met
    clock.shift(timedelta(minutes=30))
    reply(client_as, people.customer_user, case_id, "The FW200.")  # 10:30: due 11:30
    mailbox.clear()
    clock.shift(timedelta(minutes=5))
    assert tick(app, "case_sla") == {"case_sla": 1}  # due within the hour: warned
    assert tick(app, "case_sla") == {"case_sla": 0}
    assert load(db, case_id).next_response_warned
    clock.shift(timedelta(hours=1))  # 11:35
    assert tick(app, "case_sla") == {"case_sla": 1}  # breached
    assert tick(app, "case_sla") == {"case_sla": 0}
    case = load(db, case_id)
    assert case.next_response_breached and not case.first_response_breached
    assert waits(db, case_id) == [(at(2027, 3, 1, 10, 30), None, at(2027, 3, 1, 11, 30), True)]
    subjects = [m["Subject"] for m in mailbox.to("agent@vendor.test")]
    assert any("due soon" in s and "next response" in s for s in subjects)
    assert any("breached" in s and "next response" in s for s in subjects)
    assert db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "case.sla_breached",
            AuditEvent.object_id == case_id,
        )
    ).after == {"target": "next_response"}
    queue = client_as(people.agent).get("/cases/queue").get_data(as_text=True)
    assert case.number in queue
    # The late reply ends the wait; the wait stays breached, the case no longer waits.
    clock.shift(timedelta(minutes=25))
    reply(client_as, people.agent, case_id, "Sorry for the wait.")
    assert waits(db, case_id)[0][1:] == (at(2027, 3, 1, 12), at(2027, 3, 1, 11, 30), True)
    case = load(db, case_id)
    assert not case.next_response_breached and case.next_response_due_at is None
    assert clocks_of(app, db, case_id)["next_response"].state == "breached"


def test_on_hold_stops_the_next_response_clock(client_as, app, db, people, clock):
    case_id = open_case(client_as, people.customer_user, priority="urgent")
    reply(client_as, people.agent, case_id, "Which model?")
    clock.shift(timedelta(minutes=30))
    reply(client_as, people.customer_user, case_id, "The FW200.")  # 10:30: due 11:30
    clock.shift(timedelta(minutes=15))
    set_status(client_as(people.agent), case_id, "on_hold")  # 10:45: 45 min left, paused
    case = load(db, case_id)
    assert case.next_response_due_at is None
    clock.shift(timedelta(hours=2))
    assert clocks_of(app, db, case_id)["next_response"].state == "paused"
    set_status(client_as(people.agent), case_id, "open")  # 12:45: runs again
    assert load(db, case_id).next_response_due_at == at(2027, 3, 1, 13, 30)
    assert waits(db, case_id)[0][2] == at(2027, 3, 1, 13, 30)


def test_a_policy_without_next_response_hours_starts_no_wait(client_as, db, people, clock):
    for policy in db.scalars(select(SlaPolicy)):
        policy.next_response_hours = None
    db.flush()
    case_id = open_case(client_as, people.customer_user)
    reply(client_as, people.agent, case_id, "Hello.")
    reply(client_as, people.customer_user, case_id, "Hi again.")
    assert waits(db, case_id) == []
    assert load(db, case_id).next_response_due_at is None


def test_the_api_shows_the_reply_awaited_and_the_customer_starts_it_there(
    app, client_as, db, people, clock
):
    case_id = open_case(client_as, people.customer_user, priority="urgent")
    reply(client_as, people.agent, case_id, "Which model?")
    api = app.test_client()
    headers = bearer_for(db, people.customer_user, SCOPES)
    assert (
        "next_response"
        not in api.get("/api/v1/cases", headers=headers).get_json()["items"][0]["sla"]
    )
    posted = api.post(
        f"/api/v1/cases/{case_id}/comments", json={"body": "The FW200."}, headers=headers
    )
    assert posted.status_code == 201, posted.get_data(as_text=True)
    listed = api.get("/api/v1/cases", headers=headers).get_json()["items"][0]["sla"]
    assert listed["next_response"] == {
        "state": "running",
        "due_at": at(2027, 3, 1, 11).isoformat(),
        "business_hours_left": None,
    }
    detail = api.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()["sla"]
    assert detail["next_response"]["state"] == "running"
    assert detail["next_response"]["business_hours_left"] == 1.0


def test_the_support_figures_count_each_wait_when_it_settles(
    client_as, app, db, people, clock, vendor
):
    tick(app, "support_figures")  # what the migration left to compute
    first = open_case(client_as, people.customer_user, priority="urgent")
    second = open_case(client_as, people.customer_user, subject="Fan noise", priority="urgent")
    for case_id in (first, second):
        reply(client_as, people.agent, case_id, "Which model?")
        reply(client_as, people.customer_user, case_id, "The FW200.")  # due 11:00
    clock.shift(timedelta(minutes=30))
    reply(client_as, people.agent, first, "Here is the fix.")  # met at 10:30
    clock.shift(timedelta(hours=1))
    tick(app, "case_sla")  # the second breaches (due 11:00)
    # 1 March, and 2 March (the resolution targets fall due then)
    assert tick(app, "support_figures") == {"support_figures": 2}
    period = reports.Period("custom", MONDAY_10.date(), MONDAY_10.date())
    with app.test_request_context():
        set_principal(portal_db.session, Principal(vendor.id, "vendor", "support_agent", None))
        rolled_up = support.compliance_by_month(period).total("next_response")
        live = sla.compliance_by_month(period).total("next_response")
    assert rolled_up == live == sla.Compliance(1, 1)


def test_vendor_admins_set_the_next_response_target(
    client_as, app, db, people, clock, user_factory, vendor
):
    admin = client_as(user_factory(vendor, "vendor_admin"))
    data = {
        "name": "Fast replies", "position": 1, "active": "y", "priority": "", "tier": "",
        "product": "", "first_response_hours": "2", "next_response_hours": "abc",
        "resolution_hours": "8", "first_response_pauses": [], "next_response_pauses": ["pending"],
        "resolution_pauses": [], "timezone": "", "business_hours": "", "holidays": "",
    }  # fmt: skip
    refused = admin.post("/cases/sla", data=data)
    assert refused.status_code == 422 and "Give the hours as a number" in refused.get_data(
        as_text=True
    )
    assert db.scalar(select(SlaPolicy).where(SlaPolicy.name == "Fast replies")) is None
    assert admin.post("/cases/sla", data={**data, "next_response_hours": "0.5"}).status_code == 302
    policy = db.scalar(select(SlaPolicy).where(SlaPolicy.name == "Fast replies"))
    assert policy.next_response_hours == Decimal("0.50")
    assert policy.next_response_pauses == ["pending"]
    listing = admin.get("/cases/sla").get_data(as_text=True)
    assert "Next response" in listing and "0.50 h · stops in pending" in listing
    with app.test_request_context():
        actor = Principal(vendor.id, "vendor", "vendor_admin", None)
        fields = {**data, "next_response_hours": "", "next_response_pauses": []}
        assert policies.save_policy(policy, fields, actor=actor).next_response_hours is None
        with pytest.raises(InvalidInput) as refused_pause:
            policies.save_policy(
                policy, {**fields, "next_response_pauses": ["solved"]}, actor=actor
            )
        assert refused_pause.value.field == "next_response_pauses"
