"""A customer's dashboard (issue 14): its cases' SLA compliance, its open cases and its quotes,
every figure exactly on a small world worked out by hand below, from the queries and in the
page's tables; all through the tenant wall: a customer's person sees the figures of the cases
and quotes it may see, and nothing of another organisation; customers only, from the
navigation. SLA compliance is read from the vendor's daily rollup, as fresh as the last tick:
the organisation's rows for whoever sees all its cases, one's own requested cases' rows for the
others (plus the cases they only watch, counted live)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from portal import access, reports
from portal.db import db as portal_db
from portal.db import set_principal
from portal.tenancy import Principal
from selfservice.analytics import customer, sla
from selfservice.cases.models import TARGETS, CaseSettings, CaseWatcher
from tests.integration.test_support_dashboard import (
    at,
    refresh,
    reply_wait,
    sla_case,
    sla_policy,
    tables,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
PERIOD = reports.Period("custom", NOW.date().replace(month=1, day=1), NOW.date().replace(day=30))
QUERY = "?period=custom&start=2026-01-01&end=2026-06-30"


# The world (period: January to June 2026). Acme's cases (FR = first response, Res = resolution,
# "br" = breached), requested by Acme's admin unless said:
#  a1 high   FR met 01-10, Res met 01-12 (closed); Ann watches it
#  a2 high   FR br due 01-20, Res met 02-03 (closed)
#  a3 low    FR br due 03-15 (open, Res running); Ann requested it
#  a4 normal FR met 04-10 (open, Res running)
#  a5 urgent new, no policy
# Next response (NR): a3 asked 03-16 09:00, br due 13:00; a4 asked 04-11 09:00, answered 10:00.
# Acme's admin: FR Jan 1 of 2, Mar 0 of 1, Apr 1 of 1 (2 of 4); NR Mar 0 of 1, Apr 1 of 1 (1 of
#   2); Res Jan 1 of 1, Feb 1 of 1 (2 of 2); open: a3 (open, low), a4 (open, normal), a5 (new,
#   urgent).
# Ann (a customer user; Acme does not share its cases): a1 and a3 only: FR Jan 1 of 1, Mar 0 of 1;
#   NR Mar 0 of 1; Res Jan 1 of 1; open: a3.
# Birch (another customer): b1 normal FR met 02-05 and Res br due 02-09 (open); b2 high new.
# Quotes to Acme: EUR sent 100, viewed 300 (open: 2, 400.00); accepted 200 (02-10) and 500
#   (05-20) (2, 700.00); accepted 1,000 in 2025 (outside); declined 50; a draft of 999 (never a
#   recipient's); USD accepted 700 (03-03). To Birch: EUR sent 10,000.


@pytest.fixture
def world(app, db, vendor, org_factory, user_factory, case_factory, quote_factory):
    acme = org_factory("customer", name="Acme Clinics")
    birch = org_factory("customer", name="Birch Bank")
    admin = user_factory(acme, access.CUSTOMER_ADMIN)
    ann = user_factory(acme, access.CUSTOMER_USER)
    birch_admin = user_factory(birch, access.CUSTOMER_ADMIN)
    policy = sla_policy(db)

    def make(org, requester, **fields):
        fields.setdefault("policy", policy)
        return sla_case(case_factory, org, fields.pop("policy"), requester=requester, **fields)

    a1 = make(acme, admin, priority="high", created="2026-01-10T09:00",
              responded="2026-01-10T10:00", solved="2026-01-12T09:00")  # fmt: skip
    make(acme, admin, priority="high", created="2026-01-20T09:00", fr_due="2026-01-20T13:00",
         fr_breached=True, responded="2026-01-20T18:00", solved="2026-02-03T09:00")  # fmt: skip
    a3 = make(
        acme,
        ann,
        priority="low",
        status="open",
        created="2026-03-15T09:00",
        fr_due="2026-03-15T17:00",
        fr_breached=True,
        res_due="2026-06-20T09:00",
    )
    a4 = make(acme, admin, status="open", created="2026-04-10T09:00",
              responded="2026-04-10T13:00", res_due="2026-06-20T09:00")  # fmt: skip
    reply_wait(db, a3, started="2026-03-16T09:00", due="2026-03-16T13:00", breached=True)
    reply_wait(db, a4, started="2026-04-11T09:00", answered="2026-04-11T10:00")
    make(acme, admin, policy=None, priority="urgent", status="new", created="2026-06-13T12:00")
    db.add(CaseWatcher(org_id=acme.id, case_id=a1.id, user_id=ann.id))
    make(birch, birch_admin, status="open", created="2026-02-05T08:00",
         responded="2026-02-05T11:00", res_due="2026-02-09T12:00", res_breached=True)  # fmt: skip
    make(birch, birch_admin, priority="high", status="new", created="2026-06-14T18:00",
         fr_due="2026-06-15T16:00")  # fmt: skip

    def quote(org, status, amount, currency="EUR", decided=None):
        return quote_factory(
            org,
            status=status,
            currency=currency,
            decided_at=at(decided) if decided else None,
            lines=[{"net_amount": Decimal(amount), "list_price": Decimal(amount),
                    "unit_price": Decimal(amount)}],
        )  # fmt: skip

    quote(acme, "sent", "100")
    quote(acme, "viewed", "300")
    quote(acme, "accepted", "200", decided="2026-02-10T10:00")
    quote(acme, "accepted", "500", decided="2026-05-20T10:00")
    quote(acme, "accepted", "1000", decided="2025-11-01T10:00")
    quote(acme, "declined", "50", decided="2026-04-01T10:00")
    quote(acme, "draft", "999")
    quote(acme, "accepted", "700", currency="USD", decided="2026-03-03T10:00")
    quote(birch, "sent", "10000")
    db.flush()
    refresh(app)  # the support figures' tick: the rollup whole organisations are read from
    return {"acme": acme, "birch": birch, "admin": admin, "ann": ann, "birch_admin": birch_admin}


def _figures(app, user, *, counted_daily=None):
    with app.test_request_context():
        principal = Principal.for_user(user)
        set_principal(portal_db.session, principal)
        whole = customer.sees_whole_organisation(principal)
        if counted_daily is not None:
            assert whole is counted_daily
        by_month = customer.compliance_by_month(PERIOD, principal)
        return by_month, customer.open_cases(principal, whole), customer.quotes(PERIOD)


def _pairs(table):
    return [
        ((c := table.of(k, "first_response")).met, c.breached, (r := table.of(k, "resolution")).met,
         r.breached)
        for k, _label in table.groups
    ]  # fmt: skip


def _all(table):
    return [[table.of(k, t) for t in TARGETS] for k, _label in table.groups]


# The queries.


def test_an_admin_sees_its_organisations_figures(app, world):
    by_month, cases, quotes = _figures(app, world["admin"], counted_daily=True)
    assert _pairs(by_month) == [
        (1, 1, 1, 0), (0, 0, 1, 0), (0, 1, 0, 0), (1, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0),
    ]  # fmt: skip
    assert by_month.total("first_response") == sla.Compliance(2, 2)
    assert by_month.total("resolution") == sla.Compliance(2, 0)
    assert by_month.total("next_response") == sla.Compliance(1, 1)
    assert by_month.rates("next_response") == [None, None, 0.0, 1.0, None, None]
    assert cases.counts == {("open", "low"): 1, ("open", "normal"): 1, ("new", "urgent"): 1}
    assert [
        (q.currency, q.open_count, q.open_value, q.accepted_count, q.accepted_value)
        for q in quotes.currencies
    ] == [
        ("EUR", 2, Decimal("400.00"), 2, Decimal("700.00")),
        ("USD", 0, Decimal("0"), 1, Decimal("700.00")),
    ]
    zero = Decimal(0)
    assert quotes.currencies[0].accepted_by_month == [zero, Decimal("200.00"), zero, zero,
                                                      Decimal("500.00"), zero]  # fmt: skip
    assert quotes.currencies[1].accepted_by_month[2] == Decimal("700.00")


def test_a_customer_user_sees_only_the_cases_the_wall_shows_it(app, world):
    by_month, cases, quotes = _figures(app, world["ann"], counted_daily=False)
    assert _pairs(by_month)[:3] == [(1, 0, 1, 0), (0, 0, 0, 0), (0, 1, 0, 0)]
    assert by_month.total("first_response") == sla.Compliance(1, 1)
    assert by_month.total("next_response") == sla.Compliance(0, 1)
    assert cases.counts == {("open", "low"): 1}
    # quotes are addressed to the organisation: the same as its admin's
    assert (quotes.open_count, quotes.accepted_count) == (2, 3)


def test_an_organisation_that_shares_its_cases_shows_them_all_to_its_people(app, db, world):
    db.add(CaseSettings(org_id=world["acme"].id, shared=True))
    db.flush()
    by_month, cases, _quotes = _figures(app, world["ann"], counted_daily=True)
    assert by_month.total("first_response") == sla.Compliance(2, 2)
    assert by_month.total("next_response") == sla.Compliance(1, 1)
    assert cases.total == 3


def test_another_organisation_sees_only_its_own(app, world):
    by_month, cases, quotes = _figures(app, world["birch_admin"], counted_daily=True)
    assert by_month.total("first_response") == sla.Compliance(1, 0)
    assert by_month.total("resolution") == sla.Compliance(0, 1)
    assert cases.counts == {("open", "normal"): 1, ("new", "high"): 1}
    assert [
        (q.currency, q.open_count, q.open_value, q.accepted_count) for q in quotes.currencies
    ] == [("EUR", 1, Decimal("10000.00"), 0)]


def _rolled_up_and_live(app, user):
    with app.test_request_context():
        principal = Principal.for_user(user)
        set_principal(portal_db.session, principal)
        rolled_up = customer.compliance_by_month(PERIOD, principal)
        live = sla.compliance_by_month(PERIOD)
    return _all(rolled_up), _all(live)


def test_the_rollup_read_for_a_whole_organisation_is_its_live_count(app, world):
    """Read past the wall, the rollup gives an admin exactly what counting its cases live
    through the wall gives (the Acme world has no watched case of another organisation)."""
    for who in ("admin", "birch_admin"):
        rolled_up, live = _rolled_up_and_live(app, world[who])
        assert rolled_up == live


def test_the_rollup_read_for_ones_own_cases_is_their_live_count(app, world):
    """A customer user reads the cases it requested from the rollup per requester, and adds
    those it only watches (a1) counted live: together, what the wall shows it."""
    rolled_up, live = _rolled_up_and_live(app, world["ann"])
    assert rolled_up == live
    assert sum(c.settled for month in rolled_up for c in month) == 4  # a1: FR, Res; a3: FR, NR


def test_ones_own_figures_follow_the_tick(app, db, world, case_factory):
    """A case Ann raises counts once the tick has run; a case handed to another requester
    leaves Ann's figures with the next tick (the days of both are marked)."""
    policy = sla_policy(db)
    new = sla_case(case_factory, world["acme"], policy, requester=world["ann"],
                   created="2026-05-04T09:00", responded="2026-05-04T10:00",
                   status="open")  # fmt: skip
    assert _figures(app, world["ann"])[0].total("first_response") == sla.Compliance(1, 1)
    refresh(app)
    assert _figures(app, world["ann"])[0].total("first_response") == sla.Compliance(2, 1)
    new.requester_id = world["admin"].id
    db.flush()
    refresh(app)
    assert _figures(app, world["ann"])[0].total("first_response") == sla.Compliance(1, 1)
    assert _figures(app, world["admin"])[0].total("first_response") == sla.Compliance(3, 2)


def test_a_whole_organisations_figures_follow_the_tick(app, db, world, case_factory):
    sla_case(case_factory, world["acme"], sla_policy(db), requester=world["admin"],
             created="2026-05-04T09:00", responded="2026-05-04T10:00", status="open")  # fmt: skip
    assert _figures(app, world["admin"])[0].total("first_response") == sla.Compliance(2, 2)
    refresh(app)
    assert _figures(app, world["admin"])[0].total("first_response") == sla.Compliance(3, 2)


# The page.


def _page(client_as, user, path="/reports/customer" + QUERY):
    with time_machine.travel(NOW, tick=False):
        response = client_as(user).get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response


def test_the_page_shows_every_figure_in_its_tables(client_as, world):
    response = _page(client_as, world["admin"])
    found = tables(response)
    page = response.get_data(as_text=True)
    assert "<h1" in page and "Dashboard" in page
    assert found["table-sla-by-month"] == [
        ["Month", "First response", "Next response", "Resolution"],
        ["Jan 2026", "50%", "—", "100%"],
        ["Feb 2026", "—", "—", "100%"],
        ["Mar 2026", "0%", "0%", "—"],
        ["Apr 2026", "100%", "100%", "—"],
        ["May 2026", "—", "—", "—"],
        ["Jun 2026", "—", "—", "—"],
    ]
    assert found["table-open-cases"] == [
        ["Status", "Low", "Normal", "High", "Urgent"],
        ["New", "0", "0", "0", "1"],
        ["Open", "1", "1", "0", "0"],
        ["Pending", "0", "0", "0", "0"],
        ["On hold", "0", "0", "0", "0"],
    ]
    assert found["table-quotes"] == [
        ["Currency", "Open", "Open value", "Accepted", "Accepted value"],
        ["EUR", "2", "€400.00", "2", "€700.00"],
        ["USD", "0", "$0.00", "1", "$700.00"],
    ]
    assert found["table-quotes-accepted-eur"][1:] == [
        ["Jan 2026", "€0.00"],
        ["Feb 2026", "€200.00"],
        ["Mar 2026", "€0.00"],
        ["Apr 2026", "€0.00"],
        ["May 2026", "€500.00"],
        ["Jun 2026", "€0.00"],
    ]
    assert found["table-quotes-accepted-usd"][3] == ["Mar 2026", "$700.00"]
    figures = page[page.index('data-testid="customer-figures"') :]
    assert "50%" in figures and "2 met of 4 settled in the period" in figures
    assert "100%" in figures and "2 met of 2 settled in the period" in figures
    assert "1 met of 2 settled in the period" in figures
    assert "may be a few minutes behind" in page  # read from the rollup
    # nothing of Birch's
    assert "10,000" not in page and "Birch" not in page


def test_a_customer_user_reads_its_own_on_the_page(client_as, world):
    response = _page(client_as, world["ann"])
    found = tables(response)
    assert found["table-sla-by-month"][1:4] == [
        ["Jan 2026", "100%", "—", "100%"],
        ["Feb 2026", "—", "—", "—"],
        ["Mar 2026", "0%", "0%", "—"],
    ]
    assert "may be a few minutes behind" not in response.get_data(as_text=True)  # counted live
    assert found["table-open-cases"][2] == ["Open", "1", "0", "0", "0"]
    assert found["table-open-cases"][1] == ["New", "0", "0", "0", "0"]


@pytest.mark.parametrize("role", [access.CUSTOMER_ADMIN, access.CUSTOMER_USER])
def test_customers_open_it_from_the_navigation(client_as, org_factory, user_factory, role):
    browser = client_as(user_factory(org_factory("customer"), role))
    home = browser.get("/home").get_data(as_text=True)
    assert 'href="/reports/customer"' in home
    assert browser.get("/reports/customer").status_code == 200


@pytest.mark.parametrize(
    ("kind", "role"),
    [("reseller", access.PARTNER_ADMIN), ("vendor", access.SUPPORT_AGENT)],
)
def test_others_do_not_see_it_and_are_refused(client_as, org_factory, user_factory, vendor,
                                              kind, role):  # fmt: skip
    org = vendor if kind == "vendor" else org_factory(kind)
    browser = client_as(user_factory(org, role))
    home = browser.get("/home").get_data(as_text=True)
    assert "/reports/customer" not in home
    assert browser.get("/reports/customer").status_code == 403
