"""Two replies on one case at the same moment, in real concurrent requests on their own
connections (the load test saw the second answer 500 on PostgreSQL, its versioned case row
stale): the case's row is taken for the reply, so the second waits for the first and both are
kept, in order, each moving the case once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.db import unscoped
from selfservice.cases.models import Case, CaseComment
from tests import factories
from tests.integration.race_support import committed_vendor, remove_committed, together


@pytest.fixture
def committed(app):
    """A support agent of the vendor, a customer and an open case of the customer's that an
    agent has answered, committed for real; removed afterwards."""
    session = app.extensions["db"].session_factory()
    made_orgs: list[int] = []
    with unscoped(session):
        vendor = committed_vendor(session, made_orgs)
        customer = factories.make_org(session, "customer", name="Racing Customer")
        made_orgs.append(customer.id)
        agent = factories.make_user(session, vendor, "support_agent")
        person = factories.make_user(session, customer, "customer_admin")
        case = factories.make_case(session, customer, person, "Both at once", status="open")
        session.commit()
        world = {"agent": agent, "customer": person, "case": case.id, "version": case.version}
        user_ids = [agent.id, person.id]
    session.close()
    yield world
    remove_committed(app, made_orgs, user_ids)


def test_an_agent_and_a_customer_replying_at_once_are_both_kept(app, client_as, committed):
    path = f"/cases/{committed['case']}/reply"
    agent, customer = client_as(committed["agent"]), client_as(committed["customer"])

    def reply(browser, body: str):
        return lambda: browser.post(path, data={"body": body}).status_code

    # Both read the case before either writes it.
    statuses = together(
        app,
        "SELECT cases.",
        [reply(agent, "From the agent"), reply(customer, "From the customer")],
    )
    assert statuses == [302, 302]
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        bodies = session.scalars(
            select(CaseComment.body).where(CaseComment.case_id == committed["case"])
        ).all()
        version = session.scalar(select(Case.version).where(Case.id == committed["case"]))
    session.close()
    assert sorted(bodies) == ["From the agent", "From the customer"]
    assert version > committed["version"] + 1  # each reply moved the case


def test_a_stale_write_no_service_settles_answers_409_and_writes_nothing(
    app, db, client_as, vendor, org_factory, user_factory
):
    """The safety net under every versioned row: if another request's write slips in between
    a page's read and its write where no service turns that into a clear conflict, the person
    gets 409 and a page that says so (the API a problem), never a 500, and nothing is kept.
    Here the case's row moves under the reply's own UPDATE (on the same connection, past the
    reply's row lock, which no real request can do)."""
    from tests.integration.race_support import written_first
    from tests.integration.test_cases import make_people, open_case

    people = make_people(vendor, org_factory, user_factory)
    case_id = open_case(client_as, people.customer_user)
    moved = f"UPDATE cases SET version = version + 1 WHERE id = {case_id}"
    customer = client_as(people.customer_user)
    with written_first(app, "UPDATE cases", moved):
        response = customer.post(f"/cases/{case_id}/reply", data={"body": "Lost in the race"})
    assert response.status_code == 409
    assert "changed this at the same moment" in response.get_data(as_text=True)
    assert (
        db.scalars(
            select(CaseComment).where(
                CaseComment.case_id == case_id, CaseComment.body == "Lost in the race"
            )
        ).all()
        == []
    )
