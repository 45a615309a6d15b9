"""The channel dashboard (issue 14): on a small world whose figures are worked out by hand below,
every figure exactly (value by month and partner, win rate, median time to decision, conflicts,
lead acceptance and answer time by partner and tier, protections ending), from the queries and
in the page's tables; a fixed number of statements whatever the data; vendor channel and sales
staff only."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import delete, event, func, select, text

from partners.analytics import channel
from partners.analytics.models import DealDay, DealDirtyDay
from partners.deals.models import DealConflict
from portal import access, jobs, reports, workflow
from portal.db import db as portal_db
from portal.db import set_principal, unscoped
from portal.engine import make_engine
from portal.tenancy import Principal
from tests import factories
from tests.integration.race_support import remove_committed
from tests.report_tables import tables

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
PERIOD = reports.Period("custom", NOW.date().replace(month=1, day=1), NOW.date().replace(day=30))
QUERY = "?period=custom&start=2026-01-01&end=2026-06-30"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def euros(*values) -> list[Decimal]:
    return [Decimal(v).quantize(Decimal("0.01")) for v in values]


# The world. Registrations (EUR unless said), with days from submission to decision:
#  1 Alpha won      1000  sub 01-10 dec 01-12 (2 d)   closed 02-05
#  2 Alpha lost     2000  sub 01-20 dec 01-24 (4 d)   closed 03-01
#  3 Beta  won      3000  sub 02-01 dec 02-07 (6 d)   closed 03-10
#  4 Beta  rejected  500  sub 02-10 dec 02-11 (1 d)
#  5 Gamma approved 4000  sub 03-01 dec 03-09 (8 d)   protected until 07-01
#  6 Alpha expired   700  sub 01-05 dec 01-15 (10 d)  closed 04-15
#  7 Beta  info      800  sub 04-01 (information asked 04-03: not a decision)
#  8 Gamma submitted 600 USD sub 04-10
#  9 Alpha draft     999
# 10 Alpha approved 1500 GBP sub 05-01 dec 05-02 12:00 (1.5 d)  protected until 08-10
# 11 Beta  approved 2500  sub 05-10 dec 05-13 (3 d)   protected until 09-01
# 12 Gamma won      5000  in 2025: outside the period
# Decisions in the period: 1, 1.5, 2, 3, 4, 6, 8, 10 days: median 3.5. Closed in it: won 1 and
# 3, lost 2, expired 6: win rate 2 / 3.


def refresh(app) -> dict:
    """The tick that computes again the days whose registrations changed (the rollup)."""
    with app.app_context():
        return jobs.run_periodic(["deal_figures"])


@pytest.fixture
def world(app, db, vendor, org_factory, deal_factory, lead_factory, offer_factory, user_factory):
    alpha = org_factory("reseller", name="Alpha Partners", tier="gold")
    beta = org_factory("reseller", name="Beta Partners", tier="silver")
    gamma = org_factory("distributor", name="Gamma Partners", tier=None)

    def deal(partner, status, value, sub=None, dec=None, closed=None, expires=None, **fields):
        return deal_factory(
            partner,
            status=status,
            value=Decimal(value),
            submitted_at=at(sub) if sub else None,
            decided_at=at(dec) if dec else None,
            closed_at=at(closed) if closed else None,
            expires_at=at(expires) if expires else None,
            **fields,
        )

    deals = [
        deal(alpha, "won", "1000", "2026-01-10", "2026-01-12", "2026-02-05"),
        deal(alpha, "lost", "2000", "2026-01-20", "2026-01-24", "2026-03-01"),
        deal(beta, "won", "3000", "2026-02-01", "2026-02-07", "2026-03-10"),
        deal(beta, "rejected", "500", "2026-02-10", "2026-02-11"),
        deal(gamma, "approved", "4000", "2026-03-01", "2026-03-09", expires="2026-07-01"),
        deal(alpha, "expired", "700", "2026-01-05", "2026-01-15", "2026-04-15"),
        deal(beta, "info_requested", "800", "2026-04-01", "2026-04-03"),
        deal(gamma, "submitted", "600", "2026-04-10", currency="USD"),
        deal(alpha, "draft", "999"),
        deal(
            alpha,
            "approved",
            "1500",
            "2026-05-01",
            "2026-05-02T12:00",
            currency="GBP",
            expires="2026-08-10",
        ),  # fmt: skip
        deal(beta, "approved", "2500", "2026-05-10", "2026-05-13", expires="2026-09-01"),
        deal(gamma, "won", "5000", "2025-05-01", "2025-05-03", "2025-06-20"),
    ]
    # Conflicts, recorded in the vendor's review data: two by domain in January, one by name in
    # March, and one in December 2025 (outside the period).
    for found, kind in [
        ("2026-01-10", "domain"),
        ("2026-01-20", "domain"),
        ("2026-03-01", "name"),
        ("2025-12-30", "domain"),
    ]:
        db.add(
            DealConflict(
                org_id=vendor.id,
                registration_id=deals[0].id,
                other_registration_id=deals[1].id,
                kind=kind,
                score=100,
                found_at=at(found),
            )
        )
    # Lead offers and their answers, in hours after the offer:
    #   Alpha (gold):   accepted 2 h, declined 6 h, accepted 4 h, expired: 2 of 3, median 4 h
    #   Beta (silver):  accepted 10 h, accepted 20 h: 2 of 2, median 15 h
    #   Gamma (none):   declined 1 h, one still waiting: 0 of 1, median 1 h
    #   and Alpha's answer of November 2025 (100 h), outside the period.
    lead = lead_factory(vendor)
    for partner, offered, status, hours in [
        (alpha, "2026-02-01", "accepted", 2),
        (alpha, "2026-03-01", "declined", 6),
        (alpha, "2026-04-01", "accepted", 4),
        (alpha, "2026-05-01", "expired", None),
        (beta, "2026-02-03", "accepted", 10),
        (beta, "2026-02-04", "accepted", 20),
        (gamma, "2026-03-05", "declined", 1),
        (gamma, "2026-06-14", "offered", None),
        (alpha, "2025-11-01", "accepted", 100),
    ]:
        sent = at(offered)
        offer_factory(
            lead,
            partner,
            status,
            offered_at=sent,
            respond_by=sent + timedelta(days=2),
            responded_at=sent + timedelta(hours=hours) if hours is not None else None,
        )
    db.flush()
    refresh(app)
    return {
        "alpha": alpha,
        "beta": beta,
        "gamma": gamma,
        "deals": deals,
        "manager": user_factory(vendor, access.CHANNEL_MANAGER),
        "vendor": vendor,
    }


def _as_vendor(world):
    return Principal(world["vendor"].id, "vendor", access.CHANNEL_MANAGER, None)


# The queries.


def test_value_by_month_and_by_partner_in_one_currency(app, world):
    with app.test_request_context():
        set_principal(portal_db.session, _as_vendor(world))
        assert channel.currencies() == ["EUR", "GBP", "USD"]
        value = channel.value_by_month(PERIOD, "EUR")
        assert value.registered == euros(3700, 3500, 4000, 800, 2500, 0)
        assert value.approved == euros(3700, 3000, 4000, 0, 2500, 0)
        assert value.won == euros(0, 1000, 3000, 0, 0, 0)
        assert channel.value_by_month(PERIOD, "GBP").approved == euros(0, 0, 0, 0, 1500, 0)

        partners, others = channel.value_by_partner(PERIOD, "EUR")
        assert [(p.name, p.registered, p.approved, p.won) for p in partners] == [
            ("Beta Partners", *euros(6800, 5500, 3000)),
            ("Gamma Partners", *euros(4000, 4000, 0)),
            ("Alpha Partners", *euros(3700, 3700, 1000)),
        ]
        assert others is None
        top, others = channel.value_by_partner(PERIOD, "EUR", limit=1)
        assert [p.name for p in top] == ["Beta Partners"]
        assert (others.registered, others.approved, others.won) == tuple(euros(7700, 7700, 1000))


def test_win_rate_and_median_time_to_decision(app, world):
    with app.test_request_context():
        set_principal(portal_db.session, _as_vendor(world))
        decided = channel.decisions(PERIOD)
    assert decided.outcomes == channel.Outcomes(won=2, lost=1, expired=1)
    assert decided.outcomes.win_rate == pytest.approx(2 / 3, abs=1e-12)
    assert decided.median_days == pytest.approx(3.5, abs=1e-6)
    assert [(o.won, o.lost, o.expired) for o in decided.monthly_outcomes] == [
        (0, 0, 0),
        (1, 0, 0),
        (1, 1, 0),
        (0, 0, 1),
        (0, 0, 0),
        (0, 0, 0),
    ]
    assert [o.win_rate for o in decided.monthly_outcomes] == [None, 1.0, 0.5, None, None, None]
    medians = decided.monthly_median_days
    assert medians[3] is None and medians[5] is None
    assert [round(m, 6) for m in medians if m is not None] == [4.0, 3.5, 8.0, 2.25]


def test_conflicts_lead_answers_and_protections(app, world):
    with app.test_request_context():
        set_principal(portal_db.session, _as_vendor(world))
        assert channel.conflicts_by_month(PERIOD) == {
            "domain": [2, 0, 0, 0, 0, 0],
            "name": [0, 0, 1, 0, 0, 0],
        }
        by_partner = channel.answers_by_partner(PERIOD)
        by_tier = channel.answers_by_tier(PERIOD, no_tier="No tier")
        protections = channel.protections_ending(NOW)

    def plain(rows):
        return [
            (r.label, r.offered, r.answered, r.accepted, round(r.median_hours, 6)) for r in rows
        ]

    assert plain(by_partner) == [
        ("Alpha Partners", 4, 3, 2, 4.0),
        ("Beta Partners", 2, 2, 2, 15.0),
        ("Gamma Partners", 2, 1, 0, 1.0),
    ]
    assert [r.acceptance_rate for r in by_partner] == [pytest.approx(2 / 3), 1.0, 0.0]
    assert plain(by_tier) == [
        ("Gold", 4, 3, 2, 4.0),
        ("Silver", 2, 2, 2, 15.0),
        ("No tier", 2, 1, 0, 1.0),
    ]
    assert protections.counts == [1, 2, 3]
    assert protections.values == {"EUR": euros(4000, 4000, 6500), "GBP": euros(0, 1500, 1500)}


# The rollup.


def _value(app, world, principal=None):
    with app.test_request_context():
        set_principal(portal_db.session, principal or _as_vendor(world))
        return (
            channel.value_by_month(PERIOD, "EUR"),
            channel.decisions(PERIOD).outcomes,
            channel.currencies(),
        )


def test_a_change_counts_from_the_next_tick(app, db, world):
    # Beta's registration waiting for information (April) is submitted again in June, and
    # Gamma's approved one (March) is won in June: until the tick runs, the figures are the
    # last tick's.
    waiting, approved = world["deals"][6], world["deals"][4]
    waiting.status, waiting.submitted_at = "submitted", at("2026-06-10")
    approved.status, approved.closed_at = "won", at("2026-06-12")
    db.flush()
    value, outcomes, _currencies = _value(app, world)
    assert value.registered == euros(3700, 3500, 4000, 800, 2500, 0)
    assert value.won == euros(0, 1000, 3000, 0, 0, 0)
    # 04-01 and 06-10 (submitted), 04-03 (decided); 03-01, 03-09 (submitted, decided), 06-12
    assert refresh(app) == {"deal_figures": 6}
    value, outcomes, _currencies = _value(app, world)
    assert value.registered == euros(3700, 3500, 4000, 0, 2500, 800)
    assert value.approved == euros(3700, 3000, 4000, 0, 2500, 0)  # still approved in March
    assert value.won == euros(0, 1000, 3000, 0, 0, 4000)
    assert outcomes == channel.Outcomes(won=3, lost=1, expired=1)
    assert refresh(app) == {"deal_figures": 0}


def test_a_protection_the_tick_expires_counts_on_the_day_it_ended(app, db, world):
    # Gamma's approved registration (March, protected until 07-01) expires when the tick runs on
    # 07-02: a claimed move, an UPDATE no flush sees, so its day is marked by the claim.
    later = reports.Period("custom", PERIOD.start, at("2026-07-31").date())
    with time_machine.travel(at("2026-07-02T08:00"), tick=False), app.app_context():
        assert jobs.run_periodic(["expire_deal_protection"]) == {"expire_deal_protection": 1}
    assert refresh(app) == {"deal_figures": 3}  # 07-02 (closed), 03-01, 03-09 (its other moments)
    with app.test_request_context():
        set_principal(portal_db.session, _as_vendor(world))
        decided = channel.decisions(later)
        approved = channel.value_by_month(later, "EUR").approved
    assert [o.expired for o in decided.monthly_outcomes] == [0, 0, 0, 1, 0, 0, 1]
    assert approved == euros(3700, 3000, 4000, 0, 2500, 0, 0)  # still approved once, in March


def test_a_registration_moved_to_another_currency_or_partner_moves_its_figures(app, db, world):
    moved = world["deals"][10]  # Beta's approved 2,500 EUR of May
    moved.currency, moved.org_id = "GBP", world["alpha"].id
    db.flush()
    assert refresh(app) == {"deal_figures": 2}  # 05-10 and 05-13
    with app.test_request_context():
        set_principal(portal_db.session, _as_vendor(world))
        assert channel.value_by_month(PERIOD, "EUR").approved == euros(3700, 3000, 4000, 0, 0, 0)
        assert channel.value_by_month(PERIOD, "GBP").approved == euros(0, 0, 0, 0, 4000, 0)
        partners, _others = channel.value_by_partner(PERIOD, "GBP")
    assert [(p.name, p.approved) for p in partners] == [("Alpha Partners", *euros(4000))]


def test_a_mark_without_a_day_computes_every_day_again(app, db, world):
    db.execute(delete(DealDay))
    db.add(DealDirtyDay(day=None))
    db.flush()
    assert _value(app, world)[2] == []
    assert refresh(app) == {"deal_figures": -1}
    value, outcomes, currencies = _value(app, world)
    assert value.registered == euros(3700, 3500, 4000, 800, 2500, 0)
    assert outcomes == channel.Outcomes(won=2, lost=1, expired=1)
    assert currencies == ["EUR", "GBP", "USD"]


def test_only_vendor_staff_read_the_rollup(app, world, user_factory):
    partner = user_factory(world["alpha"], access.PARTNER_ADMIN)
    value, outcomes, currencies = _value(app, world, Principal.for_user(partner))
    assert value.registered == euros(0, 0, 0, 0, 0, 0)
    assert outcomes == channel.Outcomes(0, 0, 0) and currencies == []


# The page.


def _page(client_as, world, path="/reports/channel" + QUERY):
    with time_machine.travel(NOW, tick=False):
        response = client_as(world["manager"]).get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response


def test_the_page_shows_every_figure_in_its_tables(client_as, world):
    response = _page(client_as, world)
    found = tables(response)
    page = response.get_data(as_text=True)
    assert "<h1" in page and "Channel dashboard" in page
    assert "Values are in EUR" in page
    assert found["table-value-by-month"] == [
        ["Month", "Registered", "Approved", "Won"],
        ["Jan 2026", "€3,700.00", "€3,700.00", "€0.00"],
        ["Feb 2026", "€3,500.00", "€3,000.00", "€1,000.00"],
        ["Mar 2026", "€4,000.00", "€4,000.00", "€3,000.00"],
        ["Apr 2026", "€800.00", "€0.00", "€0.00"],
        ["May 2026", "€2,500.00", "€2,500.00", "€0.00"],
        ["Jun 2026", "€0.00", "€0.00", "€0.00"],
    ]
    assert found["table-value-by-partner"][1:] == [
        ["Beta Partners", "€6,800.00", "€5,500.00", "€3,000.00"],
        ["Gamma Partners", "€4,000.00", "€4,000.00", "€0.00"],
        ["Alpha Partners", "€3,700.00", "€3,700.00", "€1,000.00"],
    ]
    assert found["table-win-rate-by-month"][1:4] == [
        ["Jan 2026", "—"],
        ["Feb 2026", "100%"],
        ["Mar 2026", "50%"],
    ]
    assert found["table-decision-time-by-month"][1:] == [
        ["Jan 2026", "4 d"],
        ["Feb 2026", "3.5 d"],
        ["Mar 2026", "8 d"],
        ["Apr 2026", "—"],
        ["May 2026", "2.2 d"],  # 2.25 rounded half to even, as Babel and Python round
        ["Jun 2026", "—"],
    ]
    assert found["table-outcomes-by-month"][2] == ["Feb 2026", "1", "0", "0"]
    assert found["table-conflicts-by-month"][1] == ["Jan 2026", "2", "0"]
    assert found["table-conflicts-by-month"][3] == ["Mar 2026", "0", "1"]
    assert found["table-lead-acceptance-by-partner"][1:] == [
        ["Alpha Partners", "66.7%"],
        ["Beta Partners", "100%"],
        ["Gamma Partners", "0%"],
    ]
    assert found["table-lead-answer-time-by-tier"][1:] == [
        ["Gold", "4 h"],
        ["Silver", "15 h"],
        ["No tier", "1 h"],
    ]
    assert found["table-protections-ending"][1:] == [
        ["Next 30 days", "1"],
        ["Next 60 days", "2"],
        ["Next 90 days", "3"],
    ]
    assert found["table-protection-values"][1:] == [
        ["EUR", "€4,000.00", "€4,000.00", "€6,500.00"],
        ["GBP", "£0.00", "£1,500.00", "£1,500.00"],
    ]
    figures = page[page.index('data-testid="channel-figures"') :]
    assert "66.7%" in figures and "3.5 d" in figures
    assert "2 won of 3 won or lost; 1 expired" in figures


def test_another_currency_on_request(client_as, world):
    found = tables(_page(client_as, world, "/reports/channel" + QUERY + "&currency=GBP"))
    assert found["table-value-by-month"][5] == ["May 2026", "£1,500.00", "£1,500.00", "£0.00"]
    # an unknown currency shows the most used one
    found = tables(_page(client_as, world, "/reports/channel" + QUERY + "&currency=XXX"))
    assert found["table-value-by-month"][1][1] == "€3,700.00"


def test_statements_do_not_grow_with_the_data(app, client_as, world, deal_factory, offer_factory):
    engine = app.extensions["db"].engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    browser = client_as(world["manager"])

    def measure() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert browser.get("/reports/channel" + QUERY).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    before = measure()
    for n in range(20):
        deal_factory(
            world["beta"],
            status="won",
            value=Decimal(100 + n),
            submitted_at=at("2026-02-01"),
            decided_at=at("2026-02-03"),
            closed_at=at("2026-05-01"),
        )
    assert measure() == before


@pytest.mark.parametrize("role", [access.VENDOR_ADMIN, access.CHANNEL_MANAGER, access.SALES_REP])
def test_vendor_channel_and_sales_staff_open_it_from_the_navigation(
    client_as, user_factory, vendor, role
):
    browser = client_as(user_factory(vendor, role))
    home = browser.get("/home").get_data(as_text=True)
    assert 'href="/reports/channel"' in home and "Channel dashboard" in home
    assert 'href="/reports/forecast"' in home
    assert browser.get("/reports/channel").status_code == 200


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        ("reseller", access.PARTNER_ADMIN),
        ("customer", access.CUSTOMER_ADMIN),
        ("vendor", access.SUPPORT_AGENT),
    ],
)
def test_others_do_not_see_it_and_are_refused(client_as, org_factory, user_factory, vendor,
                                              kind, role):  # fmt: skip
    org = vendor if kind == "vendor" else org_factory(kind)
    browser = client_as(user_factory(org, role))
    home = browser.get("/home").get_data(as_text=True)
    assert "/reports/channel" not in home and "/reports/forecast" not in home
    assert browser.get("/reports/channel").status_code == 403
    assert browser.get("/reports/forecast").status_code == 403


# Two ticks at once (cron and a person's `flask tick`), for real: committed rows, each tick on its
# own connection. PostgreSQL only: SQLite has one writer, so two ticks cannot overlap there.


@pytest.fixture
def committed_registration(app):
    """A partner's registration submitted and approved on 3 March, committed for real (its day
    marked dirty by the flush, the only mark: the migration's mark without a day is taken away,
    so the ticks compute one day); removed afterwards with everything it left."""
    if app.extensions["db"].engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: SQLite's one writer never runs two ticks at once")
    session = app.extensions["db"].session_factory()
    session.info[workflow.UNCHECKED] = True  # arranged in its status, as the tests' worlds are
    with unscoped(session):
        session.execute(delete(DealDirtyDay))
        partner = factories.make_org(session, "reseller", name="Two Ticks Partner Ltd")
        factories.make_deal(
            session,
            partner,
            status="approved",
            value=Decimal("1234.00"),
            submitted_at=at("2026-03-03T09:00"),
            decided_at=at("2026-03-03T15:00"),
            expires_at=at("2026-06-01"),
        )
        session.commit()
        org_id = partner.id
    session.close()
    yield org_id
    remove_committed(app, [org_id], [])
    admin = make_engine(app.config["DATABASE_URL"])
    with admin.begin() as conn:  # marks are no organisation's: any a failed tick left
        conn.execute(delete(DealDirtyDay.__table__))
    admin.dispose()


def test_two_ticks_at_once_count_a_registration_once(app, committed_registration):
    """The first tick pauses once it has written the day's figures, before it commits, until the
    second is seen waiting for the rollup's lock; the second then finds the marks gone. Without
    the lock the second would read the same marks and write the same day's row, which the unique
    index makes wait for the first and then refuses: that tick fails."""
    engine = app.extensions["db"].engine
    watcher = make_engine(app.config["DATABASE_URL"])
    first_written = threading.Lock()
    seen_waiting: list[bool] = []

    def hold_the_first_write(conn, cursor, sql, parameters, context, executemany):  # after it
        if sql.startswith("DELETE FROM deal_dirty_days") and first_written.acquire(blocking=False):
            seen_waiting.append(_an_advisory_lock_awaited(watcher))

    results: list[dict] = []
    failures: list[BaseException] = []

    def tick():
        try:
            with app.app_context():
                results.append(jobs.run_periodic(["deal_figures"]))
        except BaseException as error:  # the assertion below names it
            failures.append(error)

    event.listen(engine, "after_cursor_execute", hold_the_first_write)
    try:
        threads = [threading.Thread(target=tick, daemon=True) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(engine, "after_cursor_execute", hold_the_first_write)
        watcher.dispose()
    assert not failures, failures
    assert seen_waiting == [True], "the second tick never waited for the first"
    assert sorted(r["deal_figures"] for r in results) == [0, 1]  # one day, computed once
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        rows = session.execute(
            select(DealDay.day, DealDay.registered, DealDay.approved, DealDay.approved_value).where(
                DealDay.org_id == committed_registration
            )
        ).all()
        marks = session.scalar(select(func.count()).select_from(DealDirtyDay))
    session.close()
    assert rows == [(at("2026-03-03").date(), 1, 1, Decimal("1234.00"))]
    assert marks == 0


def _an_advisory_lock_awaited(engine, attempts: int = 1000) -> bool:
    """Whether a connection to this database comes to wait for an advisory lock (polled, up to
    about 10 s; other databases on the server are not looked at)."""
    with engine.connect() as conn:
        for _ in range(attempts):
            waiting = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
            )
            if waiting:
                return True
            conn.rollback()  # a fresh snapshot of pg_locks
            time.sleep(0.01)
    return False
