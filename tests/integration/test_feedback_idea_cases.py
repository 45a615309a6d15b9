"""Cases linked to ideas: vendor staff link from the idea page (by case number) or from the case
page (by idea number); when the idea is done, the linked cases' requesters hear it, once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from feedback.ideas.models import Idea, IdeaCaseLink
from portal.notify.models import Notification
from selfservice.cases.models import Case
from tests.integration.test_cases import load, make_people, open_case
from tests.integration.test_feedback_ideas import propose
from tests.unchanged import unchanged

DONE_TITLE = "The idea behind your case is done"


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    people = make_people(vendor, org_factory, user_factory)
    people.staff = user_factory(vendor, "vendor_admin", email="ideas@vendor.test")
    return people


def told(db, user) -> list[str]:
    return [
        n.title
        for n in db.scalars(select(Notification).where(Notification.user_id == user.id))
        if n.title.startswith(DONE_TITLE)
    ]


def test_link_from_both_pages_and_done_tells_the_requesters_once(client_as, db, people, mailbox):
    idea_id = propose(client_as, people.partner_user)
    first = open_case(client_as, people.customer_user, subject="Need dark mode")
    second = open_case(client_as, people.colleague, subject="Dark mode please")
    staff = client_as(people.staff)
    number = load(db, first).number
    assert staff.post(f"/ideas/{idea_id}/cases", data={"case_number": number}).status_code == 302
    assert staff.post(f"/ideas/{idea_id}/cases", data={"case_number": number}).status_code == 302
    linked = staff.post(f"/ideas/cases/{second}/link", data={"idea_id": str(idea_id)})
    assert linked.status_code == 302 and linked.headers["Location"].endswith(f"/cases/{second}")
    assert sorted(link.case_id for link in db.scalars(select(IdeaCaseLink))) == [first, second]
    assert number in staff.get(f"/ideas/{idea_id}").get_data(as_text=True)
    case_page = staff.get(f"/cases/{second}").get_data(as_text=True)
    assert 'data-testid="case-ideas"' in case_page and "Dark mode for the console" in case_page
    with unchanged(db, (Idea, idea_id), counted=[IdeaCaseLink]):
        bad = staff.post(f"/ideas/{idea_id}/cases", data={"case_number": "NOPE-1"})
    assert bad.status_code == 422 and "There is no case with this number." in bad.get_data(
        as_text=True
    )

    assert staff.post(f"/ideas/{idea_id}/status", data={"status": "planned"}).status_code == 302
    assert told(db, people.customer_user) == []  # only "done" reaches the cases' requesters
    assert staff.post(f"/ideas/{idea_id}/status", data={"status": "done"}).status_code == 302
    assert len(told(db, people.customer_user)) == 1
    assert len(told(db, people.colleague)) == 1
    mails = [m for m in mailbox.to(people.customer_user.email) if DONE_TITLE in m["Subject"]]
    assert len(mails) == 1


def test_only_vendor_staff_link_and_see_links(client_as, db, people):
    idea_id = propose(client_as, people.partner_user)
    case_id = open_case(client_as, people.customer_user)
    number = load(db, case_id).number
    for outsider in (people.customer_user, people.partner_user):
        client = client_as(outsider)
        with unchanged(db, (Idea, idea_id), (Case, case_id), counted=[IdeaCaseLink]):
            linked = client.post(f"/ideas/{idea_id}/cases", data={"case_number": number})
            assert linked.status_code == 403
            linked = client.post(f"/ideas/cases/{case_id}/link", data={"idea_id": idea_id})
            assert linked.status_code == 403
        assert "case-ideas" not in client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert db.scalars(select(IdeaCaseLink)).all() == []
    staff = client_as(people.staff)
    with unchanged(db, (Idea, idea_id), counted=[IdeaCaseLink]):
        missing = staff.post("/ideas/cases/987654321/link", data={"idea_id": idea_id})
    assert missing.status_code == 404
