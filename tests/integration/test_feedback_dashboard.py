"""The Feedback dashboard on a known data set: NPS and CSAT with their response rates by month,
organisation kind, partner tier and product line, and the ideas in each status at the end of
each month, every figure computed by hand below and asserted exactly, in the queries and in the
page's tables. Also: the statements of the page do not grow with the rows, and only vendor staff
see it.

The world (period: January to March 2026, the clock on 15 June 2026):

NPS surveys (recipient: kind, tier when sent -> score; "-" unanswered)
  campaign A, networking, sent 10 Jan: gold reseller 10, silver distributor 9, reseller without
    tier 7, customer C1 (first) 3, customer C1 (second) -, answered in February but counted in
    January, the month it was sent
  campaign B, whole portfolio, sent 5 Feb: C1 (first) 6, C2 10, gold reseller 0, silver -
  campaign C, security, sent 20 Dec 2025: C2 10 (before the period: not counted)
  The distributor is gold now; its surveys count under silver, its tier when they were sent.

CSAT requests (case: organisation, product line -> rating, solved)
  case 1: C1, networking                          5 (10 Jan), 4 (20 Jan)
  case 2: C1, no line, catalogue product storage  1 (25 Jan), 2 (2 Mar)
  case 3: the gold reseller's own, security (its product is storage: the case's line wins)
                                                  4 (3 Feb)
  case 4: C2, no line, no product                 - (14 Feb), 5 (1 Dec 2025: not counted)

Ideas (proposed; moves)
  I6 1 Oct 2025; done 1 Dec 2025          I1 5 Nov 2025; planned 10 Feb
  I2 15 Jan; declined 5 Mar               I3 20 Feb; duplicate of I1 20 Mar
  I4 10 Mar; in progress 2 Apr (after)    I5 1 Apr (after the period)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import event, select

from feedback.csat.models import CsatResponse, CsatSurvey
from feedback.ideas.models import Idea
from feedback.surveys.models import SurveyRecipient, SurveyResponse
from partners.catalogue.models import Product
from partners.program.models import Tier
from portal import reports
from portal.identity.models import Organization
from portal.tenancy import Principal
from tests import factories
from tests.unchanged import unchanged

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
PERIOD = {"period": "custom", "start": "2026-01-01", "end": "2026-03-31"}
QUERY = "/feedback/analytics?period=custom&start=2026-01-01&end=2026-03-31"


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 9, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


class World:
    pass


@pytest.fixture
def world(db, vendor, org_factory, user_factory, clock):
    w = World()
    for code, name, rank in (("gold", "Gold", 30), ("silver", "Silver", 20)):
        if db.query(Tier).filter_by(code=code).one_or_none() is None:
            db.add(Tier(code=code, name=name, rank=rank))
    db.flush()
    w.manager = user_factory(vendor, "channel_manager", email="manager@vendor.test")
    w.gold = org_factory("reseller", tier="gold", name="Gold Reseller")
    w.silver = org_factory("distributor", tier="gold", name="Once Silver Distributor")
    w.plain = org_factory("reseller", name="Untiered Reseller")
    w.c1 = org_factory("customer", name="First Customer")
    w.c2 = org_factory("customer", name="Second Customer")
    w.gold_user = user_factory(w.gold, "partner_admin")
    w.silver_user = user_factory(w.silver, "partner_admin")
    w.plain_user = user_factory(w.plain, "partner_admin")
    w.c1_first = user_factory(w.c1, "customer_admin")
    w.c1_second = user_factory(w.c1, "customer_user")
    w.c2_user = user_factory(w.c2, "customer_admin")

    campaign_a = factories.make_campaign(db, vendor, "A", status="sent", product="networking")
    campaign_b = factories.make_campaign(db, vendor, "B", status="sent", product="")
    campaign_c = factories.make_campaign(db, vendor, "C", status="sent", product="security")
    for campaign, sent, asked in (
        (
            campaign_a,
            at(1, 10),
            [
                (w.gold_user, "gold", 10),
                (w.silver_user, "silver", 9),
                (w.plain_user, "", 7),
                (w.c1_first, "", 3),
                (w.c1_second, "", None),
            ],
        ),
        (
            campaign_b,
            at(2, 5),
            [
                (w.c1_first, "", 6),
                (w.c2_user, "", 10),
                (w.gold_user, "gold", 0),
                (w.silver_user, "silver", None),
            ],
        ),  # fmt: skip
        (campaign_c, at(12, 20, 2025), [(w.c2_user, "", 10)]),
    ):
        for user, tier, score in asked:
            ask(db, campaign, user, tier, sent, score)

    storage = Product(sku="ST-1", name="Storage array", list_price=Decimal("100"), currency="EUR",
                      product_line="storage")  # fmt: skip
    db.add(storage)
    db.flush()
    case1 = factories.make_case(db, w.c1, w.c1_first, status="solved", product_line="networking")
    case2 = factories.make_case(db, w.c1, w.c1_first, status="solved", product_id=storage.id)
    case3 = factories.make_case(db, w.gold, w.gold_user, status="solved",
                                product_line="security", product_id=storage.id)  # fmt: skip
    case4 = factories.make_case(db, w.c2, w.c2_user, status="solved")
    for case, solved, score in (
        (case1, at(1, 10), 5),
        (case1, at(1, 20), 4),
        (case2, at(1, 25), 1),
        (case2, at(3, 2), 2),
        (case3, at(2, 3), 4),
        (case4, at(2, 14), None),
        (case4, at(12, 1, 2025), 5),
    ):
        rate(db, case, solved, score)
    w.cases = (case1, case2, case3, case4)
    return w


def ask(db, campaign, user, tier, sent, score):
    """``user`` asked by ``campaign`` on ``sent`` (kind and ``tier`` as then), answering
    ``score`` 25 days later (None: never)."""
    recipient = SurveyRecipient(
        org_id=user.org_id, campaign_id=campaign.id, user_id=user.id, email=user.email,
        org_kind=db.get(Organization, user.org_id).kind, org_tier=tier, sent_at=sent,
    )  # fmt: skip
    db.add(recipient)
    db.flush()
    if score is not None:
        db.add(SurveyResponse(org_id=user.org_id, recipient_id=recipient.id,
                              campaign_id=campaign.id, score=score,
                              answered_at=sent + timedelta(days=25)))  # fmt: skip
        db.flush()


def rate(db, case, solved, score):
    survey = CsatSurvey(
        org_id=case.org_id, case_id=case.id, case_number=case.number, subject=case.subject,
        requester_id=case.requester_id, solved_at=solved, sent_at=solved,
    )  # fmt: skip
    db.add(survey)
    db.flush()
    if score is not None:
        db.add(CsatResponse(org_id=case.org_id, survey_id=survey.id, score=score))
        db.flush()


@pytest.fixture
def ideas(db, client_as, world, clock):
    """The ideas of the docstring, moved through the real status form on their days."""
    author = world.c1_first

    def idea(title, proposed):
        return factories.make_idea(db, author, title, created_at=proposed).id

    i6 = idea("Six", at(10, 1, 2025))
    i1 = idea("One", at(11, 5, 2025))
    i2 = idea("Two", at(1, 15))
    i3 = idea("Three", at(2, 20))
    i4 = idea("Four", at(3, 10))
    idea("Five", at(4, 1))
    for day, idea_id, form in (
        (at(12, 1, 2025), i6, {"status": "done"}),
        (at(2, 10), i1, {"status": "planned"}),
        (at(3, 5), i2, {"status": "declined", "reason": "Not for us"}),
        (at(3, 20), i3, {"status": "duplicate", "duplicate_of": str(i1)}),
        (at(4, 2), i4, {"status": "in_progress"}),
    ):
        clock.move_to(day)  # signed in that day: a session is not valid before it began
        response = client_as(world.manager).post(f"/ideas/{idea_id}/status", data=form)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        assert response.location == f"/ideas/{idea_id}", response.location
    clock.move_to(NOW)
    db.expire_all()
    assert db.get(Idea, i4).status == "in_progress"


def as_vendor(app, user):
    from portal.db import db as portal_db
    from portal.db import set_principal

    context = app.test_request_context()
    context.push()
    set_principal(portal_db.session, Principal.for_user(user))
    return context


def nps_of(figures) -> dict:
    return {
        g: (f.sent, f.responses, f.promoters, f.detractors, f.nps, f.response_rate)
        for g, f in figures.items()
    }


def csat_of(figures) -> dict:
    return {
        g: (f.sent, f.responses, f.total, f.satisfied, f.average, f.response_rate)
        for g, f in figures.items()
    }


D = Decimal


def test_nps_by_month_kind_tier_and_product_line(app, db, world):
    from feedback import analytics

    period = reports.period_from(PERIOD)
    context = as_vendor(app, world.manager)
    try:
        found = {g: nps_of(analytics.nps_by(g, period)) for g in analytics.GROUPINGS}
        total = analytics.sum_nps(analytics.nps_by("month", period).values())
    finally:
        context.pop()
    # sent, answered, promoters, detractors, NPS, response rate
    assert found["month"] == {
        "2026-01": (5, 4, 2, 1, D("25.0"), D(4) / D(5)),  # (2 - 1) / 4
        "2026-02": (4, 3, 1, 2, D("-33.3"), D(3) / D(4)),  # (1 - 2) / 3
    }
    assert found["kind"] == {
        "reseller": (3, 3, 1, 1, D("0.0"), D(1)),  # 10, 7, 0
        "distributor": (2, 1, 1, 0, D("100.0"), D(1) / D(2)),  # 9, -
        "customer": (4, 3, 1, 2, D("-33.3"), D(3) / D(4)),  # 3, -, 6, 10
    }
    assert found["tier"] == {
        "gold": (2, 2, 1, 1, D("0.0"), D(1)),  # 10, 0
        "silver": (2, 1, 1, 0, D("100.0"), D(1) / D(2)),  # the tier when sent
        "": (1, 1, 0, 0, D("0.0"), D(1)),  # the reseller without a tier: a passive 7
    }
    assert found["product_line"] == {
        "networking": (5, 4, 2, 1, D("25.0"), D(4) / D(5)),
        "": (4, 3, 1, 2, D("-33.3"), D(3) / D(4)),  # campaign B, the whole portfolio
    }
    assert (total.sent, total.responses, total.nps) == (9, 7, D("0.0"))  # (3 - 3) / 7
    assert f"{total.response_rate:.4f}" == "0.7778"


def test_csat_by_month_kind_tier_and_product_line(app, db, world):
    from feedback import analytics

    period = reports.period_from(PERIOD)
    context = as_vendor(app, world.manager)
    try:
        found = {g: csat_of(analytics.csat_by(g, period)) for g in analytics.GROUPINGS}
        total = analytics.sum_csat(analytics.csat_by("month", period).values())
    finally:
        context.pop()
    # sent, rated, sum of ratings, satisfied (4 or 5), average, response rate
    assert found["month"] == {
        "2026-01": (3, 3, 10, 2, D("3.3"), D(1)),  # 5, 4, 1
        "2026-02": (2, 1, 4, 1, D("4.0"), D(1) / D(2)),  # 4, -
        "2026-03": (1, 1, 2, 0, D("2.0"), D(1)),  # 2
    }
    assert found["kind"] == {
        "customer": (5, 4, 12, 2, D("3.0"), D(4) / D(5)),
        "reseller": (1, 1, 4, 1, D("4.0"), D(1)),
    }
    assert found["tier"] == {"gold": (1, 1, 4, 1, D("4.0"), D(1))}  # partners only
    assert found["product_line"] == {
        "networking": (2, 2, 9, 2, D("4.5"), D(1)),
        "storage": (2, 2, 3, 0, D("1.5"), D(1)),  # the catalogue product's line
        "security": (1, 1, 4, 1, D("4.0"), D(1)),  # the case's own line first
        "": (1, 0, 0, 0, None, D(0)),  # neither: asked, not answered
    }
    assert (total.sent, total.responses, total.average) == (6, 5, D("3.2"))
    assert (total.satisfied_share, total.response_rate) == (D(3) / D(5), D(5) / D(6))


def test_ideas_by_status_at_the_end_of_each_month(app, db, world, ideas):
    from feedback import analytics

    context = as_vendor(app, world.manager)
    try:
        counts = analytics.ideas_by_status(reports.period_from(PERIOD))
        spring = analytics.ideas_by_status(
            reports.period_from({"period": "custom", "start": "2026-03-01", "end": "2026-04-30"})
        )
    finally:
        context.pop()
    #   January: I1, I2 under review, I6 done; February: I1 planned, I3 proposed; March: I2
    #   declined, I3 duplicate, I4 proposed (in progress only in April)
    assert counts == {
        "under_review": [2, 2, 1],
        "planned": [0, 1, 1],
        "in_progress": [0, 0, 0],
        "done": [1, 1, 1],
        "declined": [0, 0, 1],
        "duplicate": [0, 0, 1],
    }
    # March to April: I4 moves to in progress, I5 is proposed
    assert spring == {
        "under_review": [1, 1],
        "planned": [1, 1],
        "in_progress": [0, 1],
        "done": [1, 1],
        "declined": [1, 1],
        "duplicate": [1, 1],
    }


def table(html: str, key: str) -> list[list[str]]:
    """The rows of a chart's table as text cells (header cell first)."""
    import re

    start = html.index(f'id="table-{key}"')
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]


def test_the_page_shows_every_figure_in_its_tables(client_as, db, world, ideas):
    page = client_as(world.manager).get(QUERY)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1" in html and "Feedback dashboard" in html
    assert table(html, "nps-by-month") == [
        ["Jan 2026", "25"],
        ["Feb 2026", "-33.3"],
        ["Mar 2026", "—"],
    ]
    assert table(html, "csat-by-month") == [
        ["Jan 2026", "3.3"],
        ["Feb 2026", "4"],
        ["Mar 2026", "2"],
    ]
    assert table(html, "response-rates-by-month") == [
        ["Jan 2026", "80%", "100%", "66.7%"],
        ["Feb 2026", "75%", "50%", "100%"],
        ["Mar 2026", "—", "100%", "0%"],
    ]
    assert table(html, "surveys-by-month") == [
        ["Jan 2026", "5", "4", "3", "3"],
        ["Feb 2026", "4", "3", "2", "1"],
        ["Mar 2026", "0", "0", "1", "1"],
    ]
    assert table(html, "nps-by-kind") == [
        ["Reseller", "0"], ["Distributor", "100"], ["Supplier", "—"], ["Customer", "-33.3"]
    ]  # fmt: skip
    assert table(html, "csat-by-kind") == [
        ["Reseller", "4"], ["Distributor", "—"], ["Supplier", "—"], ["Customer", "3"]
    ]  # fmt: skip
    # NPS response rate, CSAT response rate, satisfied (CSAT 4 or 5)
    assert table(html, "response-rates-by-kind") == [
        ["Reseller", "100%", "100%", "100%"],
        ["Distributor", "50%", "—", "—"],
        ["Supplier", "—", "—", "—"],
        ["Customer", "75%", "80%", "50%"],
    ]
    # every tier of the programme, highest first, then the partners without one
    tiers = db.scalars(select(Tier).order_by(Tier.rank.desc(), Tier.id.desc())).all()
    nps_tiers, csat_tiers = {"gold": "0", "silver": "100"}, {"gold": "4"}
    assert table(html, "nps-by-tier") == [
        *([t.name, nps_tiers.get(t.code, "—")] for t in tiers),
        ["No tier", "0"],
    ]
    assert table(html, "csat-by-tier") == [
        *([t.name, csat_tiers.get(t.code, "—")] for t in tiers),
        ["No tier", "—"],
    ]
    assert table(html, "nps-by-product-line")[:3] == [
        ["Networking", "25"], ["Security", "—"], ["Cloud", "—"]
    ]  # fmt: skip
    assert table(html, "nps-by-product-line")[-1] == ["No product line", "-33.3"]
    lines = dict((row[0], row[1]) for row in table(html, "csat-by-product-line"))
    assert lines == {
        "Networking": "4.5", "Security": "4", "Cloud": "—", "Collaboration": "—",
        "Storage": "1.5", "Services": "—", "No product line": "—",
    }  # fmt: skip
    rates = {row[0]: row[1:] for row in table(html, "response-rates-by-product-line")}
    assert rates["Networking"] == ["80%", "100%", "100%"]
    assert rates["Storage"] == ["—", "100%", "0%"]
    assert rates["No product line"] == ["75%", "0%", "—"]
    assert table(html, "ideas-by-status") == [
        ["Jan 2026", "2", "0", "0", "1", "0", "0"],
        ["Feb 2026", "2", "1", "0", "1", "0", "0"],
        ["Mar 2026", "1", "1", "0", "1", "1", "1"],
    ]
    figures = html[html.index('data-testid="feedback-figures"') :]
    assert "77.8%" in figures and "3.2" in figures and "60%" in figures and "83.3%" in figures


def _statements(app, client, url: str) -> int:
    engine = app.extensions["db"].engine
    seen = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_page_costs_the_same_statements_whatever_the_rows(app, client_as, db, world, ideas):
    client = client_as(world.manager)
    few = _statements(app, client, QUERY)
    case = world.cases[0]
    campaign = factories.make_campaign(db, name="More", status="sent", product="cloud")
    for day in range(1, 20):
        rate(db, case, at(2, day), day % 5 + 1)
        factories.make_idea(db, world.c2_user, f"More {day}", created_at=at(1, day))
    for user in (world.c2_user, world.plain_user, world.c1_second):
        ask(db, campaign, user, "", at(3, 3), 8)
    assert _statements(app, client, QUERY) == few


def test_only_vendor_staff_with_feedback_view_see_the_dashboard(client_as, db, vendor, world):
    sales = factories.make_user(db, vendor, "sales_rep")
    assert client_as(sales).get(QUERY).status_code == 200
    for outsider in (world.gold_user, world.c1_first):
        client = client_as(outsider)
        with unchanged(db, counted=[SurveyResponse, CsatResponse]):
            page = client.get(QUERY)
        assert page.status_code == 403
        assert "Feedback dashboard" not in client.get("/home").get_data(as_text=True)
