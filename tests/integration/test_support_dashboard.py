"""The support dashboard (issue 14): on a small world whose figures are worked out by hand below,
every figure exactly (SLA compliance per target, next response included, by month, priority,
team and organisation, the
backlog by age, the median first response, cases avoided against cases opened), from the queries
and in the page's tables; a fixed number of statements whatever the data; vendor admins and
support agents only, from the navigation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import delete, event

from portal import access, jobs, reports
from portal.db import db as portal_db
from portal.db import set_principal
from portal.tenancy import Principal
from selfservice.analytics import sla, support
from selfservice.analytics.models import SupportDay, SupportDirtyDay
from selfservice.cases.models import CaseReplyWait, SlaPolicy, SupportTeam
from selfservice.kb.models import ArticleEvent
from tests.report_tables import tables

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
PERIOD = reports.Period("custom", NOW.date().replace(month=1, day=1), NOW.date().replace(day=30))
QUERY = "?period=custom&start=2026-01-01&end=2026-06-30"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sla_case(case_factory, org, policy, *, created, status="closed", team=None, responded=None,
             solved=None, fr_due=None, fr_breached=False, res_due=None, res_breached=False,
             priority="normal", requester=None):  # fmt: skip
    """A case as the SLA services leave it: stop times, due times, breaches (``policy`` None: a
    case without targets)."""
    return case_factory(
        org,
        requester,
        status=status,
        priority=priority,
        team_id=team.id if team else None,
        sla_policy_id=policy.id if policy else None,
        created_at=at(created),
        first_responded_at=at(responded) if responded else None,
        solved_at=at(solved) if solved else None,
        first_response_due_at=at(fr_due) if fr_due else None,
        first_response_breached=fr_breached,
        resolution_due_at=at(res_due) if res_due else None,
        resolution_breached=res_breached,
    )


def reply_wait(db, case, *, started, answered=None, due=None, breached=False) -> CaseReplyWait:
    """A wait for the agent's next reply as the SLA services leave it."""
    wait = CaseReplyWait(
        org_id=case.org_id, case_id=case.id, started_at=at(started),
        answered_at=at(answered) if answered else None, due_at=at(due) if due else None,
        breached=breached,
    )  # fmt: skip
    db.add(wait)
    db.flush()
    return wait


def sla_policy(db) -> SlaPolicy:
    policy = SlaPolicy(
        name="Dashboard test", position=1, first_response_hours=Decimal(4),
        next_response_hours=Decimal(4), resolution_hours=Decimal(40),
    )  # fmt: skip
    db.add(policy)
    db.flush()
    return policy


# The world (period: January to June 2026; now: 15 June 2026, 12:00). Cases, with the policy
# unless said; FR = first response, Res = resolution; "br" = breached (counted at its due time):
#  c1  Acme  high   Networking  opened 01-10 09:00  FR met 01-10 10:00 (1 h)   Res met 01-12
#  c2  Acme  high   Networking  opened 01-20 09:00  FR br due 01-20 13:00, replied 18:00 (9 h)
#                                                    Res met 02-03
#  c3  Birch normal Billing     opened 02-05 08:00  FR met 02-05 11:00 (3 h)   Res br due 02-09
#                                                    (still open)
#  c4  Birch urgent no team     opened 03-01 10:00  FR met 10:30 (0.5 h)       Res met 03-02
#  c5  Acme  low    Billing     opened 03-15 09:00  FR br due 03-15 17:00, no reply; Res running
#  c6  Cedar normal Networking  opened 2025-12-20   FR met 2025-12-20 (outside) Res met 01-05
#  c7  Cedar normal Networking  opened 05-01 09:00  FR met 11:00 (2 h); pending: Res paused
#  c8  Acme  normal no policy   opened 04-01 09:00  replied 14:00 (5 h), solved 04-02: no targets
#  c9  Birch high   Networking  opened 06-14 18:00  new: FR running
#  c10 Acme  normal Networking  opened 04-10 09:00  FR met 13:00 (4 h); reopened: Res running
#  c11 Cedar high   no policy   opened 06-12 12:00  open (3 days old exactly)
#  c12 Birch low    no policy   opened 06-05 12:00  on hold (10 days)
#  c13 Acme  urgent no policy   opened 06-13 12:00  new (2 days)
#  c14 Cedar normal no team     opened 2025-12-30 10:00  FR br due 2025-12-30 14:00 (outside),
#                                                    replied 2026-01-02 10:00 (72 h); Res met 01-03
#
# Waits for the agent's next reply (NR, next response): w1 c1 asked 01-11 09:00, answered 10:00
#   (met, Jan); w2 c3 asked 02-06 09:00, br due 02-06 13:00 (Feb); w3 c7 asked 05-02 09:00,
#   answered 12:00 (met, May); w4 c10 asked 06-15 09:00, running (due 13:00): not counted.
#
# First response: Jan c1 met, c2 br (1 of 2); Feb c3 (1 of 1); Mar c4 met, c5 br (1 of 2);
#   Apr c10 (1 of 1); May c7 (1 of 1): 5 of 7.
# Resolution: Jan c1, c6, c14 (3 of 3); Feb c2 met, c3 br (1 of 2); Mar c4 (1 of 1): 5 of 6.
# Next response: Jan 1 of 1, Feb 0 of 1, May 1 of 1: 2 of 3; by priority normal 1 of 2 (w2,
#   w3), high 1 of 1 (w1); by team Billing 0 of 1, Networking 2 of 2; by organisation Acme 1 of
#   1, Birch 0 of 1, Cedar 1 of 1 (settled: Acme 7, Birch 5, Cedar 4).
# By priority, FR / Res: low 0 of 1 / none; normal 3 of 3 / 2 of 3; high 1 of 2 / 2 of 2;
#   urgent 1 of 1 / 1 of 1.
# By team: Billing desk 1 of 2 / 0 of 1; Networking desk 3 of 4 / 3 of 3; no team 1 of 1 / 2 of 2.
# By organisation (targets settled): Acme 6 (FR 2 of 4, Res 2 of 2), Birch 4 (2 of 2, 1 of 2),
#   Cedar 3 (1 of 1, 2 of 2).
# First replies in the period, hours: 0.5 1 2 3 4 5 9 72: median 3.5; Jan (1, 9, 72) 9, Feb 3,
#   Mar 0.5, Apr (4, 5) 4.5, May 2.
# Backlog now: under 1 day c9 (high); 1-3 days c13 (urgent); 3-7 days c11 (high, exactly 3 days);
#   7-30 days c12 (low); over 30 days c3, c7, c10 (normal) and c5 (low): 8 in all.
# Opened: Jan 2, Feb 1, Mar 2, Apr 2, May 1, Jun 4 (12). Avoided: Jan 2, Mar 1 (3): 20 % of 15.


def refresh(app) -> dict:
    """The tick that computes again the days whose cases changed (the rollup)."""
    with app.app_context():
        return jobs.run_periodic(["support_figures"])


@pytest.fixture
def world(app, db, vendor, org_factory, user_factory, case_factory, article_factory):
    acme = org_factory("customer", name="Acme Clinics")
    birch = org_factory("customer", name="Birch Bank")
    cedar = org_factory("customer", name="Cedar Foods")
    policy = sla_policy(db)
    billing, networking = SupportTeam(name="Billing desk"), SupportTeam(name="Networking desk")
    db.add_all([billing, networking])
    db.flush()

    def make(org, **fields):
        fields.setdefault("policy", policy)
        return sla_case(case_factory, org, fields.pop("policy"), **fields)

    cases = {
        1: make(acme, priority="high", team=networking, created="2026-01-10T09:00",
                responded="2026-01-10T10:00", solved="2026-01-12T09:00"),
        2: make(acme, priority="high", team=networking, created="2026-01-20T09:00",
                fr_due="2026-01-20T13:00", fr_breached=True, responded="2026-01-20T18:00",
                solved="2026-02-03T09:00"),
        3: make(birch, team=billing, status="open", created="2026-02-05T08:00",
                responded="2026-02-05T11:00", res_due="2026-02-09T12:00", res_breached=True),
        4: make(birch, priority="urgent", status="solved", created="2026-03-01T10:00",
                responded="2026-03-01T10:30", solved="2026-03-02T10:00"),
        5: make(acme, priority="low", team=billing, status="open", created="2026-03-15T09:00",
                fr_due="2026-03-15T17:00", fr_breached=True, res_due="2026-06-20T09:00"),
        6: make(cedar, team=networking, created="2025-12-20T09:00",
                responded="2025-12-20T10:00", solved="2026-01-05T09:00"),
        7: make(cedar, team=networking, status="pending", created="2026-05-01T09:00",
                responded="2026-05-01T11:00"),
        8: make(acme, policy=None, created="2026-04-01T09:00", responded="2026-04-01T14:00",
                solved="2026-04-02T09:00"),
        9: make(birch, priority="high", team=networking, status="new",
                created="2026-06-14T18:00", fr_due="2026-06-15T16:00"),
        10: make(acme, team=networking, status="open", created="2026-04-10T09:00",
                 responded="2026-04-10T13:00", res_due="2026-06-20T09:00"),
        11: make(cedar, policy=None, priority="high", status="open", created="2026-06-12T12:00"),
        12: make(birch, policy=None, priority="low", status="on_hold",
                 created="2026-06-05T12:00"),
        13: make(acme, policy=None, priority="urgent", status="new", created="2026-06-13T12:00"),
        14: make(cedar, created="2025-12-30T10:00", fr_due="2025-12-30T14:00", fr_breached=True,
                 responded="2026-01-02T10:00", solved="2026-01-03T10:00"),
    }  # fmt: skip
    article = article_factory()
    for kind, voter, moment in [
        ("case_avoided", "user:1", "2026-01-15T10:00"),
        ("case_avoided", "visitor:a", "2026-01-15T11:00"),
        ("case_avoided", "visitor:b", "2026-03-03T10:00"),
        ("case_avoided", "visitor:c", "2025-12-31T10:00"),  # outside the period
        ("view", "visitor:d", "2026-02-01T10:00"),
        ("case_raised", "user:2", "2026-02-01T10:00"),
    ]:
        db.add(ArticleEvent(article_id=article.id, kind=kind, voter=voter, created_at=at(moment)))
    reply_wait(db, cases[1], started="2026-01-11T09:00", answered="2026-01-11T10:00")
    reply_wait(db, cases[3], started="2026-02-06T09:00", due="2026-02-06T13:00", breached=True)
    reply_wait(db, cases[7], started="2026-05-02T09:00", answered="2026-05-02T12:00")
    reply_wait(db, cases[10], started="2026-06-15T09:00", due="2026-06-15T13:00")
    db.flush()
    refresh(app)
    return {
        "acme": acme,
        "birch": birch,
        "cedar": cedar,
        "cases": cases,
        "policy": policy,
        "vendor": vendor,
        "agent": user_factory(vendor, access.SUPPORT_AGENT),
    }


def _as_agent(world):
    return Principal(world["vendor"].id, "vendor", access.SUPPORT_AGENT, world["agent"].id)


def _table(table, target=None):
    """(label, first response (met, breached), resolution (met, breached)) per group; with a
    ``target``, (label, (met, breached)) of that target."""
    targets = (target,) if target else ("first_response", "resolution")
    return [
        (label, *((table.of(key, t).met, table.of(key, t).breached) for t in targets))
        for key, label in table.groups
    ]


# The queries.


def test_sla_compliance_by_month_priority_team_and_organisation(app, world):
    with app.test_request_context():
        set_principal(portal_db.session, _as_agent(world))
        by_month = support.compliance_by_month(PERIOD)
        by_priority = support.compliance_by_priority(PERIOD)
        by_team = support.compliance_by_team(PERIOD)
        by_org = support.compliance_by_organisation(PERIOD)
        top_two = support.compliance_by_organisation(PERIOD, limit=2)
    assert _table(by_month) == [
        ("2026-01", (1, 1), (3, 0)),
        ("2026-02", (1, 0), (1, 1)),
        ("2026-03", (1, 1), (1, 0)),
        ("2026-04", (1, 0), (0, 0)),
        ("2026-05", (1, 0), (0, 0)),
        ("2026-06", (0, 0), (0, 0)),
    ]
    assert by_month.rates("first_response") == [0.5, 1.0, 0.5, 1.0, 1.0, None]
    assert by_month.rates("resolution") == [1.0, 0.5, 1.0, None, None, None]
    assert by_month.total("first_response") == sla.Compliance(5, 2)
    assert by_month.total("resolution") == sla.Compliance(5, 1)
    assert by_month.total("first_response").rate == pytest.approx(5 / 7)
    assert _table(by_priority) == [
        ("low", (0, 1), (0, 0)),
        ("normal", (3, 0), (2, 1)),
        ("high", (1, 1), (2, 0)),
        ("urgent", (1, 0), (1, 0)),
    ]
    assert _table(by_team) == [
        ("Billing desk", (1, 1), (0, 1)),
        ("Networking desk", (3, 1), (3, 0)),
        (None, (1, 0), (2, 0)),
    ]
    assert _table(by_org) == [
        ("Acme Clinics", (2, 2), (2, 0)),
        ("Birch Bank", (2, 0), (1, 1)),
        ("Cedar Foods", (1, 0), (2, 0)),
    ]
    assert [label for _key, label in top_two.groups] == ["Acme Clinics", "Birch Bank"]
    assert _table(by_month, "next_response") == [
        ("2026-01", (1, 0)),
        ("2026-02", (0, 1)),
        ("2026-03", (0, 0)),
        ("2026-04", (0, 0)),
        ("2026-05", (1, 0)),
        ("2026-06", (0, 0)),
    ]
    assert by_month.total("next_response") == sla.Compliance(2, 1)
    assert _table(by_priority, "next_response") == [
        ("low", (0, 0)), ("normal", (1, 1)), ("high", (1, 0)), ("urgent", (0, 0)),
    ]  # fmt: skip
    assert _table(by_team, "next_response") == [
        ("Billing desk", (0, 1)), ("Networking desk", (2, 0)), (None, (0, 0)),
    ]  # fmt: skip
    assert _table(by_org, "next_response") == [
        ("Acme Clinics", (1, 0)), ("Birch Bank", (0, 1)), ("Cedar Foods", (1, 0)),
    ]  # fmt: skip


def test_backlog_first_response_and_cases_avoided(app, world):
    with app.test_request_context():
        set_principal(portal_db.session, _as_agent(world))
        backlog = support.backlog(NOW)
        first = support.first_response(PERIOD)
        deflection = support.deflection(PERIOD)
    assert backlog.counts == {
        (0, "high"): 1,
        (1, "urgent"): 1,
        (2, "high"): 1,
        (3, "low"): 1,
        (4, "low"): 1,
        (4, "normal"): 3,
    }
    assert backlog.total == 8
    assert first.median_hours == pytest.approx(3.5, abs=1e-6)
    assert first.monthly[5] is None
    assert [round(m, 6) for m in first.monthly[:5]] == [9.0, 3.0, 0.5, 4.5, 2.0]
    assert deflection.avoided == [2, 0, 1, 0, 0, 0]
    assert deflection.opened == [2, 1, 2, 2, 1, 4]
    assert deflection.share == pytest.approx(0.2)


def test_a_target_counts_at_its_due_time_when_breached_and_never_without_a_policy(
    app, world, case_factory
):
    # Breached in June (due 06-02) though replied in May; and a case without a policy whose
    # flags say breached: neither changes May.
    sla_case(case_factory, world["acme"], world["policy"], created="2026-05-30T09:00",
             fr_due="2026-06-02T09:00", fr_breached=True, responded="2026-05-31T09:00",
             status="open")  # fmt: skip
    sla_case(case_factory, world["acme"], None, created="2026-05-30T09:00",
             fr_due="2026-05-30T13:00", fr_breached=True, status="open")  # fmt: skip
    refresh(app)
    with app.test_request_context():
        set_principal(portal_db.session, _as_agent(world))
        by_month = support.compliance_by_month(PERIOD)
    assert _table(by_month)[4:] == [("2026-05", (1, 0), (0, 0)), ("2026-06", (0, 1), (0, 0))]


# The rollup.


def test_the_rollup_counts_what_a_live_count_of_the_cases_gives(app, world):
    with app.test_request_context():
        set_principal(portal_db.session, _as_agent(world))
        rolled_up, live = support.compliance_by_month(PERIOD), sla.compliance_by_month(PERIOD)
        assert _table(rolled_up) == _table(live)
        assert _table(rolled_up, "next_response") == _table(live, "next_response")


def test_a_change_counts_from_the_next_tick(app, db, world):
    # Case 4 (March, urgent) is reopened and case 2 (January) becomes low: until the tick runs,
    # the figures are the last tick's.
    world["cases"][4].solved_at = None
    world["cases"][2].priority = "low"
    db.flush()

    def figures():
        with app.test_request_context():
            set_principal(portal_db.session, _as_agent(world))
            return support.compliance_by_month(PERIOD), support.compliance_by_priority(PERIOD)

    by_month, by_priority = figures()
    assert by_month.of("2026-03", "resolution") == sla.Compliance(1, 0)
    assert refresh(app) == {"support_figures": 4}  # 01-20, 02-03 (case 2); 03-01, 03-02 (case 4)
    by_month, by_priority = figures()
    assert by_month.of("2026-03", "resolution") == sla.Compliance(0, 0)
    assert _table(by_priority) == [
        ("low", (0, 2), (1, 0)),
        ("normal", (3, 0), (2, 1)),
        ("high", (1, 0), (1, 0)),
        ("urgent", (1, 0), (0, 0)),
    ]
    assert refresh(app) == {"support_figures": 0}


def test_a_mark_without_a_day_computes_every_day_again(app, db, world):
    db.execute(delete(SupportDay))
    db.add(SupportDirtyDay(day=None))
    db.flush()
    assert refresh(app) == {"support_figures": -1}
    with app.test_request_context():
        set_principal(portal_db.session, _as_agent(world))
        assert support.compliance_by_month(PERIOD).total("first_response") == sla.Compliance(5, 2)
        assert support.deflection(PERIOD).opened == [2, 1, 2, 2, 1, 4]


def test_only_vendor_staff_read_the_rollup(app, world, user_factory):
    customer = user_factory(world["acme"], access.CUSTOMER_ADMIN)
    with app.test_request_context():
        set_principal(portal_db.session, Principal.for_user(customer))
        assert support.compliance_by_month(PERIOD).total("first_response") == sla.Compliance()
        assert support.first_response(PERIOD).median_hours is None


# The page.


def _page(client_as, user, path="/reports/support" + QUERY):
    with time_machine.travel(NOW, tick=False):
        response = client_as(user).get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response


def test_the_page_shows_every_figure_in_its_tables(client_as, world):
    response = _page(client_as, world["agent"])
    found = tables(response)
    page = response.get_data(as_text=True)
    assert "<h1" in page and "Support dashboard" in page
    assert found["table-sla-by-month"] == [
        ["Month", "First response", "Next response", "Resolution"],
        ["Jan 2026", "50%", "100%", "100%"],
        ["Feb 2026", "100%", "0%", "50%"],
        ["Mar 2026", "50%", "—", "100%"],
        ["Apr 2026", "100%", "—", "—"],
        ["May 2026", "100%", "100%", "—"],
        ["Jun 2026", "—", "—", "—"],
    ]
    assert found["table-sla-by-priority"] == [
        ["Priority", "First response", "Next response", "Resolution"],
        ["Low", "0%", "—", "—"],
        ["Normal", "100%", "50%", "66.7%"],
        ["High", "50%", "100%", "100%"],
        ["Urgent", "100%", "—", "100%"],
    ]
    assert found["table-sla-by-team"][1:] == [
        ["Billing desk", "50%", "0%", "0%"],
        ["Networking desk", "75%", "100%", "100%"],
        ["No team", "100%", "—", "100%"],
    ]
    assert found["table-sla-by-organisation"][1:] == [
        ["Acme Clinics", "50%", "100%", "100%"],
        ["Birch Bank", "100%", "0%", "50%"],
        ["Cedar Foods", "100%", "100%", "100%"],
    ]
    assert found["table-backlog-by-age"] == [
        ["Open for", "Low", "Normal", "High", "Urgent"],
        ["Under 1 day", "0", "0", "1", "0"],
        ["1–3 days", "0", "0", "0", "1"],
        ["3–7 days", "0", "0", "1", "0"],
        ["7–30 days", "1", "0", "0", "0"],
        ["Over 30 days", "1", "3", "0", "0"],
    ]
    assert found["table-first-response-by-month"][1:] == [
        ["Jan 2026", "9 h"],
        ["Feb 2026", "3 h"],
        ["Mar 2026", "0.5 h"],
        ["Apr 2026", "4.5 h"],
        ["May 2026", "2 h"],
        ["Jun 2026", "—"],
    ]
    assert found["table-cases-avoided-by-month"] == [
        ["Month", "Cases avoided", "Cases opened"],
        ["Jan 2026", "2", "2"],
        ["Feb 2026", "0", "1"],
        ["Mar 2026", "1", "2"],
        ["Apr 2026", "0", "2"],
        ["May 2026", "0", "1"],
        ["Jun 2026", "0", "4"],
    ]
    figures = page[page.index('data-testid="support-figures"') :]
    assert "71.4%" in figures and "5 met of 7 settled in the period" in figures
    assert "83.3%" in figures and "5 met of 6 settled in the period" in figures
    assert "66.7%" in figures and "2 met of 3 settled in the period" in figures
    assert "3.5 h" in figures
    assert "20% of cases avoided or opened; 12 opened" in figures
    assert "8 cases not solved or closed" in page


def test_the_period_filter_narrows_every_chart(client_as, world):
    found = tables(_page(client_as, world["agent"], "/reports/support?period=month"))
    assert found["table-sla-by-month"] == [
        ["Month", "First response", "Next response", "Resolution"], ["Jun 2026", "—", "—", "—"],
    ]  # fmt: skip
    assert found["table-cases-avoided-by-month"][1:] == [["Jun 2026", "0", "4"]]
    # the backlog is today's, whatever the period
    assert found["table-backlog-by-age"][5] == ["Over 30 days", "1", "3", "0", "0"]


def test_statements_do_not_grow_with_the_data(app, client_as, world, case_factory):
    engine = app.extensions["db"].engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def measure() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert browser.get("/reports/support" + QUERY).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    with time_machine.travel(NOW, tick=False):
        browser = client_as(world["agent"])
        before = measure()
        for n in range(20):
            sla_case(case_factory, world["birch"], world["policy"], created="2026-02-10T09:00",
                     responded=f"2026-02-10T{10 + n % 8:02d}:00", solved="2026-02-12T09:00",
                     priority=("low", "high")[n % 2], team=None)  # fmt: skip
        refresh(app)
        assert measure() == before


@pytest.mark.parametrize("role", [access.VENDOR_ADMIN, access.SUPPORT_AGENT])
def test_vendor_admins_and_support_agents_open_it_from_the_navigation(
    client_as, user_factory, vendor, role
):
    browser = client_as(user_factory(vendor, role))
    home = browser.get("/home").get_data(as_text=True)
    assert 'href="/reports/support"' in home and "Support dashboard" in home
    assert browser.get("/reports/support").status_code == 200


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        ("customer", access.CUSTOMER_ADMIN),
        ("reseller", access.PARTNER_ADMIN),
        ("vendor", access.CHANNEL_MANAGER),
    ],
)
def test_others_do_not_see_it_and_are_refused(client_as, org_factory, user_factory, vendor,
                                              kind, role):  # fmt: skip
    org = vendor if kind == "vendor" else org_factory(kind)
    browser = client_as(user_factory(org, role))
    home = browser.get("/home").get_data(as_text=True)
    assert "/reports/support" not in home
    assert browser.get("/reports/support").status_code == 403
