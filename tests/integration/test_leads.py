"""Leads through the pages: vendor staff create and edit them (optimistic locking), offer them by
hand, recall them and record outcomes; the partner accepts or declines. Every state transition of
an offer and a lead, allowed and refused, with what it writes (audit, notifications) and what it
leaves untouched when refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from partners.leads import services
from partners.leads.models import Lead, LeadOffer
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.notify.models import Notification
from tests.factories import make_lead, make_offer
from tests.isolation.kinds_leads import acting_as, cover, mine
from tests.unchanged import unchanged


@pytest.fixture
def channel(db, vendor, org_factory, user_factory):
    """The vendor's channel manager and two resellers (gold, silver) covering DE networking."""

    class Channel:
        manager = user_factory(vendor, "channel_manager")
        gold = org_factory("reseller", name="Gold Reseller GmbH", tier="gold")
        silver = org_factory("reseller", name="Silver Reseller AG", tier="silver")
        gold_admin = None
        silver_admin = None

    Channel.gold_admin = user_factory(Channel.gold, "partner_admin")
    Channel.silver_admin = user_factory(Channel.silver, "partner_admin")
    cover(db, Channel.gold, ("DE", "AT"), ("networking",))
    cover(db, Channel.silver, ("DE",), ("networking", "security"))
    return Channel


def actions_on(db, obj) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == type(obj).__name__, AuditEvent.object_id == obj.id)
            .order_by(AuditEvent.id)
        )
    )


def lead_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Lead))


LEAD_FORM = {
    "company": "Acme Industrial GmbH",
    "contact_name": "Jana Roth",
    "email": "j.roth@acme.test",
    "phone": "+49 30 1234",
    "country": "DE",
    "product_line": "networking",
    "notes": "Met at the fair.",
}


# Creating and editing.


def test_vendor_creates_a_lead_and_it_is_audited(client_as, db, channel):
    client = client_as(channel.manager)
    response = client.post("/leads/new", data=LEAD_FORM)
    assert response.status_code == 302
    lead = db.scalar(select(Lead).where(Lead.company == "Acme Industrial GmbH"))
    assert (lead.status, lead.country, lead.email, lead.source) == (
        "new",
        "DE",
        "j.roth@acme.test",
        "manual",
    )
    assert actions_on(db, lead) == ["lead.created"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Acme Industrial GmbH" in page and "Lead created" in page  # its history, in words
    assert "Gold Reseller GmbH" in page  # the rule's view of who fits


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"company": "   "}, "This field is required."),
        ({"email": "not-an-email"}, "Invalid email address."),
        ({"country": "XX"}, "Not a valid choice"),
        ({"product_line": "toasters"}, "Not a valid choice"),
        ({"company": "x" * 201}, "Field cannot be longer than 200 characters."),
    ],
)
def test_bad_lead_input_is_422_and_writes_nothing(client_as, db, channel, change, message):
    client = client_as(channel.manager)
    before = lead_count(db)
    with unchanged(db, counted=[Lead]):
        response = client.post("/leads/new", data={**LEAD_FORM, **change})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert lead_count(db) == before


def test_service_checks_what_the_api_and_csv_send_too(app, db, channel):
    with acting_as(app, channel.manager) as actor:
        for values, field in [
            ({**LEAD_FORM, "country": "Narnia"}, "country"),
            ({**LEAD_FORM, "product_line": "toasters"}, "product_line"),
            ({**LEAD_FORM, "email": "a@"}, "email"),
            ({**LEAD_FORM, "phone": "9" * 51}, "phone"),
        ]:
            with unchanged(db, counted=[Lead]), pytest.raises(InvalidInput) as refused:
                services.create_lead(values, actor=actor)
            assert refused.value.field == field
        lead = services.create_lead({**LEAD_FORM, "country": "Germany"}, actor=actor)
        assert lead.country == "DE"
    with (
        unchanged(db, counted=[Lead]),
        acting_as(app, channel.gold_admin) as partner,
        pytest.raises(Forbidden),
    ):
        services.create_lead(LEAD_FORM, actor=partner)


def test_creating_with_offer_now_offers_it_by_rule_and_notifies_the_partner(
    client_as, db, channel, mailbox
):
    client = client_as(channel.manager)
    response = client.post(
        "/leads/new", data={**LEAD_FORM, "offer_now": "y"}, follow_redirects=True
    )
    assert "Offered to Gold Reseller GmbH by rule." in response.get_data(as_text=True)
    lead = db.scalar(select(Lead).where(Lead.company == "Acme Industrial GmbH"))
    assert lead.status == "offered"
    (offer,) = lead.offers
    assert offer.org_id == channel.gold.id and offer.status == "offered"
    assert offer.offered_by_id == channel.manager.id
    assert "By rule:" in offer.reason
    note = db.scalar(select(Notification).where(Notification.user_id == channel.gold_admin.id))
    assert note.kind == "leads.offered" and note.link == f"/leads/{lead.id}"
    assert mailbox.to(channel.gold_admin.email)


def test_editing_uses_optimistic_locking(client_as, db, channel):
    lead = make_lead(db, channel.manager.org, "Locked Lead Co", phone="1")
    first, second = client_as(channel.manager), client_as(channel.manager)

    def opened(client) -> str:
        page = client.get(f"/leads/{lead.id}/edit").get_data(as_text=True)
        return page.split('name="snapshot" type="hidden" value="')[1].split('"')[0]

    seen_first, seen_second = opened(first), opened(second)
    form = {**LEAD_FORM, "company": "Locked Lead Co"}
    assert (
        first.post(
            f"/leads/{lead.id}/edit", data={**form, "phone": "111", "snapshot": seen_first}
        ).status_code
        == 302
    )
    with unchanged(db, lead):
        late = second.post(
            f"/leads/{lead.id}/edit", data={**form, "phone": "222", "snapshot": seen_second}
        )
    assert late.status_code == 409
    page = late.get_data(as_text=True)
    assert "Someone else changed this" in page and 'data-testid="edit-conflict"' in page
    assert "111" in page and "222" in page  # what changed, and the person's own input kept
    db.expire_all()
    assert db.get(Lead, lead.id).phone == "111"  # nothing overwritten
    fresh = page.split('name="snapshot" type="hidden" value="')[1].split('"')[0]
    again = second.post(f"/leads/{lead.id}/edit", data={**form, "phone": "222", "snapshot": fresh})
    assert again.status_code == 302
    db.expire_all()
    assert db.get(Lead, lead.id).phone == "222"
    assert actions_on(db, lead).count("lead.edited") == 2


def test_a_forged_edit_snapshot_is_a_conflict_not_a_save(client_as, db, channel):
    lead = make_lead(db, channel.manager.org, "Forged Snapshot Co")
    client = client_as(channel.manager)
    with unchanged(db, lead):
        response = client.post(f"/leads/{lead.id}/edit", data={**LEAD_FORM, "snapshot": "made-up"})
    assert response.status_code == 409
    db.expire_all()
    assert db.get(Lead, lead.id).company == "Forged Snapshot Co"


# Offers: every transition, allowed and refused.


def offer_to(db, channel, status="offered", partner=None, **fields) -> tuple[Lead, LeadOffer]:
    partner = partner or channel.gold
    lead_status = {"offered": "offered", "accepted": "accepted"}.get(status, "new")
    lead = make_lead(db, channel.manager.org, f"Lead {status} {utcnow().timestamp()}", lead_status)
    return lead, make_offer(db, lead, partner, status, **fields)


def test_partner_accepts_an_offer(client_as, db, channel, mailbox):
    lead, offer = offer_to(db, channel, offered_by_id=channel.manager.id)
    client = client_as(channel.gold_admin)
    response = client.post(f"/leads/{lead.id}/accept", follow_redirects=True)
    assert "You accepted" in response.get_data(as_text=True)
    db.expire_all()
    assert (offer.status, lead.status) == ("accepted", "accepted")
    assert offer.responded_at is not None
    assert actions_on(db, offer) == ["lead_offer.accepted"]
    assert (
        db.scalar(select(Notification.kind).where(Notification.user_id == channel.manager.id))
        == "leads.response"
    )
    assert mailbox.to(channel.manager.email)
    assert client.get(f"/leads/{lead.id}").status_code == 200  # still the partner's


def test_partner_declines_with_a_reason_and_the_lead_moves_on(client_as, db, channel):
    lead, offer = offer_to(db, channel)
    client = client_as(channel.gold_admin)
    with unchanged(db, lead, offer):
        refused = client.post(f"/leads/{lead.id}/decline", data={"reason": "  "})
    assert refused.status_code == 422
    assert "This field is required." in refused.get_data(as_text=True)
    db.expire_all()
    assert offer.status == "offered"
    response = client.post(f"/leads/{lead.id}/decline", data={"reason": "No capacity"})
    assert response.status_code == 302 and response.headers["Location"] == "/leads/"
    db.expire_all()
    assert (offer.status, offer.decline_reason) == ("declined", "No capacity")
    # The job that ran after the commit offered it to the next partner by rule.
    assert lead.status == "offered"
    assert [(o.org_id, o.status) for o in lead.offers] == [
        (channel.gold.id, "declined"),
        (channel.silver.id, "offered"),
    ]
    with unchanged(db, lead, *lead.offers):
        assert client.get(f"/leads/{lead.id}").status_code == 404  # no longer the gold partner's
    assert "lead_offer.declined" in actions_on(db, offer)


@pytest.mark.parametrize("status", ["accepted", "declined", "expired", "recalled"])
@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_an_offer_that_is_not_open_cannot_be_answered(app, db, channel, status, answer):
    lead, offer = offer_to(db, channel, status)
    with (
        unchanged(db, lead, offer, counted=[LeadOffer]),
        acting_as(app, channel.gold_admin) as actor,
        pytest.raises(InvalidTransition),
    ):
        if answer == "accept":
            services.accept_offer(mine(offer), actor=actor)
        else:
            services.decline_offer(mine(offer), "because", actor=actor)


def test_an_accepted_offer_cannot_be_answered_again_through_the_page(client_as, db, channel):
    lead, offer = offer_to(db, channel, "accepted")
    client = client_as(channel.gold_admin)
    for path, data in (("accept", {}), ("decline", {"reason": "changed my mind"})):
        with unchanged(db, lead, offer):
            response = client.post(f"/leads/{lead.id}/{path}", data=data)
        assert response.status_code == 409
        assert "cannot be answered" in response.get_data(as_text=True)
    db.expire_all()
    assert offer.status == "accepted" and offer.decline_reason == ""


def test_too_late_to_answer_even_before_tick_ran(client_as, db, channel):
    lead, offer = offer_to(db, channel, respond_by=utcnow() - timedelta(minutes=1))
    client = client_as(channel.gold_admin)
    with unchanged(db, lead, offer):
        response = client.post(f"/leads/{lead.id}/accept")
    assert response.status_code == 409
    assert "run out" in response.get_data(as_text=True)
    db.expire_all()
    assert offer.status == "offered"


def test_only_the_partner_offered_answers(client_as, app, db, channel):
    lead, offer = offer_to(db, channel)
    silver, manager = client_as(channel.silver_admin), client_as(channel.manager)
    with unchanged(db, lead, offer):
        with acting_as(app, channel.manager) as actor, pytest.raises(Forbidden):
            services.accept_offer(mine(offer), actor=actor)
        assert silver.post(f"/leads/{lead.id}/accept").status_code == 404
        assert manager.post(f"/leads/{lead.id}/accept").status_code == 403


@pytest.mark.parametrize("status", ["offered", "accepted"])
def test_vendor_recalls_an_open_offer_and_the_partner_loses_the_lead(
    client_as, db, channel, status
):
    lead, offer = offer_to(db, channel, status)
    partner = client_as(channel.gold_admin)
    assert partner.get(f"/leads/{lead.id}").status_code == 200
    client = client_as(channel.manager)
    response = client.post(f"/leads/{lead.id}/recall", follow_redirects=True)
    assert "Recalled from Gold Reseller GmbH." in response.get_data(as_text=True)
    db.expire_all()
    assert (offer.status, lead.status) == ("recalled", "new")
    assert actions_on(db, offer) == ["lead_offer.recalled"]
    assert "lead.recalled" in actions_on(db, lead)
    with unchanged(db, lead, offer):
        assert partner.get(f"/leads/{lead.id}").status_code == 404
    assert lead.company not in partner.get("/leads/").get_data(as_text=True)
    assert (
        db.scalar(select(Notification.kind).where(Notification.user_id == channel.gold_admin.id))
        == "leads.offer_closed"
    )


def test_recall_refused_when_nothing_is_offered_or_the_lead_is_closed(client_as, db, channel):
    client = client_as(channel.manager)
    fresh = make_lead(db, channel.manager.org, "Nobody Has It Co")
    with unchanged(db, fresh, counted=[LeadOffer]):
        response = client.post(f"/leads/{fresh.id}/recall")
    assert response.status_code == 409
    assert "not offered to anyone" in response.get_data(as_text=True)
    won, offer = offer_to(db, channel, "accepted")
    won.status = "won"
    db.flush()
    with unchanged(db, won, offer):
        assert client.post(f"/leads/{won.id}/recall").status_code == 409
    db.expire_all()
    assert offer.status == "accepted"


def test_vendor_offers_by_hand_and_the_rules_of_the_programme_hold(
    client_as, db, channel, org_factory
):
    client = client_as(channel.manager)
    lead = make_lead(db, channel.manager.org, "By Hand Co")
    response = client.post(
        f"/leads/{lead.id}/offer", data={"partner_id": channel.silver.id, "note": "Asked for it"}
    )
    assert response.status_code == 302
    db.expire_all()
    (offer,) = lead.offers
    assert offer.org_id == channel.silver.id and offer.reason == "Offered by hand. Asked for it"
    # Already offered: a second offer is refused until a recall.
    with unchanged(db, lead, offer, counted=[LeadOffer]):
        again = client.post(f"/leads/{lead.id}/offer", data={"partner_id": channel.gold.id})
    assert again.status_code == 409 and "Recall the offer first" in again.get_data(as_text=True)
    assert len(db.scalars(select(LeadOffer).where(LeadOffer.lead_id == lead.id)).all()) == 1


def test_hand_offers_refuse_suppliers_decliners_and_capped_partners(
    client_as, app, db, channel, org_factory
):
    supplier = org_factory("supplier", name="Supplier Parts")
    inactive = org_factory("reseller", name="Sleeping Reseller", active=False, tier="gold")
    registered = org_factory("reseller", name="Small Reseller", tier="registered")  # cap 3
    for _ in range(3):
        offer_to(db, channel, "offered", partner=registered)
    lead = make_lead(db, channel.manager.org, "Choosy Co")
    make_offer(db, lead, channel.gold, "declined", decline_reason="no")
    with acting_as(app, channel.manager) as actor:
        for partner, message in (
            (supplier, "resellers and distributors only"),
            (inactive, "deactivated"),
            (channel.gold, "declined this lead already"),
            (registered, "holds 3 open leads"),
        ):
            with (
                unchanged(db, lead, counted=[LeadOffer]),
                pytest.raises(InvalidInput, match=message),
            ):
                services.offer_lead(mine(lead), mine(partner), actor=actor)
    # A supplier is not even a choice on the page.
    client = client_as(channel.manager)
    with unchanged(db, lead, counted=[LeadOffer]):
        response = client.post(f"/leads/{lead.id}/offer", data={"partner_id": supplier.id})
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)
    db.expire_all()
    assert lead.status == "new"


@pytest.mark.parametrize("status", ["offered", "accepted", "won", "lost"])
def test_only_a_new_lead_is_offered(client_as, app, db, channel, status):
    lead = make_lead(db, channel.manager.org, "Busy Co", status)
    client = client_as(channel.manager)
    with unchanged(db, lead, counted=[LeadOffer]):
        with acting_as(app, channel.manager) as actor, pytest.raises(InvalidTransition):
            services.offer_by_rule(mine(lead), actor=actor)
        assert client.post(f"/leads/{lead.id}/offer-by-rule").status_code == 409


# Outcomes.


def test_partner_records_the_outcome_of_a_lead_it_accepted(client_as, db, channel):
    lead, offer = offer_to(db, channel, "accepted", offered_by_id=channel.manager.id)
    client = client_as(channel.gold_admin)
    response = client.post(f"/leads/{lead.id}/close", data={"outcome": "won"})
    assert response.status_code == 302
    db.expire_all()
    assert lead.status == "won" and offer.status == "accepted"
    assert "lead.won" in actions_on(db, lead) and "lead_offer.won" in actions_on(db, offer)
    with unchanged(db, lead, offer):
        again = client.post(f"/leads/{lead.id}/close", data={"outcome": "lost"})
    assert again.status_code == 409 and "already closed" in again.get_data(as_text=True)


def test_partner_cannot_close_a_lead_it_has_not_accepted(client_as, db, channel):
    lead, offer = offer_to(db, channel, "offered")
    client = client_as(channel.gold_admin)
    with unchanged(db, lead, offer):
        response = client.post(f"/leads/{lead.id}/close", data={"outcome": "won"})
    assert response.status_code == 409
    assert "Accept the lead" in response.get_data(as_text=True)
    db.expire_all()
    assert lead.status == "offered"


def test_vendor_closes_new_and_accepted_leads_but_not_offered_ones(
    client_as, db, channel, user_factory
):
    client = client_as(channel.manager)
    fresh = make_lead(db, channel.manager.org, "Dead End Co")
    assert client.post(f"/leads/{fresh.id}/close", data={"outcome": "lost"}).status_code == 302
    offered, offer = offer_to(db, channel, "offered")
    with unchanged(db, offered, offer):
        response = client.post(f"/leads/{offered.id}/close", data={"outcome": "won"})
    assert response.status_code == 409 and "recall the offer first" in response.get_data(
        as_text=True
    )
    accepted, _ = offer_to(db, channel, "accepted")
    assert client.post(f"/leads/{accepted.id}/close", data={"outcome": "won"}).status_code == 302
    db.expire_all()
    assert (fresh.status, offered.status, accepted.status) == ("lost", "offered", "won")
    # Support agents see leads but do not manage them.
    agent = client_as(user_factory(channel.manager.org, "support_agent"))
    other = make_lead(db, channel.manager.org, "Agent Try Co")
    with unchanged(db, other):
        assert agent.post(f"/leads/{other.id}/close", data={"outcome": "won"}).status_code == 403
        assert bad_outcome(client, other) == 422


def bad_outcome(client, lead) -> int:
    return client.post(f"/leads/{lead.id}/close", data={"outcome": "maybe"}).status_code


# The list.


def test_the_list_filters_sorts_and_pages_by_cursor(client_as, db, channel):
    vendor = channel.manager.org
    for n in range(30):
        make_lead(
            db,
            vendor,
            f"Listed {n:02d} Co",
            country="AT" if n % 3 == 0 else "DE",
            product_line="security" if n % 2 else "networking",
            email=f"person{n}@listed.test",
        )
    client = client_as(channel.manager)

    def companies(url) -> tuple[list[str], str]:
        page = client.get(url).get_data(as_text=True)
        return [p.split("</a>")[0] for p in page.split("Listed ")[1:]], page

    first, page = companies("/leads/?q=listed&sort=oldest")
    assert first[:3] == ["00 Co", "01 Co", "02 Co"] and len(first) == 25
    next_url = page.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second, page = companies(next_url)
    assert second == [f"{n:02d} Co" for n in range(25, 30)]
    assert 'rel="next"' not in page
    prev_url = page.split('rel="prev" href="')[1].split('"')[0].replace("&amp;", "&")
    assert companies(prev_url)[0] == first
    newest, _ = companies("/leads/?q=listed")
    assert newest[0] == "29 Co"
    by_company, _ = companies("/leads/?q=listed&sort=company&country=AT&product_line=security")
    assert by_company == ["03 Co", "09 Co", "15 Co", "21 Co", "27 Co"]
    assert companies("/leads/?q=person7%40")[0] == ["07 Co"]
    with unchanged(db):
        assert client.get("/leads/?status=bogus").status_code == 422
        assert client.get("/leads/?after=not-a-cursor").status_code == 422


def test_the_list_costs_the_same_number_of_statements_whatever_the_data(
    client_as, app, db, channel
):
    vendor = channel.manager.org
    client = client_as(channel.manager)
    engine = app.extensions["db"].engine
    statements: list[tuple[str, object]] = []

    def count(conn, cursor, statement, parameters, *args):
        statements.append((statement.upper(), parameters))

    def statements_for(url: str) -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    for n in range(5):
        lead = make_lead(db, vendor, f"Few {n}")
        make_offer(db, lead, channel.gold)
    few = statements_for("/leads/")
    for n in range(60):
        lead = make_lead(db, vendor, f"Many {n}")
        if n % 2:
            make_offer(db, lead, channel.silver)
    assert statements_for("/leads/") == few
    cursor_page = client.get("/leads/").get_data(as_text=True)
    next_url = cursor_page.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    assert statements_for(next_url) == few
    on_leads = [(s, p) for s, p in statements if "FROM LEADS" in s]
    assert on_leads and not any("COUNT(" in s for s, _ in on_leads)
    # No deep OFFSET (SQLite's dialect always writes "OFFSET ?", with 0).
    assert all(p[-1] == 0 for s, p in on_leads if "OFFSET" in s)
