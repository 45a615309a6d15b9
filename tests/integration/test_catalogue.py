"""The catalogue pages: products, quantity breaks and configuration rules, who may change them,
clear messages for bad input, and optimistic locking."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from partners.catalogue.models import Product
from tests.integration.test_quotes import client_for

PRODUCT = {
    "sku": "fw-100",
    "name": "Firewall 100",
    "unit": "unit",
    "list_price": "1234.50",
    "currency": "EUR",
    "tax_rate_percent": "20",
    "product_line": "security",
    "min_quantity": "",
    "max_quantity": "10",
    "active": "y",
}


@pytest.fixture
def staff(db, vendor, org_factory, user_factory):
    partner = org_factory("reseller", name="Catalogue Reseller")
    return {
        "manager": user_factory(vendor, "channel_manager"),
        "sales": user_factory(vendor, "sales_rep"),
        "partner": user_factory(partner, "partner_admin"),
    }


def create(client, **overrides) -> int:
    response = client.post("/catalogue/new", data={**PRODUCT, **overrides})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return int(response.headers["Location"].split("/")[-2])


def test_a_channel_manager_adds_a_product_with_breaks_and_rules(app, db, staff):
    manager = client_for(app, staff["manager"])
    fw = create(manager)
    lic = create(manager, sku="LIC-1", name="Licence", max_quantity="")
    product = db.get(Product, fw)
    assert product.sku == "FW-100" and product.list_price == Decimal("1234.50")
    assert product.max_quantity == 10 and product.min_quantity is None
    assert (
        manager.post(
            f"/catalogue/{fw}/breaks", data={"min_quantity": 5, "unit_price": "1100"}
        ).status_code
        == 302
    )
    assert (
        manager.post(
            f"/catalogue/{fw}/rules", data={"kind": "requires", "other_sku": "lic-1"}
        ).status_code
        == 302
    )
    db.expire_all()
    product = db.get(Product, fw)
    assert [(b.min_quantity, b.unit_price) for b in product.breaks] == [(5, Decimal("1100"))]
    assert [(r.kind, r.other_product_id) for r in product.rules] == [("requires", lic)]
    listing = manager.get("/catalogue/").get_data(as_text=True)
    assert "requires LIC-1" in listing and "5+: 1,100.00" in listing
    manager.post(f"/catalogue/{fw}/remove-rule", data={"rule_id": product.rules[0].id})
    db.expire_all()
    assert db.get(Product, fw).rules == []


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("rules", {"kind": "requires", "other_sku": "NOPE"}, "No product has the SKU NOPE"),
        ("rules", {"kind": "excludes", "other_sku": "FW-100"}, "cannot have a rule about itself"),
        ("breaks", {"min_quantity": 1, "unit_price": "5"}, "Number must be between 2"),
    ],
)
def test_bad_rules_and_breaks_get_a_clear_message(app, db, staff, path, data, message):
    manager = client_for(app, staff["manager"])
    fw = create(manager)
    response = manager.post(f"/catalogue/{fw}/{path}", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_a_duplicate_sku_or_an_upside_down_range_is_refused(app, db, staff):
    manager = client_for(app, staff["manager"])
    create(manager)
    again = manager.post("/catalogue/new", data={**PRODUCT, "sku": "FW-100 "})
    assert again.status_code == 422 and "Another product has the SKU FW-100" in again.get_data(
        as_text=True
    )
    upside = manager.post("/catalogue/new", data={**PRODUCT, "sku": "X", "min_quantity": "20"})
    assert upside.status_code == 422
    assert "The minimum quantity is above the maximum." in upside.get_data(as_text=True)
    assert db.scalars(select(Product.sku)).all() == ["FW-100"]


def test_only_catalogue_managers_change_it(app, db, staff):
    fw = create(client_for(app, staff["manager"]))
    sales = client_for(app, staff["sales"])
    assert sales.get("/catalogue/").status_code == 200  # vendor staff read it
    assert sales.get(f"/catalogue/{fw}/edit").status_code == 403
    assert sales.post("/catalogue/new", data=PRODUCT).status_code == 403
    partner = client_for(app, staff["partner"])
    assert partner.get("/catalogue/").status_code == 403


def test_two_people_editing_one_product_the_second_is_told(app, db, staff):
    first, second = client_for(app, staff["manager"]), client_for(app, staff["manager"])
    fw = create(first)

    def snapshot_of(client):
        page = client.get(f"/catalogue/{fw}/edit").get_data(as_text=True)
        return re.search(r'name="snapshot" type="hidden" value="([^"]+)"', page).group(1)

    one, two = snapshot_of(first), snapshot_of(second)
    assert (
        first.post(
            f"/catalogue/{fw}/edit", data={**PRODUCT, "list_price": "1500", "snapshot": one}
        ).status_code
        == 302
    )
    response = second.post(
        f"/catalogue/{fw}/edit", data={**PRODUCT, "list_price": "999", "snapshot": two}
    )
    assert response.status_code == 409 and "Someone else changed this" in response.get_data(
        as_text=True
    )
    db.expire_all()
    assert db.get(Product, fw).list_price == Decimal("1500")
