"""CSAT after a solved case on the real database: the survey follows ``case.solved`` (published
by selfservice through ``portal.events``), its link is signed for its own purpose, bound to the
survey and its recipient, expires and answers once; GET never records; a low rating tells the
case team's lead (without one, the vendor admins); a case solved again while its survey is open
is not asked twice."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from feedback import analytics, links
from feedback.csat.models import CsatResponse, CsatSurvey
from portal import reports
from portal.clock import utcnow
from portal.identity.models import User
from portal.notify.models import Notification
from selfservice.cases.models import SupportTeam, SupportTeamMember
from tests.factories import make_case, make_product
from tests.integration.test_cases import load, make_people, open_case, set_status
from tests.integration.test_feedback_surveys import as_refused, forged_with_the_key
from tests.unchanged import unchanged

LINK = re.compile(r"http://portal\.test(/feedback/csat/[A-Za-z0-9._-]+)")


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    people = make_people(vendor, org_factory, user_factory)
    people.admin = user_factory(vendor, "vendor_admin", email="boss@vendor.test")
    return people


def solve(client_as, agent, case_id, status="solved"):
    # From the case page, as the agent sees it: the status form carries the page's snapshot.
    response = set_status(client_as(agent), case_id, status)
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]


def survey_links(mailbox, user) -> list[str]:
    return [
        LINK.search(m.get_content()).group(1)
        for m in mailbox.to(user.email)
        if LINK.search(m.get_content())
    ]


def answers(db) -> int:
    return db.scalar(select(func.count()).select_from(CsatResponse))


def solved_case_link(client_as, db, people, mailbox) -> tuple[int, str]:
    case_id = open_case(client_as, people.customer_user, product="networking")
    solve(client_as, people.agent, case_id)
    (path,) = survey_links(mailbox, people.customer_user)
    return case_id, path


def test_solving_emails_the_requester_a_link_get_shows_post_records(
    client_as, client, db, people, mailbox
):
    case_id, path = solved_case_link(client_as, db, people, mailbox)
    survey = db.scalar(select(CsatSurvey))
    assert (survey.case_id, survey.requester_id, survey.product) == (
        case_id,
        people.customer_user.id,
        "networking",
    )
    assert survey.org_id == people.customer.id
    assert not survey_links(mailbox, people.colleague)  # only the requester is asked
    page = client.get(path)
    assert page.status_code == 200
    assert "How satisfied are you" in page.get_data(as_text=True)
    client.get(path)
    assert answers(db) == 0  # GET never records (email scanners open links)
    done = client.post(path, data={"score": "4", "comment": "Quick and kind"})
    assert done.status_code == 200 and "Your answer is recorded" in done.get_data(as_text=True)
    response = db.scalar(select(CsatResponse))
    assert (response.score, response.comment, response.org_id) == (
        4,
        "Quick and kind",
        people.customer.id,
    )


def test_a_link_answers_once_and_the_database_decides(client_as, client, db, people, mailbox):
    _, path = solved_case_link(client_as, db, people, mailbox)
    assert client.post(path, data={"score": "5"}).status_code == 200
    survey = db.scalar(select(CsatSurvey))
    with unchanged(db, survey, counted=[CsatResponse]):
        again = client.post(path, data={"score": "1"})
    assert again.status_code == 200 and "already answered" in again.get_data(as_text=True)
    assert "already answered" in client.get(path).get_data(as_text=True)
    assert [r.score for r in db.scalars(select(CsatResponse))] == [5]
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(CsatResponse(org_id=survey.org_id, survey_id=survey.id, score=3))
        db.flush()


def test_the_key_alone_cannot_make_a_link_that_answers(client_as, app, client, db, people, mailbox):
    """As for NPS links: signed with the real key for the real survey and requester, but
    without the survey row's stored nonce, a link is refused like a forged one (page and
    status) and records nothing; the emailed link opens, answers once and thanks."""
    _, path = solved_case_link(client_as, db, people, mailbox)
    survey = db.scalar(select(CsatSurvey))
    assert len(survey.link_nonce) >= 22
    refused = client.get("/feedback/csat/" + path.rsplit("/", 1)[1][:-4] + "AAAA")
    assert refused.status_code == 400 and "not valid" in refused.get_data(as_text=True)
    theirs = links.new_nonce()  # as another survey's: any value but this row's
    forged = forged_with_the_key(app, "csat", survey.id, survey.requester_id, theirs=theirs)
    for what, token in forged.items():
        with unchanged(db, survey, counted=[CsatResponse]):
            opened = client.get(f"/feedback/csat/{token}")
            answered = client.post(f"/feedback/csat/{token}", data={"score": "1"})
        for page in (opened, answered):
            assert as_refused(page) == as_refused(refused), what
    assert answers(db) == 0
    assert "How satisfied are you" in client.get(path).get_data(as_text=True)
    done = client.post(path, data={"score": "5"})
    assert done.status_code == 200 and "Your answer is recorded" in done.get_data(as_text=True)
    with unchanged(db, survey, counted=[CsatResponse]):
        again = client.post(path, data={"score": "2"})
    assert again.status_code == 200 and "already answered" in again.get_data(as_text=True)
    assert [(r.survey_id, r.score) for r in db.scalars(select(CsatResponse))] == [(survey.id, 5)]


def test_expired_tampered_foreign_purpose_and_bad_scores(
    client_as, app, client, db, people, mailbox
):
    _, path = solved_case_link(client_as, db, people, mailbox)
    token = path.rsplit("/", 1)[1]
    survey = db.scalar(select(CsatSurvey))
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with app.app_context():
        nps = links.make_token("nps", survey.id, people.customer_user.id, survey.link_nonce)
        other_person = links.make_token("csat", survey.id, people.colleague.id, survey.link_nonce)
    for bad in (tampered, nps, other_person, "not-a-token"):
        with unchanged(db, survey, counted=[CsatResponse]):
            page = client.get(f"/feedback/csat/{bad}")
            assert page.status_code == 400
            assert "not valid" in page.get_data(as_text=True)
            assert client.post(f"/feedback/csat/{bad}", data={"score": "5"}).status_code == 400
    with unchanged(db, survey, counted=[CsatResponse]):
        assert client.post(path, data={"score": "6"}).status_code == 422
        assert client.post(path, data={}).status_code == 422
    days = app.config.get("SURVEY_LINK_DAYS") or links.DEFAULT_DAYS
    with time_machine.travel(utcnow() + timedelta(days=days, hours=1), tick=False):
        with unchanged(db, survey, counted=[CsatResponse]):
            late = client.post(path, data={"score": "5"})
        assert late.status_code == 410 and "expired" in late.get_data(as_text=True)
    assert answers(db) == 0


def test_the_answer_needs_csrf(client_as, app, db, people, mailbox):
    _, path = solved_case_link(client_as, db, people, mailbox)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        strict = app.test_client()
        with unchanged(db, db.scalar(select(CsatSurvey)), counted=[CsatResponse]):
            assert strict.post(path, data={"score": "5"}).status_code == 400
        assert answers(db) == 0
        page = strict.get(path).get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert strict.post(path, data={"score": "5", "csrf_token": csrf}).status_code == 200
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert answers(db) == 1


def test_solved_again_while_the_survey_is_open_is_not_asked_twice(
    client_as, client, db, people, mailbox
):
    case_id, path = solved_case_link(client_as, db, people, mailbox)
    solve(client_as, people.agent, case_id, "open")
    solve(client_as, people.agent, case_id)
    assert len(survey_links(mailbox, people.customer_user)) == 1
    assert client.post(path, data={"score": "3"}).status_code == 200
    solve(client_as, people.agent, case_id, "open")
    solve(client_as, people.agent, case_id)  # the first survey was answered: this solve is asked
    assert len(survey_links(mailbox, people.customer_user)) == 2
    assert db.scalar(select(func.count()).select_from(CsatSurvey)) == 2


def test_a_customer_solving_its_own_case_is_asked_too(client_as, db, people, mailbox):
    case_id = open_case(client_as, people.customer_user)
    solve(client_as, people.customer_user, case_id)
    assert load(db, case_id).status == "solved"
    assert len(survey_links(mailbox, people.customer_user)) == 1


def told_of_low_ratings(db) -> list[int]:
    kind = Notification.kind == "feedback.csat_low"
    return [n.user_id for n in db.scalars(select(Notification).where(kind))]


def test_a_low_rating_without_a_team_tells_the_vendor_admins(
    client_as, client, db, people, mailbox
):
    _, path = solved_case_link(client_as, db, people, mailbox)
    assert client.post(path, data={"score": "2", "comment": "Slow"}).status_code == 200
    assert told_of_low_ratings(db) == [people.admin.id]
    (mail,) = [m for m in mailbox.to(people.admin.email) if "Low rating" in m["Subject"]]
    assert "Slow" in mail.get_content()


def team_with_lead(client_as, db, people, lead_id) -> SupportTeam:
    """Made on the Support teams page by a vendor admin, as in the browser."""
    page = client_as(people.admin).post(
        "/cases/teams",
        data={"name": "Networking", "members": [people.agent.id], "lead_id": lead_id},
    )
    assert page.status_code == 302, page.get_data(as_text=True)[:1000]
    return db.scalar(select(SupportTeam).where(SupportTeam.name == "Networking"))


def test_a_low_rating_tells_the_lead_of_the_case_team(client_as, client, db, people, mailbox):
    team = team_with_lead(client_as, db, people, people.agent2.id)  # a lead need not be a member
    assert team.lead_id == people.agent2.id
    assert "Lead: " in client_as(people.admin).get("/cases/teams").get_data(as_text=True)
    case_id = open_case(client_as, people.customer_user, product="networking")
    load(db, case_id).team_id = team.id
    db.flush()
    solve(client_as, people.agent, case_id)
    (path,) = survey_links(mailbox, people.customer_user)
    assert client.post(path, data={"score": "1", "comment": "Never again"}).status_code == 200
    assert told_of_low_ratings(db) == [people.agent2.id]
    (mail,) = [m for m in mailbox.to(people.agent2.email) if "Low rating" in m["Subject"]]
    assert "Never again" in mail.get_content() and "Team: Networking" in mail.get_content()
    assert not [m for m in mailbox.to(people.admin.email) if "Low rating" in m["Subject"]]


def test_a_deactivated_lead_is_replaced_by_the_vendor_admins(
    client_as, client, db, people, mailbox
):
    team = team_with_lead(client_as, db, people, people.agent2.id)
    case_id = open_case(client_as, people.customer_user, product="networking")
    load(db, case_id).team_id = team.id
    db.get(User, people.agent2.id).active = False
    db.flush()
    solve(client_as, people.agent, case_id)
    (path,) = survey_links(mailbox, people.customer_user)
    assert client.post(path, data={"score": "2"}).status_code == 200
    assert told_of_low_ratings(db) == [people.admin.id]


def test_a_team_lead_must_be_an_active_agent(client_as, db, people):
    boss = client_as(people.admin)
    with unchanged(db, counted=[SupportTeam, SupportTeamMember]):
        refused = boss.post(
            "/cases/teams",
            data={"name": "Sales desk", "members": [], "lead_id": people.manager.id},
        )
    assert refused.status_code == 422
    assert "The lead must be an active support agent." in refused.get_data(as_text=True)
    assert db.scalar(select(SupportTeam).where(SupportTeam.name == "Sales desk")) is None
    cleared = boss.post("/cases/teams", data={"name": "Sales desk", "members": [], "lead_id": 0})
    assert cleared.status_code == 302
    assert db.scalar(select(SupportTeam.lead_id).where(SupportTeam.name == "Sales desk")) is None


def test_a_good_rating_tells_nobody(client_as, client, db, people, mailbox):
    _, path = solved_case_link(client_as, db, people, mailbox)
    assert client.post(path, data={"score": "4"}).status_code == 200
    assert not db.scalars(
        select(Notification).where(Notification.kind == "feedback.csat_low")
    ).all()


def test_selfservice_never_imports_feedback():
    """The survey hangs on the ``case.solved`` event: cases know nothing of feedback."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "selfservice"
    offenders = [
        str(p)
        for p in root.rglob("*.py")
        if re.search(r"^\s*(from|import) feedback\b", p.read_text(), re.M)
    ]
    assert offenders == []


# The months add_answer's surveys are solved in.
KNOWN_MONTHS = reports.Period("custom", date(2027, 1, 1), date(2027, 2, 28))


def add_answer(db, case_id, org, agent, team, month, score, comment=""):
    solved = datetime(2027, month, 10, 12, tzinfo=UTC)
    survey = CsatSurvey(
        org_id=org.id, case_id=case_id, case_number=f"C-{case_id}", subject="s",
        requester_id=agent.id, agent_id=agent.id, team_name=team, solved_at=solved, sent_at=solved,
    )  # fmt: skip
    db.add(survey)
    db.flush()
    if score is not None:
        db.add(CsatResponse(org_id=org.id, survey_id=survey.id, score=score, comment=comment))
        db.flush()


@pytest.fixture
def known_set(client_as, db, people, org_factory):
    """Acme (managed by the reseller), agent 1, team Network, January, a networking case: 5,
    4, 1; Lone Customer (no partner), agent 2, team Storage, February, a case on a storage
    product: 3, 5; one survey unanswered."""
    case_id = open_case(client_as, people.customer_user, product="line:networking")
    lone = org_factory("customer", name="Lone Customer")
    disk = make_product(db, sku="ST-DISK-8", name="Disk shelf", product_line="storage")
    storage = make_case(db, lone, None, "Shelf offline", product_id=disk.id, product_line="storage")
    for score in (5, 4, 1):
        add_answer(db, case_id, people.customer, people.agent, "Network", 1, score)
    add_answer(db, storage.id, lone, people.agent2, "Storage", 2, 3)
    add_answer(db, storage.id, lone, people.agent2, "Storage", 2, 5, "Great")
    add_answer(db, storage.id, lone, people.agent2, "Storage", 2, None)
    return case_id


def test_results_arithmetic_on_a_known_set(client_as, app, db, people, known_set):
    from feedback.csat import queries
    from portal.db import db as portal_db
    from portal.db import set_principal
    from portal.tenancy import Principal

    with app.test_request_context():
        set_principal(portal_db.session, Principal.for_user(people.manager))
        results = queries.results()
        by_line = analytics.csat_by("product_line", KNOWN_MONTHS)

    def shown(summary):
        return (summary.responses, summary.average, summary.satisfied_percent)

    assert shown(results["overall"]) == (5, Decimal("3.6"), Decimal("60.0"))
    b = {name: {g: shown(s) for g, s in groups} for name, groups in results["breakdowns"].items()}
    january = (3, Decimal("3.3"), Decimal("66.7"))
    february = (2, Decimal("4.0"), Decimal("50.0"))
    assert b["agent"] == {people.agent.name: january, people.agent2.name: february}
    assert b["team"] == {"Network": january, "Storage": february}
    assert b["organisation"] == {"Acme Customer": january, "Lone Customer": february}
    assert b["partner"] == {"Managing Reseller": january}  # Lone Customer has no partner
    assert b["month"] == {"2027-01": january, "2027-02": february}
    # The Feedback dashboard's CSAT by product line: the line of the case, or of its product.
    assert shown(by_line["networking"].summary) == january
    assert shown(by_line["storage"].summary) == february  # the line of the case's product
    assert shown(analytics.sum_csat(by_line.values()).summary) == shown(results["overall"])
    assert set(by_line) == {"networking", "storage"}
    assert shown(queries.summarise([])) == (0, None, None)

    page = client_as(people.manager).get("/feedback/satisfaction/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "60.0 %" in html and "66.7 %" in html and "Great" in html
    # The Feedback dashboard over the known set's months: the average of every rating, and the
    # storage line's share of satisfied ratings (3 and 5; 2 of its 3 requests answered).
    dashboard = client_as(people.manager).get(
        "/feedback/analytics?period=custom&start=2027-01-01&end=2027-02-28"
    )
    html = dashboard.get_data(as_text=True)
    assert "3.6" in html[html.index('data-testid="feedback-figures"') :]
    rates = html[html.index('id="table-response-rates-by-product-line"') :]
    storage = rates.split('<th scope="row">Storage</th>', 1)[1].split("</tr>", 1)[0]
    assert storage.split("</td>")[1:3] == ['<td class="text-end">66.7%', '<td class="text-end">50%']


def test_csat_by_product_line_is_the_rated_cases_line(app, db, people):
    """By the case's product line, in one grouped statement: a case on a line alone, a case on
    a catalogue product (its line), cases of no line (in the whole portfolio only)."""
    from portal.db import db as portal_db
    from portal.db import set_principal
    from portal.tenancy import Principal

    org = people.customer
    firewall = make_product(db, sku="SEC-FW-9", name="Firewall 9", product_line="security")
    on_line = make_case(db, org, None, "Wi-Fi slow", product_line="networking")
    on_product = make_case(
        db, org, None, "Firewall drops", product_id=firewall.id, product_line="security"
    )
    no_line = make_case(db, org, None, "Invoice wrong", product="Billing")
    for case_id, scores in ((on_line.id, (5, 3)), (on_product.id, (4, 4, 1)), (no_line.id, (2,))):
        for score in scores:
            add_answer(db, case_id, org, people.agent, "Network", 1, score)
    add_answer(db, on_product.id, org, people.agent, "Network", 1, None)  # asked, unanswered

    with app.test_request_context():
        set_principal(portal_db.session, Principal.for_user(people.manager))
        by_line = analytics.csat_by("product_line", KNOWN_MONTHS)
    shown = {
        line: (s.responses, s.total, s.satisfied, s.average, s.summary.satisfied_percent)
        for line, s in by_line.items()
    }
    assert shown == {
        "networking": (2, 8, 1, Decimal("4.0"), Decimal("50.0")),
        "security": (3, 9, 2, Decimal("3.0"), Decimal("66.7")),
        "": (1, 2, 0, Decimal("2.0"), Decimal("0.0")),  # no line: in the whole portfolio only
    }
    assert (analytics.sum_csat(by_line.values()).sent, sum(v[0] for v in shown.values())) == (7, 6)


def test_the_case_page_shows_its_rating_to_vendor_staff_only(
    client_as, client, db, people, mailbox
):
    case_id, path = solved_case_link(client_as, db, people, mailbox)
    assert client.post(path, data={"score": "2", "comment": "Took ages"}).status_code == 200
    agent_page = client_as(people.agent).get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-testid="csat-rating"' in agent_page and "Took ages" in agent_page
    for outsider in (people.customer_user, people.customer_admin, people.partner_user):
        page = client_as(outsider).get(f"/cases/{case_id}")
        assert page.status_code == 200
        assert "csat-rating" not in page.get_data(as_text=True)
        assert "Took ages" not in page.get_data(as_text=True)
    for outsider in (people.customer_user, people.partner_user):
        browser = client_as(outsider)
        with unchanged(db, counted=[CsatResponse]):
            assert browser.get("/feedback/satisfaction/").status_code == 403
