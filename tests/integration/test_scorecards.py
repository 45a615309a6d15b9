"""The partner scorecard (issue 14): on a small world whose figures are worked out by hand below,
every figure exactly, from the queries and in the page's tables (the partner's, its tier's
requirements met or not, the programme's average, by month); a partner's page never shows
another partner's name or figure and another partner's scorecard is not found; the vendor's list
sorts and filters by tier; a fixed number of statements whatever the data."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import event, select

from partners.program.models import Certification, Tier
from partners.scorecards import queries
from portal import access, reports
from portal.db import db as portal_db
from portal.db import set_principal
from portal.tenancy import Principal
from tests.report_tables import tables

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
QUARTER = reports.period_of("quarter", NOW.date())  # 1 April to 30 June 2026
QUERY = "?period=quarter"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def euros(*values) -> list[Decimal]:
    return [Decimal(v).quantize(Decimal("0.01")) for v in values]


# The world, at 15 June 2026 12:00 UTC, for the second quarter (April to June 2026); the last
# 12 months are July 2025 to June 2026. EUR unless said.
#
# Aster Networks (gold: requires 5,000.00 won in 12 months, 70% of offers accepted and 1
#   certified person)
#   a1 submitted 1,000 · a2 approved 2,000 protected until now + 10 d · a3 approved 3,500
#   protected until now + 60 d · a4 won 4,000 closed 05-10 · a5 won 1,500 closed 2025-09-01 ·
#   a6 lost 500 closed 04-20 · a7 won 700 GBP closed 06-01 · a8 won 9,999 closed 2025-05-01
#   (before the 12 months) · a9 rejected 800 · a10 draft 900
#   -> pipeline 3 open, 6,500.00; closed in the quarter 3 (a4, a6, a7), won 2: 66.7%; won in the
#      quarter 4,000.00 (a7 is GBP: counted apart); won in 12 months 5,500.00 (met); protections
#      2, ending within 30 days 1; one registration in another currency.
#   offers made in the quarter: accepted 04-02 08:00 -> 10:00 (2 h), declined 05-01 00:00 ->
#   06:00 (6 h), accepted then recalled 05-03 00:00 -> 03:00 (3 h), expired 04-10 (no answer),
#   open 06-14; and one made 03-30 (before the quarter). Answered 3, accepted 1: 33.3% (not met);
#   median answer 3 h.
# Birch Systems (silver, no requirements): b1 submitted 10,000 · b2 won 6,000 closed 06-10 ·
#   b3, b4, b5 lost 1,000 closed 06-11, 04-11, 05-20 -> pipeline 1, 10,000.00; win rate 1 of 4:
#   25%; won 6,000.00. Offers 06-01 00:00 -> 10:00 (10 h) and 06-02 00:00 -> 20:00 (20 h), both
#   accepted: 100%, median 15 h.
#   people: its admin holds a verified certification valid until 2027 (certified); its user a
#   verified one that expired on 1 June, a verified training and a certification not yet
#   verified (none counts) -> 1 certified person (met).
#   Birch's admin holds a verified certification that does not expire: 1.
# Cedar Supplies (supplier, no tier): nothing.
# Dormant Partners (inactive): a won 100,000 closed 05-02 and an accepted offer: in no figure.
#
# The programme (3 active partners): pipeline 4 open (1.3 per partner), 16,500.00 (5,500.00 per
# partner); win rate 3 won of 7 closed: 42.9%; won in the quarter 10,000.00 (3,333.33 per
# partner); in 12 months 11,500.00 (3,833.33); protections 2 (0.7), ending 1 (0.3); offers 3
# accepted of 5 answered: 60%; median answer of 2, 6, 3, 10, 20 h: 6 h; certified people 2 (0.7).
# By month (April, May, June): Aster won 0, 4,000.00, 0 (a7 is GBP); the programme per partner
# 0, 1,333.33, 2,000.00. Aster's acceptance 100%, 0%, none; the programme's 100%, 0%, 100%.

OTHERS_FIGURES = ("€10,000.00", "€6,000.00", "25%", "15 h", "€100,000.00", "Birch", "Cedar")


@pytest.fixture
def world(db, vendor, org_factory, deal_factory, lead_factory, offer_factory, user_factory):
    gold = db.scalar(select(Tier).where(Tier.code == "gold"))
    gold.required_won_value_12m = Decimal("5000.00")
    gold.required_acceptance_percent = Decimal("70.00")
    gold.required_certified_people = 1
    aster = org_factory("reseller", name="Aster Networks", tier="gold")
    birch = org_factory("reseller", name="Birch Systems", tier="silver")
    cedar = org_factory("supplier", name="Cedar Supplies", tier=None)
    dormant = org_factory("reseller", name="Dormant Partners", tier="gold", active=False)
    customer = org_factory("customer", name="Elm Customer", managed_by_id=aster.id)
    db.flush()

    def deal(partner, status, value, closed=None, **fields):
        return deal_factory(
            partner,
            status=status,
            value=Decimal(value),
            closed_at=at(closed) if closed else None,
            **fields,
        )

    deal(aster, "submitted", "1000")
    deal(aster, "approved", "2000", expires_at=NOW + timedelta(days=10))
    deal(aster, "approved", "3500", expires_at=NOW + timedelta(days=60))
    deal(aster, "won", "4000", "2026-05-10 10:00")
    deal(aster, "won", "1500", "2025-09-01")
    deal(aster, "lost", "500", "2026-04-20")
    deal(aster, "won", "700", "2026-06-01", currency="GBP")
    deal(aster, "won", "9999", "2025-05-01")
    deal(aster, "rejected", "800")
    deal(aster, "draft", "900")
    deal(birch, "submitted", "10000")
    deal(birch, "won", "6000", "2026-06-10")
    deal(birch, "lost", "1000", "2026-06-11")
    deal(birch, "lost", "1000", "2026-04-11")
    deal(birch, "lost", "1000", "2026-05-20")
    deal(dormant, "won", "100000", "2026-05-02")

    lead = lead_factory(vendor)

    def offer(partner, status, offered, answered=None):
        return offer_factory(
            lead,
            partner,
            status,
            offered_at=at(offered),
            respond_by=at(offered) + timedelta(days=2),
            responded_at=at(answered) if answered else None,
        )

    offer(aster, "accepted", "2026-04-02 08:00", "2026-04-02 10:00")
    offer(aster, "declined", "2026-05-01 00:00", "2026-05-01 06:00")
    offer(aster, "recalled", "2026-05-03 00:00", "2026-05-03 03:00")
    offer(aster, "expired", "2026-04-10 00:00")
    offer(aster, "offered", "2026-06-14 00:00")
    offer(aster, "accepted", "2026-03-30 00:00", "2026-03-31 00:00")
    offer(birch, "accepted", "2026-06-01 00:00", "2026-06-01 10:00")
    offer(birch, "accepted", "2026-06-02 00:00", "2026-06-02 20:00")
    offer(dormant, "accepted", "2026-05-05 00:00", "2026-05-05 01:00")
    people = {
        "aster_admin": user_factory(aster, access.PARTNER_ADMIN),
        "aster_user": user_factory(aster, access.PARTNER_USER),
        "birch_admin": user_factory(birch, access.PARTNER_ADMIN),
    }

    def certification(who, status, valid_until=None, kind="certification"):
        person = people[who]
        db.add(
            Certification(
                org_id=person.org_id,
                user_id=person.id,
                kind=kind,
                name=f"Certified {who} {status} {valid_until}",
                issuer="Northwind Academy",
                issued_on=date(2025, 1, 10),
                valid_until=valid_until,
                status=status,
            )
        )

    certification("aster_admin", "verified", date(2027, 1, 10))
    certification("aster_user", "verified", date(2026, 6, 1))
    certification("aster_user", "verified", kind="training")
    certification("aster_user", "recorded")
    certification("birch_admin", "verified")
    db.flush()
    return {
        "aster": aster,
        "birch": birch,
        "cedar": cedar,
        "dormant": dormant,
        "customer": customer,
        "gold": gold,
        **people,
        "manager": user_factory(vendor, access.CHANNEL_MANAGER),
        "customer_admin": user_factory(customer, access.CUSTOMER_ADMIN),
    }


def _acting(app, user):
    context = app.test_request_context()
    context.push()
    set_principal(portal_db.session, Principal.for_user(user))
    return context


# The queries.


def test_a_partners_figures_through_the_wall(app, world):
    window = queries.Window.of(QUARTER, NOW)
    context = _acting(app, world["aster_admin"])
    try:
        figures = queries.partner_figures(world["aster"].id, window)
        monthly = queries.partner_monthly(world["aster"].id, QUARTER, window)
        # Read through the wall: Birch's rows are not Aster's to count.
        assert queries.partner_figures(world["birch"].id, window) == queries.Figures()
        verdicts = queries.requirement_verdicts(world["gold"], figures)
    finally:
        context.pop()
    assert figures == queries.Figures(
        pipeline_count=3,
        pipeline_value=Decimal("6500.00"),
        closed=3,
        won=2,
        won_value=Decimal("4000.00"),
        won_value_12m=Decimal("5500.00"),
        protections_active=2,
        protections_ending=1,
        answered=3,
        accepted=1,
        median_answer_hours=pytest.approx(3.0),
        other_currency=1,
        certified_people=1,
    )
    assert figures.win_rate == pytest.approx(2 / 3)
    assert figures.acceptance_rate == pytest.approx(1 / 3)
    assert verdicts == {
        "won_12m": queries.MET,
        "acceptance": queries.NOT_MET,
        "certified": queries.MET,
    }
    assert monthly.won_value == euros("0", "4000", "0")
    assert monthly.acceptance_rate == [1.0, 0.0, None]


def test_the_programme_average_is_plain_numbers_over_the_active_partners(app, world):
    window = queries.Window.of(QUARTER, NOW)
    for who in ("aster_admin", "manager"):  # the same for a partner as for the vendor
        context = _acting(app, world[who])
        try:
            average = queries.programme_average(window)
            monthly = queries.programme_monthly(QUARTER, window, average.partners)
        finally:
            context.pop()
        assert average.partners == 3
        assert average.pipeline_count == pytest.approx(4 / 3)
        assert average.pipeline_value == Decimal("5500.00")
        assert average.win_rate == pytest.approx(3 / 7)
        assert average.acceptance_rate == pytest.approx(3 / 5)
        assert average.median_answer_hours == pytest.approx(6.0)
        assert average.protections_active == pytest.approx(2 / 3)
        assert average.protections_ending == pytest.approx(1 / 3)
        assert average.won_value == Decimal("3333.33")
        assert average.won_value_12m == Decimal("3833.33")
        assert average.certified_people == pytest.approx(2 / 3)
        assert monthly.won_value == euros("0", "1333.33", "2000")
        assert monthly.acceptance_rate == [1.0, 0.0, 1.0]
        # nothing in it names or counts one partner
        assert {type(v) for v in vars(average).values()} <= {int, float, Decimal, type(None)}


def test_the_vendors_list_has_every_active_partner(app, world):
    window = queries.Window.of(QUARTER, NOW)
    context = _acting(app, world["manager"])
    try:
        rows = {r.name: r for r in queries.partner_rows(window)}
        gold = [r.name for r in queries.partner_rows(window, tier="gold")]
        none = [r.name for r in queries.partner_rows(window, no_tier=True)]
    finally:
        context.pop()
    assert list(rows) == ["Aster Networks", "Birch Systems", "Cedar Supplies"]
    birch = rows["Birch Systems"].figures
    assert (birch.pipeline_value, birch.closed, birch.won, birch.won_value_12m) == (
        Decimal("10000.00"),
        4,
        1,
        Decimal("6000.00"),
    )
    assert (birch.answered, birch.accepted, birch.median_answer_hours) == (2, 2, 15.0)
    assert rows["Cedar Supplies"].figures == queries.Figures()
    assert rows["Aster Networks"].figures.median_answer_hours == pytest.approx(3.0)
    assert rows["Aster Networks"].verdicts == {
        "won_12m": "met",
        "acceptance": "not_met",
        "certified": "met",
    }
    assert rows["Birch Systems"].verdicts == {}  # silver sets no requirement
    assert gold == ["Aster Networks"] and none == ["Cedar Supplies"]


# The pages.


def _get(client_as, user, path):
    with time_machine.travel(NOW, tick=False):
        return client_as(user).get(path)


SCORECARD = [
    ["Measure", "Aster Networks", "Tier requires", "Requirement", "Programme average"],
    ["Pipeline (open registrations' value)", "€6,500.00", "—", "—", "€5,500.00"],
    ["Open registrations", "3", "—", "—", "1.3"],
    ["Win rate (won of those closed in the period) 2 won of 3", "66.7%", "—", "—", "42.9%"],
    ["Offer acceptance rate (of the period's offers answered) 1 accepted of 3", "33.3%", "70%",
     "Not met", "60%"],
    ["Median answer time to an offer", "3 h", "—", "—", "6 h"],
    ["Active protections", "2", "—", "—", "0.7"],
    ["Protections ending within 30 days", "1", "—", "—", "0.3"],
    ["Won value in the period", "€4,000.00", "—", "—", "€3,333.33"],
    ["Won value in the last 12 months", "€5,500.00", "€5,000.00", "Met", "€3,833.33"],
    ["Certified people (verified, valid today)", "1", "1", "Met", "0.7"],
]  # fmt: skip


def test_a_partner_reads_its_scorecard_and_nothing_of_another(client_as, world):
    response = _get(client_as, world["aster_admin"], "/scorecards/mine" + QUERY)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = tables(response)
    assert "<h1" in page and "Your scorecard" in page and "Tier: Gold" in page
    assert found["table-scorecard"] == SCORECARD
    assert found["table-won-by-month"] == [
        ["Month", "Aster Networks", "Programme average per partner"],
        ["Apr 2026", "€0.00", "€0.00"],
        ["May 2026", "€4,000.00", "€1,333.33"],
        ["Jun 2026", "€0.00", "€2,000.00"],
    ]
    assert found["table-acceptance-by-month"] == [
        ["Month", "Aster Networks", "Programme"],
        ["Apr 2026", "100%", "100%"],
        ["May 2026", "0%", "0%"],
        ["Jun 2026", "—", "100%"],
    ]
    assert "1 registration in another currency is not counted" in page
    for other in (*OTHERS_FIGURES, "Dormant", "Elm Customer"):
        assert not re.search(rf"(?<![\d,.]){re.escape(other)}", page), other
    # The same page under its own address, for a partner's user too.
    again = _get(client_as, world["aster_user"], f"/scorecards/{world['aster'].id}" + QUERY)
    assert again.status_code == 200 and tables(again)["table-scorecard"][1:] == SCORECARD[1:]


def test_a_partner_does_not_find_another_partners_scorecard(client_as, world):
    browser_user = world["aster_admin"]
    missing = _get(client_as, browser_user, "/scorecards/987654321")
    assert missing.status_code == 404
    for other in ("birch", "cedar", "dormant", "customer"):
        response = _get(client_as, browser_user, f"/scorecards/{world[other].id}")
        assert response.status_code == 404, other
        assert "Birch" not in response.get_data(as_text=True)
    assert _get(client_as, browser_user, "/scorecards/").status_code == 403


def test_customers_are_refused(client_as, world):
    for path in ("/scorecards/", "/scorecards/mine", f"/scorecards/{world['aster'].id}"):
        assert _get(client_as, world["customer_admin"], path).status_code == 403, path


def test_with_too_few_partners_a_partner_sees_no_average(client_as, db, world):
    world["cedar"].active = False
    db.flush()
    response = _get(client_as, world["aster_admin"], "/scorecards/mine" + QUERY)
    page = response.get_data(as_text=True)
    found = tables(response)
    assert 'data-testid="no-average"' in page and "Programme average" not in page
    assert found["table-scorecard"][0] == ["Measure", "Aster Networks", "Tier requires",
                                           "Requirement"]  # fmt: skip
    assert found["table-won-by-month"][0] == ["Month", "Aster Networks"]
    for other in OTHERS_FIGURES:
        assert not re.search(rf"(?<![\d,.]){re.escape(other)}", page), other
    # vendor staff still see it (they see every partner anyway)
    vendor_page = _get(client_as, world["manager"], f"/scorecards/{world['aster'].id}" + QUERY)
    assert tables(vendor_page)["table-scorecard"][0][-1] == "Programme average"


def test_vendor_staff_open_any_partners_scorecard_from_the_list(client_as, world):
    response = _get(client_as, world["manager"], "/scorecards/" + QUERY)
    assert response.status_code == 200
    found = tables(response)["table-scorecards"]
    assert found == [
        ["Partner", "Tier", "Pipeline", "Win rate", "Offer acceptance rate", "Median answer time",
         "Active protections", "Won value, last 12 months", "Certified people",
         "Tier requirements"],
        ["Aster Networks", "Gold", "€6,500.00", "66.7%", "33.3%", "3 h", "2", "€5,500.00", "1",
         "2 of 3 met"],
        ["Birch Systems", "Silver", "€10,000.00", "25%", "100%", "15 h", "0", "€6,000.00", "1",
         "None"],
        ["Cedar Supplies", "No tier", "€0.00", "—", "—", "—", "0", "€0.00", "0", "None"],
        ["Programme average", "3 active partners", "€5,500.00", "42.9%", "60%", "6 h", "0.7",
         "€3,833.33", "0.7", ""],
    ]  # fmt: skip
    page = response.get_data(as_text=True)
    link = f'href="/scorecards/{world["birch"].id}?period=quarter"'
    assert link in page
    birch = _get(client_as, world["manager"], f"/scorecards/{world['birch'].id}" + QUERY)
    assert birch.status_code == 200
    assert "Scorecard of Birch Systems" in birch.get_data(as_text=True)
    assert tables(birch)["table-scorecard"][1][1] == "€10,000.00"

    by_pipeline = tables(_get(client_as, world["manager"], "/scorecards/?sort=pipeline"))
    assert [r[0] for r in by_pipeline["table-scorecards"][1:-1]] == [
        "Birch Systems",
        "Aster Networks",
        "Cedar Supplies",
    ]
    by_answer = tables(_get(client_as, world["manager"], "/scorecards/?sort=answer_time" + "&"
                            + QUERY[1:]))  # fmt: skip
    assert [r[0] for r in by_answer["table-scorecards"][1:-1]] == [
        "Aster Networks",
        "Birch Systems",
        "Cedar Supplies",  # no answer: last
    ]
    gold = tables(_get(client_as, world["manager"], "/scorecards/?tier=gold"))
    assert [r[0] for r in gold["table-scorecards"][1:-1]] == ["Aster Networks"]
    none = tables(_get(client_as, world["manager"], "/scorecards/?tier=none"))
    assert [r[0] for r in none["table-scorecards"][1:-1]] == ["Cedar Supplies"]
    # an unknown tier or order is ignored, not an error
    odd = _get(client_as, world["manager"], "/scorecards/?tier=zzz&sort=zzz")
    assert odd.status_code == 200 and len(tables(odd)["table-scorecards"]) == 5


def test_navigation_and_the_organisation_page_lead_to_the_scorecard(client_as, world):
    partner_home = _get(client_as, world["aster_admin"], "/home").get_data(as_text=True)
    assert 'href="/scorecards/mine"' in partner_home and ">Scorecard<" in partner_home
    vendor_home = _get(client_as, world["manager"], "/home").get_data(as_text=True)
    assert 'href="/scorecards/"' in vendor_home and "Scorecards" in vendor_home

    org_page = _get(client_as, world["manager"], f"/organizations/{world['aster'].id}")
    assert f'href="/scorecards/{world["aster"].id}"' in org_page.get_data(as_text=True)
    own_page = _get(client_as, world["aster_admin"], f"/organizations/{world['aster'].id}")
    assert 'href="/scorecards/mine"' in own_page.get_data(as_text=True)
    # a customer's page has no scorecard
    customer_page = _get(client_as, world["manager"], f"/organizations/{world['customer'].id}")
    assert 'data-testid="org-scorecard-link"' not in customer_page.get_data(as_text=True)


def test_statements_do_not_grow_with_the_data(
    app, client_as, world, deal_factory, lead_factory, offer_factory, org_factory
):
    engine = app.extensions["db"].engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with time_machine.travel(NOW, tick=False):  # signed in at the time the pages are read
        browsers = {
            "mine": (client_as(world["aster_admin"]), "/scorecards/mine" + QUERY),
            "list": (client_as(world["manager"]), "/scorecards/" + QUERY),
        }

    def measure(which: str) -> int:
        browser, path = browsers[which]
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            with time_machine.travel(NOW, tick=False):
                assert browser.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    before = {which: measure(which) for which in browsers}
    partners = [world["aster"], world["birch"], world["cedar"]]
    partners += [org_factory("reseller", tier="silver") for _ in range(5)]
    lead = lead_factory()
    for n in range(10):
        for partner in partners:
            deal_factory(partner, status="won", value=Decimal(100 + n), closed_at=at("2026-05-01"))
            offer_factory(lead, partner, "accepted", offered_at=at("2026-05-02"),
                          responded_at=at("2026-05-02 05:00"))  # fmt: skip
    assert {which: measure(which) for which in browsers} == before
