"""Deal registration: the form, conflict detection, the review, every transition, expiry,
concurrent edits, and the API, on the real database."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from partners.deals import services
from partners.deals.models import DealConflict, DealRegistration, DirectDeal
from partners.program.models import Tier
from portal import jobs
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.notify.models import Notification
from portal.tenancy import Principal
from tests.unchanged import unchanged

FUTURE = (date.today() + timedelta(days=45)).isoformat()


def form(**overrides) -> dict:
    return {
        "customer_name": "Quillfeather Analytics Ltd",
        "customer_domain": "quillfeather.io",
        "contact_name": "Jo Buyer",
        "contact_email": "jo@quillfeather.io",
        "products": "Core switches\nFirewalls",
        "value": "120000.00",
        "currency": "EUR",
        "expected_close": FUTURE,
        "notes": "",
        "action": "submit",
        **overrides,
    }


@pytest.fixture
def channel(db, vendor, org_factory, user_factory):
    """Two resellers (gold and silver), a supplier, and the vendor's channel manager."""
    gold = org_factory("reseller", name="Gold Reseller", tier="gold")
    silver = org_factory("reseller", name="Silver Reseller", tier="silver")
    supplier = org_factory("supplier", name="Parts Supplier")
    return {
        "gold": gold,
        "silver": silver,
        "supplier": supplier,
        "gold_admin": user_factory(gold, "partner_admin"),
        "gold_user": user_factory(gold, "partner_user"),
        "silver_admin": user_factory(silver, "partner_admin"),
        "supplier_admin": user_factory(supplier, "partner_admin"),
        "manager": user_factory(vendor, "channel_manager"),
        "sales": user_factory(vendor, "sales_rep"),
    }


def principal(user) -> Principal:
    return Principal.for_user(user)


@contextmanager
def acting(app, user=None):
    """The app's session inside a request, for ``user`` (None: seeing everything, as a job)."""
    with app.test_request_context():
        from portal.db import db as portal_db
        from portal.db import set_principal, unscoped

        if user is None:
            with unscoped(portal_db.session) as session:
                yield session
        else:
            set_principal(portal_db.session, principal(user))
            yield portal_db.session


def register(app, channel, who="gold_admin", submit=True, **fields) -> DealRegistration:
    user = channel[who]
    with acting(app, user) as session:
        deal = services.register_deal(
            user.org,
            {
                **{k: v for k, v in form().items() if k != "action"},
                "products": ["Core switches"],
                "value": "1000",
                "expected_close": date.today() + timedelta(days=30),
                **fields,
            },
            submit=submit,
            actor=principal(user),
        )
        session.commit()
        return deal.id


def load(db, deal_id) -> DealRegistration:
    db.expire_all()
    return db.get(DealRegistration, deal_id)


# The form.


def test_a_reseller_registers_a_deal_and_it_is_under_review(client_as, channel, db):
    client = client_as(channel["gold_user"])
    response = client.post("/deals/new", data=form())
    assert response.status_code == 302
    deal = db.scalar(select(DealRegistration))
    assert deal.status == "submitted" and deal.number.startswith("DR-")
    assert deal.customer_domain == "quillfeather.io" and deal.products == [
        "Core switches",
        "Firewalls",
    ]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Under review" in page and deal.number in page


def test_a_draft_is_saved_and_submitted_later(client_as, channel, db):
    client = client_as(channel["gold_admin"])
    client.post("/deals/new", data=form(action="draft"))
    deal = db.scalar(select(DealRegistration))
    assert deal.status == "draft"
    assert client.post(f"/deals/{deal.id}/submit").status_code == 302
    assert load(db, deal.id).status == "submitted"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("customer_domain", "not a domain", "Give the customer&#39;s web domain"),
        ("value", "0", "The estimated value must be above zero."),
        ("expected_close", "2001-01-01", "must be today or later"),
        ("products", "   ", "This field is required."),
        ("customer_name", "", "This field is required."),
    ],
)
def test_bad_input_is_a_clear_message_and_nothing_is_written(
    client_as, channel, db, field, value, message
):
    client = client_as(channel["gold_admin"])
    with unchanged(db, counted=[DealRegistration]):
        response = client.post("/deals/new", data=form(**{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.scalar(select(DealRegistration)) is None


def test_suppliers_and_customers_do_not_register_deals(
    client_as, channel, org_factory, user_factory, db
):
    client = client_as(channel["supplier_admin"])
    with unchanged(db, counted=[DealRegistration]):
        response = client.post("/deals/new", data=form())
    assert response.status_code == 403
    assert "Only resellers and distributors register deals." in response.get_data(as_text=True)
    client.post("/logout")
    client = client_as(user_factory(org_factory("customer"), "customer_admin"))
    with unchanged(db, counted=[DealRegistration]):
        assert client.get("/deals/new").status_code == 403
    assert db.scalar(select(DealRegistration)) is None


# Conflicts.


def test_same_domain_and_close_names_are_flagged_never_dropped(app, channel, db):
    first = register(
        app,
        channel,
        "silver_admin",
        customer_name="Quillfeather Analytics Ltd",
        customer_domain="quillfeather.io",
    )
    by_domain = register(
        app,
        channel,
        customer_name="QF Holdings",
        customer_domain="https://www.quillfeather.io/about",
    )
    by_name = register(
        app,
        channel,
        customer_name="Quillfeather Analytics, Inc.",
        customer_domain="quillfeather-us.com",
    )
    unrelated = register(
        app, channel, customer_name="Harbourside Bakery", customer_domain="harbourside.com"
    )
    conflicts = {
        (c.registration_id, c.other_registration_id, c.kind)
        for c in db.scalars(select(DealConflict))
    }
    assert (by_domain, first, "domain") in conflicts
    assert (by_name, first, "name") in conflicts
    assert not any(c[0] == unrelated for c in conflicts)
    assert all(load(db, i).status == "submitted" for i in (first, by_domain, by_name))


def test_a_direct_deal_of_the_vendor_is_a_conflict_too(app, client_as, channel, db):
    client = client_as(channel["sales"])
    assert (
        client.post(
            "/deals/direct/new",
            data={
                "customer_name": "Meridian Foods",
                "customer_domain": "meridian-foods.de",
                "value": "5000",
                "currency": "EUR",
            },
        ).status_code
        == 302
    )
    client.post("/logout")
    deal_id = register(
        app, channel, customer_name="Meridian Foods GmbH", customer_domain="shop.meridian-foods.de"
    )
    direct = db.scalar(select(DirectDeal))
    [conflict] = db.scalars(select(DealConflict).where(DealConflict.registration_id == deal_id))
    assert conflict.direct_deal_id == direct.id and conflict.kind == "domain"


def test_the_partner_never_sees_who_else_registered(app, client_as, channel, db):
    register(
        app,
        channel,
        "silver_admin",
        customer_name="Secret Rival Customer Ltd",
        customer_domain="rival.com",
    )
    mine = register(
        app, channel, customer_name="Secret Rival Customer", customer_domain="rival.com"
    )
    client = client_as(channel["gold_admin"])
    page = client.get(f"/deals/{mine}").get_data(as_text=True)
    assert "Under review" in page
    assert "Silver Reseller" not in page and "Possible conflicts" not in page
    listing = client.get("/deals/").get_data(as_text=True)
    assert "Silver Reseller" not in listing and listing.count("Secret Rival Customer") == 1


def test_the_channel_manager_sees_conflicts_side_by_side_in_the_queue(app, client_as, channel, db):
    first = register(
        app,
        channel,
        "silver_admin",
        customer_name="Zephyr Logistics",
        customer_domain="zephyr-logistics.com",
    )
    second = register(
        app, channel, customer_name="Zephyr Logistics BV", customer_domain="zephyr-logistics.com"
    )
    client = client_as(channel["manager"])
    queue = client.get("/deals/review").get_data(as_text=True)
    numbers = [load(db, first).number, load(db, second).number]
    assert queue.index(numbers[0]) < queue.index(numbers[1])  # oldest first
    assert "1 possible conflict" in queue
    page = client.get(f"/deals/{second}").get_data(as_text=True)
    assert 'data-testid="conflicts"' in page and "Silver Reseller" in page
    assert numbers[0] in page and "Same domain" in page


# Decisions and transitions.


def test_approval_protects_for_the_tiers_days_and_tells_the_partner(app, client_as, channel, db):
    deal_id = register(app, channel)
    client = client_as(channel["manager"])
    assert client.post(f"/deals/{deal_id}/approve", data={}).status_code == 302
    deal = load(db, deal_id)
    days = db.scalar(select(Tier.protection_days).where(Tier.code == "gold"))
    assert deal.status == "approved"
    assert deal.expires_at - deal.decided_at == timedelta(days=days)
    titles = db.scalars(
        select(Notification.title).where(Notification.user_id == channel["gold_admin"].id)
    ).all()
    assert any("is approved, protected until" in t for t in titles)


def test_rejection_needs_a_reason_which_the_partner_sees(app, client_as, channel, db):
    deal_id = register(app, channel)
    client = client_as(channel["manager"])
    with unchanged(db, (DealRegistration, deal_id)):
        response = client.post(f"/deals/{deal_id}/reject", data={"reason": ""})
    assert response.status_code == 422 and load(db, deal_id).status == "submitted"
    client.post(f"/deals/{deal_id}/reject", data={"reason": "Direct account."})
    client.post("/logout")
    client = client_as(channel["gold_user"])
    page = client.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "Rejected: Direct account." in page


def test_information_requested_then_edited_and_resubmitted(app, client_as, channel, db):
    deal_id = register(app, channel)
    client = client_as(channel["manager"])
    client.post(f"/deals/{deal_id}/request-info", data={"message": "Which sites?"})
    client.post("/logout")
    client = client_as(channel["gold_admin"])
    edit = client.get(f"/deals/{deal_id}/edit").get_data(as_text=True)
    snapshot = edit.split('name="snapshot" type="hidden" value="')[1].split('"')[0]
    assert (
        client.post(
            f"/deals/{deal_id}/edit", data=form(notes="Sites: Zurich, Bern", snapshot=snapshot)
        ).status_code
        == 302
    )
    assert client.post(f"/deals/{deal_id}/submit").status_code == 302
    deal = load(db, deal_id)
    assert deal.status == "submitted" and deal.notes == "Sites: Zurich, Bern"


def test_a_concurrent_edit_is_shown_and_nothing_is_overwritten(app, channel, db):
    deal_id = register(app, channel, submit=False)
    from portal.concurrency import EditConflict, snapshot

    with acting(app, channel["gold_admin"]) as session:
        deal = session.get(DealRegistration, deal_id)
        seen = snapshot(deal, services.EDITABLE_FIELDS)  # both people open the form
        fields = {
            "customer_name": deal.customer_name,
            "customer_domain": deal.customer_domain,
            "products": deal.products,
            "value": "2000",
            "currency": "EUR",
            "expected_close": deal.expected_close,
            "notes": "first",
        }
        services.update_deal(deal, fields, seen=seen, actor=principal(channel["gold_admin"]))
        session.commit()
        with unchanged(db, deal):
            with pytest.raises(EditConflict) as conflict:
                services.update_deal(
                    deal,
                    {**fields, "value": "3000", "notes": "second"},
                    seen=seen,
                    actor=principal(channel["gold_user"]),
                )
            session.flush()
        session.rollback()
    changed = {field: (before, now) for field, before, now in conflict.value.changes}
    assert changed["value"] == ("1000.00", "2000.00") and changed["notes"] == ("", "first")
    assert load(db, deal_id).notes == "first"


TRANSITIONS = [  # from, call, allowed
    ("draft", "submit", True),
    ("draft", "approve", False),
    ("draft", "close", False),
    ("submitted", "approve", True),
    ("submitted", "reject", True),
    ("submitted", "info", True),
    ("submitted", "submit", False),
    ("submitted", "close", False),
    ("info_requested", "submit", True),
    ("info_requested", "reject", True),
    ("info_requested", "approve", False),
    ("approved", "close", True),
    ("approved", "reject", False),
    ("approved", "submit", False),
    ("rejected", "approve", False),
    ("rejected", "submit", False),
    ("rejected", "close", False),
    ("won", "close", False),
    ("lost", "approve", False),
    ("expired", "close", False),
]


@pytest.mark.parametrize(("state", "call", "allowed"), TRANSITIONS)
def test_every_transition_allowed_or_refused(app, channel, db, state, call, allowed):
    deal_id = register(app, channel, submit=False)
    db.get(DealRegistration, deal_id).status = state
    db.flush()
    partner, manager = principal(channel["gold_admin"]), principal(channel["manager"])
    calls = {
        "submit": lambda d: services.submit_deal(d, actor=partner),
        "approve": lambda d: services.approve_deal(d, protection_days=30, actor=manager),
        "reject": lambda d: services.reject_deal(d, reason="no", actor=manager),
        "info": lambda d: services.request_information(d, message="?", actor=manager),
        "close": lambda d: services.close_deal(d, outcome="won", actor=partner),
    }
    with acting(app) as session:
        deal = session.get(DealRegistration, deal_id)
        if allowed:
            calls[call](deal)
            session.flush()
            assert deal.status != state
        else:
            with unchanged(db, deal):
                with pytest.raises(InvalidTransition):
                    calls[call](deal)
                session.flush()
        session.rollback()


def test_only_channel_managers_decide_and_only_the_partner_submits(app, channel, db):
    deal_id = register(app, channel, submit=False)
    with acting(app) as session:
        deal = session.get(DealRegistration, deal_id)
        with unchanged(db, deal):
            with pytest.raises(Forbidden):
                services.submit_deal(deal, actor=principal(channel["silver_admin"]))
            with pytest.raises(Forbidden):
                services.approve_deal(deal, protection_days=10, actor=principal(channel["sales"]))
            with pytest.raises(InvalidInput):
                services.approve_deal(
                    deal, protection_days=9999, actor=principal(channel["manager"])
                )
            session.flush()
        session.rollback()


def test_extension_and_expiry_by_tick_with_a_frozen_clock(app, client, client_as, channel, db):
    # Forward from now only: a signed session cookie from the future is refused, as it should be.
    with time_machine.travel("2031-06-01 09:00 +0000", tick=False) as clock:
        deal_id = register(app, channel)
        client = client_as(channel["manager"])
        client.post(f"/deals/{deal_id}/approve", data={"protection_days": "10"})
        client.post(f"/deals/{deal_id}/extend", data={"days": "5"})
        assert load(db, deal_id).expires_at.date() == date(2031, 6, 16)
        clock.move_to("2031-06-15 09:00 +0000")
        with app.app_context():
            assert jobs.run_periodic(["expire_deal_protection"]) == {"expire_deal_protection": 0}
        clock.move_to("2031-06-16 09:01 +0000")
        with app.app_context():
            assert jobs.run_periodic(["expire_deal_protection"]) == {"expire_deal_protection": 1}
            assert jobs.run_periodic(["expire_deal_protection"]) == {"expire_deal_protection": 0}
    assert load(db, deal_id).status == "expired"


def approved(app, channel, who="gold_admin", **fields) -> int:
    deal_id = register(app, channel, who, **fields)
    with acting(app, channel["manager"]) as session:
        services.approve_deal(
            session.get(DealRegistration, deal_id),
            protection_days=30,
            actor=principal(channel["manager"]),
        )
        session.commit()
    return deal_id


def titles_of(db, user) -> list[str]:
    return db.scalars(select(Notification.title).where(Notification.user_id == user.id)).all()


def test_the_partner_asks_once_for_an_extension_and_the_manager_grants_it(
    app, client_as, channel, db
):
    deal_id = approved(app, channel)
    until = load(db, deal_id).expires_at
    client = client_as(channel["gold_user"])
    page = client.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert 'data-testid="extension-request-form"' in page
    with unchanged(db, (DealRegistration, deal_id)):
        bad = client.post(f"/deals/{deal_id}/extension-request", data={"days": "20", "reason": " "})
    assert bad.status_code == 422 and load(db, deal_id).extension_requested_at is None
    response = client.post(
        f"/deals/{deal_id}/extension-request",
        data={"days": "20", "reason": "The board meets in two months."},
    )
    assert response.status_code == 302
    with unchanged(db, (DealRegistration, deal_id)):
        again = client.post(
            f"/deals/{deal_id}/extension-request", data={"days": "5", "reason": "Once more."}
        )
    assert again.status_code == 422
    assert "one extension request already" in again.get_data(as_text=True)
    deal = load(db, deal_id)
    assert (deal.extension_requested_days, deal.extension_request_reason) == (
        20,
        "The board meets in two months.",
    )
    assert any("asks to extend deal" in t for t in titles_of(db, channel["manager"]))
    client.post("/logout")

    client = client_as(channel["manager"])
    queue = client.get("/deals/review").get_data(as_text=True)
    assert 'data-testid="extension-requests"' in queue and deal.number in queue
    detail = client.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "The board meets in two months." in detail and 'value="20"' in detail
    assert client.post(f"/deals/{deal_id}/extend", data={"days": "20"}).status_code == 302
    deal = load(db, deal_id)
    assert deal.extension_outcome == "granted" and not deal.extension_pending
    assert deal.expires_at.date() == (until + timedelta(days=20)).date()
    assert "Extension requests" not in client.get("/deals/review").get_data(as_text=True)
    assert any("is extended to" in t for t in titles_of(db, channel["gold_user"]))


def test_a_declined_extension_tells_the_partner_why(app, client_as, channel, db):
    deal_id = approved(app, channel)
    until = load(db, deal_id).expires_at
    with acting(app, channel["gold_admin"]) as session:
        services.request_extension(
            session.get(DealRegistration, deal_id),
            days=30,
            reason="Budget slipped.",
            actor=principal(channel["gold_admin"]),
        )
        session.commit()
    client = client_as(channel["manager"])
    with unchanged(db, (DealRegistration, deal_id)):
        empty = client.post(f"/deals/{deal_id}/decline-extension", data={"reason": ""})
    assert empty.status_code == 422 and load(db, deal_id).extension_pending
    client.post(f"/deals/{deal_id}/decline-extension", data={"reason": "Ninety days is enough."})
    deal = load(db, deal_id)
    assert deal.extension_outcome == "declined" and deal.expires_at == until
    with unchanged(db, (DealRegistration, deal_id)):
        again = client.post(f"/deals/{deal_id}/decline-extension", data={"reason": "Again."})
    assert again.status_code == 422
    client.post("/logout")
    client = client_as(channel["gold_admin"])
    page = client.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "Declined: Ninety days is enough." in page
    assert 'data-testid="extension-request-form"' not in page  # one request, and it is spent


def test_extension_requests_are_refused_when_they_make_no_sense(app, channel, db):
    submitted = register(app, channel)
    deal_id = approved(app, channel, customer_name="Other Co", customer_domain="otherco.com")
    with acting(app, channel["gold_admin"]) as session:
        ask = dict(days=10, reason="Why not.", actor=principal(channel["gold_admin"]))
        with unchanged(db, (DealRegistration, submitted), (DealRegistration, deal_id)):
            with pytest.raises(InvalidTransition):  # not approved
                services.request_extension(session.get(DealRegistration, submitted), **ask)
            with pytest.raises(InvalidInput):
                services.request_extension(
                    session.get(DealRegistration, deal_id), **{**ask, "days": 400}
                )
            session.flush()
        session.rollback()
    with acting(app, channel["silver_admin"]) as session:
        from portal.db import unscoped

        with unscoped():
            foreign = session.get(DealRegistration, deal_id)
        with unchanged(db, foreign):
            with pytest.raises(Forbidden):  # another partner's registration
                services.request_extension(
                    foreign, days=10, reason="Mine now.", actor=principal(channel["silver_admin"])
                )
            session.flush()
        session.rollback()
    with acting(app, channel["manager"]) as session, unchanged(db, (DealRegistration, deal_id)):
        with pytest.raises(Forbidden):  # vendor staff extend; they do not ask
            services.request_extension(
                session.get(DealRegistration, deal_id),
                days=10,
                reason="For them.",
                actor=principal(channel["manager"]),
            )
        with pytest.raises(InvalidTransition):  # nothing to decline
            services.decline_extension(
                session.get(DealRegistration, deal_id),
                reason="No.",
                actor=principal(channel["manager"]),
            )
        session.flush()
        session.rollback()


def test_lists_page_by_key_and_a_forged_cursor_is_refused(app, client_as, channel, db):
    ids = [
        register(app, channel, customer_name=f"Paged Co {n}", customer_domain=f"paged{n}.com")
        for n in range(30)
    ]
    client = client_as(channel["manager"])
    first = client.get("/deals/").get_data(as_text=True)
    assert load(db, ids[-1]).number in first and load(db, ids[0]).number not in first
    after = first.split('rel="next" href="/deals/?after=')[1].split('"')[0]
    second = client.get(f"/deals/?after={after}").get_data(as_text=True)
    assert load(db, ids[0]).number in second and load(db, ids[-1]).number not in second
    queue = client.get("/deals/review").get_data(as_text=True)
    assert load(db, ids[0]).number in queue and load(db, ids[-1]).number not in queue  # oldest
    after = queue.split('rel="next" href="/deals/review?after=')[1].split('"')[0]
    rest = client.get(f"/deals/review?after={after}").get_data(as_text=True)
    assert load(db, ids[-1]).number in rest and load(db, ids[0]).number not in rest
    with unchanged(db, *(load(db, i) for i in ids)):
        assert client.get("/deals/review?after=bm9wZQ").status_code == 422
        assert client.get("/deals/?after=WyJuZXdlc3QiLCJ4Il0").status_code == 422


def test_won_or_lost_is_recorded_by_the_partner(app, client_as, channel, db):
    deal_id = approved(app, channel)
    client = client_as(channel["gold_user"])
    assert client.post(f"/deals/{deal_id}/close", data={"outcome": "won"}).status_code == 302
    assert load(db, deal_id).status == "won"


# The API.


def test_the_api_registers_and_lists_through_the_same_rules(app, channel, db):
    from tests.integration.oauth_support import cc_token, make_api_client

    api_client = make_api_client(
        db, channel["gold"], service_role="partner_user", scopes="deals:read deals:write"
    )
    token = cc_token(app.test_client(), api_client, "deals:read deals:write")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    api = app.test_client()
    body = {
        "customer_name": "Api Customer GmbH",
        "customer_domain": "api-customer.de",
        "products": ["Switches"],
        "value": "500.50",
        "currency": "EUR",
        "expected_close": FUTURE,
    }
    created = api.post("/api/v1/deals", json=body, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.json["status"] == "submitted" and created.json["value"] == "500.50"
    listed = api.get("/api/v1/deals", headers=headers).json["items"]
    assert [d["number"] for d in listed] == [created.json["number"]]
    foreign = register(app, channel, "silver_admin")
    with unchanged(db, (DealRegistration, foreign), counted=[DealRegistration]):
        assert api.get(f"/api/v1/deals/{foreign}", headers=headers).status_code == 404
        bad = api.post("/api/v1/deals", json={**body, "customer_domain": "nope"}, headers=headers)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def api_as(app, db, org, role: str, scopes: str = "deals:read deals:write"):
    """A test client and headers acting through a client-credentials token of ``org``."""
    from tests.integration.oauth_support import cc_token, make_api_client

    api_client = make_api_client(db, org, service_role=role, scopes=scopes)
    token = cc_token(app.test_client(), api_client, scopes)["access_token"]
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def test_every_step_of_a_registration_goes_through_the_api(app, channel, db, vendor):
    partner, partner_headers = api_as(app, db, channel["gold"], "partner_admin")
    manager, manager_headers = api_as(app, db, vendor, "channel_manager")
    body = {
        "customer_name": "Api Journey AG",
        "customer_domain": "api-journey.ch",
        "products": ["Firewalls"],
        "value": "9000",
        "currency": "CHF",
        "expected_close": FUTURE,
        "submit": False,
    }
    draft = partner.post("/api/v1/deals", json=body, headers=partner_headers).json
    assert draft["status"] == "draft" and draft["extension"] is None
    path = f"/api/v1/deals/{draft['id']}"

    def post(client, headers, action, json=None, status=200):
        refused = unchanged(db, (DealRegistration, draft["id"])) if status >= 400 else None
        with refused or nullcontext():
            response = client.post(f"{path}/{action}", json=json or {}, headers=headers)
        assert response.status_code == status, (action, response.get_data(as_text=True))
        return response.json

    # The manager may not approve a draft (409), nor the partner approve at all (403).
    assert post(manager, manager_headers, "approve", status=409)["status"] == 409
    post(partner, partner_headers, "approve", status=403)
    assert post(partner, partner_headers, "submit")["status"] == "submitted"
    post(manager, manager_headers, "request-info", {"message": " "}, status=422)
    assert post(manager, manager_headers, "request-info", {"message": "Which site?"})["status"] == (
        "info_requested"
    )
    assert post(partner, partner_headers, "submit")["status"] == "submitted"
    approved = post(manager, manager_headers, "approve", {"protection_days": 30})
    assert approved["status"] == "approved" and approved["expires_at"]
    asked = post(partner, partner_headers, "extension-request", {"days": 15, "reason": "Board."})
    assert asked["extension"]["outcome"] == "pending" and asked["extension"]["days"] == 15
    post(partner, partner_headers, "extension-request", {"days": 5, "reason": "Again."}, 409)
    granted = post(manager, manager_headers, "extend", {"days": 15})
    assert granted["extension"]["outcome"] == "granted"
    assert granted["expires_at"] > approved["expires_at"]
    post(manager, manager_headers, "decline-extension", {"reason": "No."}, status=409)
    post(partner, partner_headers, "close", {"outcome": "maybe"}, status=422)
    assert post(partner, partner_headers, "close", {"outcome": "won"})["status"] == "won"
    post(manager, manager_headers, "reject", {"reason": "Too late."}, status=409)
    # Another partner's token: the registration does not exist for it, whatever the action.
    other, other_headers = api_as(app, db, channel["silver"], "partner_admin")
    for action in ("submit", "extension-request", "close"):
        with unchanged(db, (DealRegistration, draft["id"])):
            response = other.post(f"{path}/{action}", json={}, headers=other_headers)
        assert response.status_code == 404, action
    assert other.get(path, headers=other_headers).status_code == 404
    # A read-only token may read but not act.
    reader, reader_headers = api_as(app, db, channel["gold"], "partner_admin", "deals:read")
    assert reader.get(path, headers=reader_headers).status_code == 200
    post(reader, reader_headers, "close", {"outcome": "lost"}, status=403)
    assert load(db, draft["id"]).status == "won"
