"""Two tiers, quotes: vendor staff address a quote to a reseller through its distributor; the
quote names the distributor (page and PDF), the distributor is told when it is sent and reads
it, and only the reseller answers it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from partners.catalogue.models import Product
from partners.quotes.models import Quote
from portal.notify.models import Notification
from tests.integration.test_quotes import add, new_quote, seen
from tests.unchanged import fresh, unchanged


@pytest.fixture
def scene(db, vendor, org_factory, user_factory):
    class Scene:
        distributor = org_factory("distributor", name="Quote Path Distribution")

    Scene.reseller = org_factory(
        "reseller", name="Quote Path Reseller", managed_by_id=Scene.distributor.id
    )
    Scene.loose = org_factory("reseller", name="Unattached Reseller")
    Scene.distributor_user = user_factory(Scene.distributor, "partner_user")
    Scene.reseller_user = user_factory(Scene.reseller, "partner_admin")
    Scene.manager = user_factory(vendor, "channel_manager")
    db.add(Product(sku="PSU-1", name="Power supply", list_price=Decimal("99.99"), currency="EUR"))
    db.flush()
    return Scene


def test_a_quote_goes_to_a_reseller_through_its_distributor(client_as, db, scene):
    vendor = client_as(scene.manager)
    quote_id = new_quote(vendor, scene.reseller, through_distributor="y")
    assert fresh(db).get(Quote, quote_id).via_org_id == scene.distributor.id
    assert add(vendor, quote_id, "PSU-1", 2).status_code == 302
    sent = vendor.post(f"/quotes/{quote_id}/send", data={"snapshot": seen(vendor, quote_id)})
    assert sent.status_code == 302
    told = db.scalars(
        select(Notification.title).where(Notification.user_id == scene.distributor_user.id)
    ).all()
    assert any("through you" in title for title in told)
    distributor = client_as(scene.distributor_user)
    page = distributor.get(f"/quotes/{quote_id}").get_data(as_text=True)
    assert "Quote Path Distribution" in page and "Accept the quote" not in page
    assert fresh(db).get(Quote, quote_id).status == "sent"  # the distributor's look is no view
    quote = db.get(Quote, quote_id)
    with unchanged(db, quote):
        refused = distributor.post(f"/quotes/{quote_id}/decline", data={"reason": "no"})
    assert refused.status_code in (403, 404)
    listing = distributor.get("/quotes/").get_data(as_text=True)
    assert "Quote Path Reseller" in listing  # the recipient named on its list
    reseller = client_as(scene.reseller_user)
    page = reseller.get(f"/quotes/{quote_id}").get_data(as_text=True)
    assert 'data-testid="quote-via"' in page and "Quote Path Distribution" in page
    assert "Accept the quote" in page


def test_only_an_attached_reseller_is_quoted_through_a_distributor(client_as, db, scene):
    vendor = client_as(scene.manager)
    count = db.scalar(select(Quote.id).order_by(Quote.id.desc()).limit(1))
    response = vendor.post(
        "/quotes/new",
        data={
            "recipient": scene.loose.id,
            "currency": "EUR",
            "valid_until": "2099-01-01",
            "through_distributor": "y",
        },
    )
    assert response.status_code == 422
    assert "Unattached Reseller is attached to no distributor." in response.get_data(as_text=True)
    assert db.scalar(select(Quote.id).order_by(Quote.id.desc()).limit(1)) == count
