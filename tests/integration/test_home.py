"""The home page: what needs the signed-in person now, per audience.

Each audience sees its own work (with counts that link to the filtered lists and items that link
to the record), never another organisation's, and a home page costs the same number of
statements whatever the number of rows behind it."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import event

from feedback.csat.models import CsatResponse, CsatSurvey
from partners.deals.models import DealConflict
from portal.clock import utcnow
from tests import factories


@pytest.fixture
def world(db, vendor, org_factory, user_factory):
    """Two resellers (one with a managed customer), a second customer, and the vendor's staff."""

    class World:
        pass

    w = World()
    w.vendor = vendor
    w.admin = user_factory(vendor, "vendor_admin", email="admin@vendor.test")
    w.channel = user_factory(vendor, "channel_manager", email="channel@vendor.test")
    w.agent = user_factory(vendor, "support_agent", email="agent@vendor.test")
    w.other_agent = user_factory(vendor, "support_agent", email="agent2@vendor.test")
    w.alpine = org_factory("reseller", name="Alpine Home Partner")
    w.alpine_admin = user_factory(w.alpine, email="admin@alpine.test")
    w.rival = org_factory("reseller", name="Rival Home Partner")
    w.rival_admin = user_factory(w.rival, email="admin@rival.test")
    w.granite = org_factory("customer", name="Granite Home Bank", managed_by_id=w.alpine.id)
    w.granite_admin = user_factory(w.granite, email="admin@granite.test")
    w.harbor = org_factory("customer", name="Harbor Home Logistics")
    w.harbor_admin = user_factory(w.harbor, email="admin@harbor.test")
    return w


def page_of(client, url: str = "/home") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return unescape(response.get_data(as_text=True))


def panel(html: str, key: str) -> str:
    """The markup of one panel (empty when the page leaves it out)."""
    match = re.search(rf'data-testid="panel-{key}">(.*?)</section>', html, re.S)
    return match.group(1) if match else ""


def link(html: str, testid: str) -> tuple[str, str]:
    """(href, text) of the link with this test id."""
    match = re.search(rf'<a [^>]*href="([^"]+)" data-testid="{testid}">([^<]*)</a>', html)
    assert match, f"no link {testid}"
    return match.group(1), match.group(2).strip()


def test_channel_manager_sees_what_waits_for_a_decision(
    client_as, db, world, deal_factory, shared_lead_factory, lead_factory, offer_factory,
    quote_factory,
):  # fmt: skip
    now = utcnow()
    first = deal_factory(world.alpine, "Quokka Conflicted", submitted_at=now - timedelta(days=2))
    second = deal_factory(world.rival, "Quokka Conflicted Ltd", submitted_at=now - timedelta(1))
    db.add(DealConflict(org_id=world.vendor.id, registration_id=second.id,
                        other_registration_id=first.id, kind="domain"))  # fmt: skip
    deal_factory(world.rival, "Plain Numbat", submitted_at=now)
    deal_factory(world.alpine, "Draft Wombat", status="draft")
    extension = deal_factory(
        world.alpine, "Extending Echidna", status="approved", expires_at=now + timedelta(9),
        extension_requested_at=now, extension_requested_days=30,
    )  # fmt: skip
    shared = shared_lead_factory(world.rival, "Shared Platypus")
    shared_lead_factory(world.rival, "Decided Dingo", status="approved")
    soon = offer_factory(lead_factory(company="Expiring Emu"), world.alpine,
                         respond_by=now + timedelta(hours=5))  # fmt: skip
    offer_factory(lead_factory(company="Later Lyrebird"), world.alpine,
                  respond_by=now + timedelta(days=6))  # fmt: skip
    quote = quote_factory(world.granite, "Waiting Wallaby quote", status="viewed")
    quote_factory(world.harbor, "Draft Koala quote", status="draft")
    quote_factory(world.harbor, "Accepted Kookaburra", status="accepted")

    html = page_of(client_as(world.channel))

    review = panel(html, "deals_review")
    assert link(review, "count-deals-review") == ("/deals/review", "3 to review")
    assert "2 with possible conflicts" in review
    items = re.findall(r'data-testid="review-item">(.*?)</li>', review, re.S)
    assert [re.search(r"· (.*?)</a>", i).group(1) for i in items] == [
        "Quokka Conflicted", "Quokka Conflicted Ltd", "Plain Numbat",
    ]  # fmt: skip
    assert ["conflict-flag" in i for i in items] == [True, True, False]
    assert f'href="/deals/{first.id}"' in items[0]
    assert "Draft Wombat" not in html
    assert link(review, "count-deals-extensions")[1] == "1 waiting"
    assert f'href="/deals/{extension.id}"' in review

    shared_panel = panel(html, "leads_shared")
    assert link(shared_panel, "count-leads_shared") == (
        "/leads/shared/?status=submitted", "1 waiting",
    )  # fmt: skip
    assert f'href="/leads/shared/{shared.id}"' in shared_panel
    assert "Decided Dingo" not in html

    expiring = panel(html, "leads_expiring")
    assert link(expiring, "count-leads_expiring")[1] == "1 expiring"
    assert f'href="/leads/{soon.lead_id}"' in expiring and "Later Lyrebird" not in expiring

    quotes = panel(html, "quotes_waiting")
    assert link(quotes, "count-quotes_waiting") == ("/quotes/?status=open", "1 waiting")
    assert f'href="/quotes/{quote.id}"' in quotes and "Granite Home Bank" in quotes
    assert "Draft Koala" not in html and "Accepted Kookaburra" not in html
    # The counts' links open lists that hold the same items.
    assert "Waiting Wallaby quote" in page_of(client_as(world.channel), "/quotes/?status=open")
    assert "Accepted Kookaburra" not in page_of(client_as(world.channel), "/quotes/?status=open")
    # Support's panel is not the channel manager's.
    assert panel(html, "cases_agent") == ""


def test_support_agent_sees_cases_by_sla_urgency(client_as, db, world, case_factory):
    now = utcnow()
    breached = case_factory(world.granite, subject="Breached Bilby", assignee_id=world.agent.id,
                            resolution_breached=True, queue_rank=1)  # fmt: skip
    case_factory(world.granite, subject="Due Dunnart", assignee_id=world.agent.id,
                 first_response_due_at=now + timedelta(hours=1), queue_rank=2)  # fmt: skip
    case_factory(world.harbor, subject="Paused Possum", assignee_id=world.agent.id,
                 status="pending", queue_rank=3)  # fmt: skip
    case_factory(world.harbor, subject="Solved Sugarglider", assignee_id=world.agent.id,
                 status="solved")  # fmt: skip
    case_factory(world.harbor, subject="Colleague's Cassowary", assignee_id=world.other_agent.id,
                 first_response_breached=True)  # fmt: skip
    case_factory(world.harbor, subject="Nobody's Numbat")

    agent = panel(page_of(client_as(world.agent)), "cases_agent")

    assert link(agent, "count-cases-mine") == ("/cases/queue?view=mine", "3 open")
    counts = dict(re.findall(r'data-testid="mine-(\w[\w-]*)">(\d+)<', agent))
    assert counts == {"breached": "1", "due-soon": "1", "paused": "1"}
    titles = re.findall(r"· (.*?)</a>", agent)
    assert titles == ["Breached Bilby", "Due Dunnart", "Paused Possum"]
    assert f'href="/cases/{breached.id}"' in agent
    assert link(agent, "count-cases-unassigned") == ("/cases/queue?view=unassigned", "1 unassigned")
    assert link(agent, "count-cases-breached") == ("/cases/queue?view=breached", "2 breached")


def test_partner_sees_its_own_work_and_never_another_partners(
    client_as, db, world, deal_factory, lead_factory, offer_factory, quote_factory, case_factory,
):  # fmt: skip
    now = utcnow()
    info = deal_factory(world.alpine, "Info Ibis", status="info_requested",
                        decision_reason="Which sites?", decided_at=now)  # fmt: skip
    deal_factory(world.rival, "Rival Info Rosella", status="info_requested", decided_at=now)
    ending = deal_factory(world.alpine, "Ending Emu", status="approved",
                          expires_at=now + timedelta(days=10))  # fmt: skip
    deal_factory(world.alpine, "Long Lorikeet", status="approved", expires_at=now + timedelta(200))
    deal_factory(world.rival, "Rival Ending Robin", status="approved",
                 expires_at=now + timedelta(days=5))  # fmt: skip
    deal_factory(world.alpine, "Submitted Swift", status="submitted")
    offer = offer_factory(lead_factory(company="Offered Oriole", status="offered"), world.alpine,
                          respond_by=now + timedelta(days=1))  # fmt: skip
    offer_factory(lead_factory(company="Rival Offered Raven", status="offered"), world.rival)
    quote = quote_factory(world.alpine, "Alpine quote Quoll")
    quote_factory(world.rival, "Rival quote Quail")
    managed = case_factory(world.granite, world.granite_admin, subject="Managed Magpie")
    case_factory(world.harbor, world.harbor_admin, subject="Unmanaged Ursine")
    case_factory(world.granite, world.granite_admin, subject="Closed Currawong", status="closed")

    html = page_of(client_as(world.alpine_admin))

    for foreign in ("Rival", "Unmanaged Ursine", "Closed Currawong", "Long Lorikeet"):
        assert foreign not in html
    offers = panel(html, "leads_offers")
    assert link(offers, "count-leads_offers") == ("/leads/?status=offered", "1 to answer")
    assert f'href="/leads/{offer.lead_id}"' in offers and "respond by" in offers
    deals = panel(html, "deals_partner")
    assert link(deals, "count-deals-info") == ("/deals/?status=info_requested", "1")
    assert f'href="/deals/{info.id}/edit"' in deals and "Which sites?" in deals
    assert link(deals, "count-deals-ending") == ("/deals/?ending=soon", "1")
    assert f'href="/deals/{ending.id}"' in deals
    assert link(deals, "count-deals-submitted")[1] == "1 under review"
    assert 'href="/deals/new"' in deals  # register a deal, one click from home
    quotes = panel(html, "quotes_to_answer")
    assert link(quotes, "count-quotes_to_answer")[1] == "1 to answer"
    assert f'href="/quotes/{quote.id}"' in quotes
    cases = panel(html, "cases_customers")
    assert link(cases, "count-cases-customers") == (
        "/cases/?status=unresolved&customers=1", "1 open",
    )  # fmt: skip
    assert f'href="/cases/{managed.id}"' in cases and "Granite Home Bank" in cases

    # The lists behind the counts hold the same items.
    client = client_as(world.alpine_admin)
    ending_list = page_of(client, "/deals/?ending=soon")
    assert "Ending Emu" in ending_list and "Long Lorikeet" not in ending_list
    customers_list = page_of(client, "/cases/?status=unresolved&customers=1")
    assert "Managed Magpie" in customers_list and "Closed Currawong" not in customers_list


def test_customer_sees_quotes_cases_and_the_rating_to_give(
    client_as, db, world, quote_factory, case_factory, user_factory
):
    quote = quote_factory(world.granite, "Granite quote Gecko")
    quote_factory(world.harbor, "Harbor quote Heron")
    quote_factory(world.granite, "Granite draft Dove", status="draft")
    pending = case_factory(world.granite, world.granite_admin, subject="Pending Penguin",
                           status="pending")  # fmt: skip
    case_factory(world.granite, world.granite_admin, subject="Open Osprey")
    solved = case_factory(world.granite, world.granite_admin, subject="Solved Skink",
                          status="solved")  # fmt: skip
    case_factory(world.harbor, world.harbor_admin, subject="Harbor Hawk")
    colleague = user_factory(world.granite, "customer_user", email="lee@granite.test")
    survey = CsatSurvey(org_id=world.granite.id, case_id=solved.id, case_number=solved.number,
                        subject=solved.subject, requester_id=world.granite_admin.id)  # fmt: skip
    answered = CsatSurvey(org_id=world.granite.id, case_id=solved.id, case_number="CS-ANSWERED",
                          subject="x", requester_id=world.granite_admin.id)  # fmt: skip
    old = CsatSurvey(org_id=world.granite.id, case_id=solved.id, case_number="CS-EXPIRED",
                     subject="x", requester_id=world.granite_admin.id,
                     sent_at=utcnow() - timedelta(days=60))  # fmt: skip
    theirs = CsatSurvey(org_id=world.granite.id, case_id=solved.id, case_number="CS-COLLEAGUE",
                        subject="x", requester_id=colleague.id)  # fmt: skip
    db.add_all([survey, answered, old, theirs])
    db.flush()
    db.add(CsatResponse(org_id=world.granite.id, survey_id=answered.id, score=5))
    db.flush()

    html = page_of(client_as(world.granite_admin))

    for foreign in ("Harbor", "Granite draft Dove", "CS-ANSWERED", "CS-EXPIRED", "CS-COLLEAGUE"):
        assert foreign not in html
    quotes = panel(html, "quotes_to_answer")
    assert link(quotes, "count-quotes_to_answer") == ("/quotes/?status=open", "1 to answer")
    assert f'href="/quotes/{quote.id}"' in quotes
    cases = panel(html, "cases_own")
    assert link(cases, "count-cases-open") == ("/cases/?status=unresolved", "2 open")
    assert link(cases, "count-cases-pending") == ("/cases/?status=pending", "1 pending")
    assert f'href="/cases/{pending.id}"' in cases and "waiting for your reply" in cases
    assert 'href="/cases/new"' in cases  # open a case, one click from home
    rating = panel(html, "csat_to_give")
    [href] = re.findall(r'href="(/feedback/csat/[^"]+)"', rating)
    assert f"Rate {solved.number}" in rating
    answer = client_as(world.granite_admin).get(href)
    assert answer.status_code == 200 and solved.subject in answer.get_data(as_text=True)
    # The colleague is asked nothing: the survey is not theirs to answer... except its own.
    assert f"Rate {solved.number}" not in page_of(client_as(colleague))


def test_vendor_admin_keeps_the_organisations_summary(client_as, db, world):
    html = page_of(client_as(world.admin))
    organisations = panel(html, "organisations")
    for kind in ("reseller", "customer"):
        assert re.search(
            rf'href="/admin/organizations\?kind={kind}" data-testid="kind-{kind}">'
            r"<span[^>]*>2</span>",
            organisations,
        ), organisations
    # What the admin's role allows: the channel's queues and the support agent's.
    assert panel(html, "deals_review") and panel(html, "cases_agent")


def test_nothing_waiting_says_so(client_as, db, org_factory, user_factory):
    partner = org_factory("reseller", name="Quiet Partner")
    html = page_of(client_as(user_factory(partner)))
    assert "Nothing waiting for you." in html
    assert "Partner home" in html


def _statements(app, client, url: str = "/home") -> int:
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


def _more_of_everything(db, world, n: int) -> None:
    now = utcnow()
    for i in range(n):
        first = factories.make_deal(db, world.alpine, f"Bulk {i}", submitted_at=now)
        second = factories.make_deal(db, world.rival, f"Bulk {i} Ltd", submitted_at=now)
        db.add(DealConflict(org_id=world.vendor.id, registration_id=second.id,
                            other_registration_id=first.id, kind="name"))  # fmt: skip
        factories.make_deal(db, world.alpine, status="info_requested", decided_at=now)
        factories.make_deal(db, world.alpine, status="approved", expires_at=now + timedelta(3),
                            extension_requested_at=now, extension_requested_days=10)  # fmt: skip
        factories.make_shared_lead(db, world.alpine)
        lead = factories.make_lead(db, status="offered")
        factories.make_offer(db, lead, world.alpine, respond_by=now + timedelta(hours=3))
        factories.make_quote(db, world.alpine)
        factories.make_quote(db, world.granite)
        factories.make_case(db, world.granite, world.granite_admin, assignee_id=world.agent.id,
                            resolution_breached=bool(i % 2))  # fmt: skip
        factories.make_case(db, world.harbor)
        solved = factories.make_case(db, world.granite, world.granite_admin, status="solved")
        db.add(CsatSurvey(org_id=world.granite.id, case_id=solved.id, case_number=solved.number,
                          subject="s", requester_id=world.granite_admin.id))  # fmt: skip
    db.flush()


def test_a_home_page_costs_the_same_statements_whatever_the_rows(app, client_as, db, world):
    people = [world.admin, world.channel, world.agent, world.alpine_admin, world.granite_admin]
    _more_of_everything(db, world, 1)
    few = {p.email: _statements(app, client_as(p)) for p in people}
    _more_of_everything(db, world, 12)
    many = {p.email: _statements(app, client_as(p)) for p in people}
    assert many == few
    assert max(few.values()) <= 25, few
