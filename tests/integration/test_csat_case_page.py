"""The satisfaction rating asked on the solved case's page (issue 13, item 7), besides the email:
shown to the case's requester only, recorded by the same service as the emailed link (one answer
between them, the low-rating notice), the given score shown afterwards; refused and unchanged
for anyone else, once answered, or past the link's lifetime. And the CSAT page links a case only
for a viewer who may open it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from feedback.csat.models import CsatResponse, CsatSurvey
from portal.clock import utcnow
from tests.integration.test_cases import make_people, open_case
from tests.integration.test_feedback_csat import solve, survey_links, told_of_low_ratings
from tests.unchanged import unchanged


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    people = make_people(vendor, org_factory, user_factory)
    people.admin = user_factory(vendor, "vendor_admin", email="boss@vendor.test")
    return people


@pytest.fixture
def solved(client_as, db, people, mailbox) -> int:
    case_id = open_case(client_as, people.customer_user, product="networking")
    solve(client_as, people.agent, case_id)
    return case_id


def answers(db) -> list[tuple[int, str]]:
    return [(r.score, r.comment) for r in db.scalars(select(CsatResponse))]


def test_an_open_case_asks_nothing(client_as, db, people):
    case_id = open_case(client_as, people.customer_user)
    page = client_as(people.customer_user).get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-testid="csat-prompt"' not in page


def test_the_requester_rates_on_the_page_and_then_sees_the_rating(
    client_as, client, db, people, mailbox, solved
):
    requester = client_as(people.customer_user)
    page = requester.get(f"/cases/{solved}").get_data(as_text=True)
    assert 'data-testid="csat-form"' in page
    assert f'action="/feedback/satisfaction/cases/{solved}"' in page
    assert page.index('data-testid="csat-prompt"') < page.index('data-testid="description"')
    sent = requester.post(
        f"/feedback/satisfaction/cases/{solved}", data={"score": "1", "comment": "Took a week"}
    )
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"/cases/{solved}#csat-prompt")
    assert answers(db) == [(1, "Took a week")]
    survey = db.scalar(select(CsatSurvey))
    response = db.scalar(select(CsatResponse))
    assert (response.survey_id, response.org_id) == (survey.id, people.customer.id)
    assert told_of_low_ratings(db) == [people.admin.id]  # the same service as the email's
    after = requester.get(f"/cases/{solved}").get_data(as_text=True)
    assert "Thank you: your rating is recorded." in after
    assert "You rated the help on this case 1 of 5." in after
    assert 'data-testid="csat-form"' not in after
    # One answer between the page and the email: the emailed link says so.
    (path,) = survey_links(mailbox, people.customer_user)
    assert "already answered" in client.get(path).get_data(as_text=True)


def test_a_rating_given_by_email_shows_on_the_page_and_is_not_given_twice(
    client_as, client, db, people, mailbox, solved
):
    (path,) = survey_links(mailbox, people.customer_user)
    assert client.post(path, data={"score": "5"}).status_code == 200
    requester = client_as(people.customer_user)
    page = requester.get(f"/cases/{solved}").get_data(as_text=True)
    assert "You rated the help on this case 5 of 5." in page
    with unchanged(db, counted=[CsatResponse]):
        again = requester.post(
            f"/feedback/satisfaction/cases/{solved}", data={"score": "1"}, follow_redirects=True
        )
    assert "You have already rated this case." in again.get_data(as_text=True)
    assert answers(db) == [(5, "")]


def test_nobody_else_is_asked_and_nobody_else_may_answer(client_as, db, people, solved):
    for other in (people.colleague, people.customer_admin, people.partner_user, people.agent):
        client = client_as(other)
        page = client.get(f"/cases/{solved}")
        assert 'data-testid="csat-prompt"' not in page.get_data(as_text=True)
        with unchanged(db, counted=[CsatResponse, CsatSurvey]):
            refused = client.post(f"/feedback/satisfaction/cases/{solved}", data={"score": "5"})
        assert refused.status_code == 404, other.email
    with unchanged(db, counted=[CsatResponse]):  # a role without cases at all: 403
        manager = client_as(people.manager)
        assert manager.post(f"/feedback/satisfaction/cases/{solved}").status_code == 403
    assert answers(db) == []


def test_a_bad_score_and_a_late_rating_change_nothing(client_as, app, db, people, solved):
    requester = client_as(people.customer_user)
    with unchanged(db, counted=[CsatResponse]):
        bad = requester.post(
            f"/feedback/satisfaction/cases/{solved}", data={"score": "9"}, follow_redirects=True
        )
    assert "Choose a rating from 1 to 5." in bad.get_data(as_text=True)
    days = app.config.get("SURVEY_LINK_DAYS") or 14
    with time_machine.travel(utcnow() + timedelta(days=days, hours=1), tick=False):
        late = client_as(people.customer_user)
        page = late.get(f"/cases/{solved}").get_data(as_text=True)
        assert 'data-testid="csat-form"' not in page
        with unchanged(db, counted=[CsatResponse]):
            refused = late.post(
                f"/feedback/satisfaction/cases/{solved}", data={"score": "4"}, follow_redirects=True
            )
        assert "The time to rate this case has passed." in refused.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(CsatResponse)) == 0


def test_the_csat_page_links_a_case_only_for_whoever_may_open_it(
    client_as, client, db, people, mailbox, solved
):
    (path,) = survey_links(mailbox, people.customer_user)
    assert client.post(path, data={"score": "4", "comment": "Quick"}).status_code == 200
    number = db.scalar(select(CsatSurvey.case_number))
    for who, linked in ((people.agent, True), (people.admin, True), (people.manager, False)):
        page = client_as(who).get("/feedback/satisfaction/").get_data(as_text=True)
        comments = page.split('data-testid="csat-comments"', 1)[1].split("</ul>", 1)[0]
        assert number in comments and "Quick" in comments
        assert (f'href="/cases/{solved}"' in comments) is linked, who.email
        if not linked:
            assert client_as(who).get(f"/cases/{solved}").status_code == 403
