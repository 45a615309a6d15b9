"""Extension requests in the review queue: listed with what the channel manager decides on, and
granted or declined there through the existing decisions, on the real database."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from partners.deals import services
from partners.deals.models import DealRegistration
from portal.tenancy import Principal
from tests.unchanged import unchanged


@pytest.fixture
def channel(db, vendor, org_factory, user_factory):
    gold = org_factory("reseller", name="Gold Reseller", tier="gold")
    silver = org_factory("reseller", name="Silver Reseller", tier="silver")
    return {
        "gold_admin": user_factory(gold, "partner_admin"),
        "silver_admin": user_factory(silver, "partner_admin"),
        "manager": user_factory(vendor, "channel_manager"),
    }


@contextmanager
def acting(app, user):
    with app.test_request_context():
        from portal.db import db as portal_db
        from portal.db import set_principal

        set_principal(portal_db.session, Principal.for_user(user))
        yield portal_db.session


def approved(app, channel, who="gold_admin", customer="Quillfeather Analytics Ltd") -> int:
    user = channel[who]
    domain = customer.split()[0].lower() + ".io"
    with acting(app, user) as session:
        deal = services.register_deal(
            user.org,
            {
                "customer_name": customer,
                "customer_domain": domain,
                "contact_name": "Jo Buyer",
                "contact_email": f"jo@{domain}",
                "products": ["Core switches"],
                "value": "1000",
                "currency": "EUR",
                "expected_close": date.today() + timedelta(days=30),
                "notes": "",
            },
            submit=True,
            actor=Principal.for_user(user),
        )
        session.commit()
        deal_id = deal.id
    with acting(app, channel["manager"]) as session:
        services.approve_deal(
            session.get(DealRegistration, deal_id),
            protection_days=30,
            actor=Principal.for_user(channel["manager"]),
        )
        session.commit()
    return deal_id


def ask(app, channel, deal_id, who="gold_admin", days=20, reason="The board meets in May."):
    with acting(app, channel[who]) as session:
        services.request_extension(
            session.get(DealRegistration, deal_id),
            days=days,
            reason=reason,
            actor=Principal.for_user(channel[who]),
        )
        session.commit()


def load(db, deal_id) -> DealRegistration:
    db.expire_all()
    return db.get(DealRegistration, deal_id)


def test_the_queue_lists_a_pending_request_and_grants_it_there(app, client_as, channel, db):
    deal_id = approved(app, channel)
    ask(app, channel, deal_id, days=20, reason="The board meets in May.")
    deal = load(db, deal_id)
    until = deal.expires_at
    client = client_as(channel["manager"])
    page = client.get("/deals/review").get_data(as_text=True)
    section = page.split('data-testid="extension-requests"')[1]
    assert f'href="/deals/{deal_id}"' in section and deal.number in section
    for shown in ("Gold Reseller", "Quillfeather Analytics Ltd", "20 more days"):
        assert shown in section
    assert "The board meets in May." in section
    assert f'action="/deals/{deal_id}/extend"' in section
    assert f'action="/deals/{deal_id}/decline-extension"' in section

    response = client.post(f"/deals/{deal_id}/extend", data={"days": "20", "back": "review"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/deals/review")
    deal = load(db, deal_id)
    assert deal.extension_outcome == "granted" and not deal.extension_pending
    assert deal.expires_at.date() == (until + timedelta(days=20)).date()
    queue = client.get("/deals/review").get_data(as_text=True)
    assert f"Deal {deal.number}: " in queue  # the flash (the row itself is gone)
    assert 'data-testid="extension-requests"' not in queue


def test_declining_from_the_queue_needs_a_reason_and_returns_to_it(app, client_as, channel, db):
    deal_id = approved(app, channel)
    ask(app, channel, deal_id)
    client = client_as(channel["manager"])
    with unchanged(db, (DealRegistration, deal_id)):
        empty = client.post(
            f"/deals/{deal_id}/decline-extension", data={"reason": "", "back": "review"}
        )
    assert empty.status_code == 422 and load(db, deal_id).extension_pending
    response = client.post(
        f"/deals/{deal_id}/decline-extension",
        data={"reason": "Thirty days is enough.", "back": "review"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/deals/review")
    deal = load(db, deal_id)
    assert (deal.extension_outcome, deal.extension_response) == (
        "declined",
        "Thirty days is enough.",
    )


def test_partners_cannot_see_the_queue(app, client_as, channel, db):
    deal_id = approved(app, channel)
    ask(app, channel, deal_id)
    for who in ("gold_admin", "silver_admin"):
        client = client_as(channel[who])
        assert client.get("/deals/review").status_code == 403
        with unchanged(db, (DealRegistration, deal_id)):
            refused = client.post(f"/deals/{deal_id}/extend", data={"days": "20", "back": "review"})
        assert refused.status_code in (403, 404)


def test_only_pending_requests_show(app, client_as, channel, db):
    pending = approved(app, channel, customer="Pending Corp")
    ask(app, channel, pending)
    declined = approved(app, channel, "silver_admin", customer="Declined Corp")
    ask(app, channel, declined, who="silver_admin", reason="Declined reason text.")
    granted = approved(app, channel, customer="Granted Corp")
    ask(app, channel, granted, reason="Granted reason text.")
    approved(app, channel, customer="Unasked Corp")
    with acting(app, channel["manager"]) as session:
        actor = Principal.for_user(channel["manager"])
        services.decline_extension(
            session.get(DealRegistration, declined), reason="No.", actor=actor
        )
        services.extend_protection(session.get(DealRegistration, granted), days=20, actor=actor)
        session.commit()
    page = client_as(channel["manager"]).get("/deals/review").get_data(as_text=True)
    section = page.split('data-testid="extension-requests"')[1]
    assert section.count('data-testid="extension-request"') == 1 and "Pending Corp" in section
    for hidden in ("Declined Corp", "Granted Corp", "Unasked Corp", "reason text."):
        assert hidden not in section


def test_statements_do_not_grow_with_requests(app, client_as, channel, db):
    engine = app.extensions["db"].engine
    client = client_as(channel["manager"])
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    def statements() -> int:
        seen.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            page = client.get("/deals/review")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert page.status_code == 200
        return len(seen), page.get_data(as_text=True).count('data-testid="extension-request"')

    for n in range(2):
        ask(app, channel, approved(app, channel, customer=f"Few{n} Corp"))
    few, rows = statements()
    assert rows == 2
    for n in range(8):
        who = "silver_admin" if n % 2 else "gold_admin"
        ask(app, channel, approved(app, channel, who, customer=f"Many{n} Corp"), who=who)
    many, rows = statements()
    assert rows == 10 and many == few
