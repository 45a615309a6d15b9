"""The catalogue pages: products, quantity breaks and configuration rules, who may change them,
clear messages for bad input, and optimistic locking."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from partners.catalogue.models import PriceBreak, Product, ProductRule
from tests.unchanged import unchanged

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


def test_a_channel_manager_adds_a_product_with_breaks_and_rules(client_as, db, staff):
    manager = client_as(staff["manager"])
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
    assert "requires LIC-1" in listing and "5+: €1,100.00" in listing
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
def test_bad_rules_and_breaks_get_a_clear_message(client_as, db, staff, path, data, message):
    manager = client_as(staff["manager"])
    fw = create(manager)
    with unchanged(db, (Product, fw), counted=[Product, ProductRule, PriceBreak]):
        response = manager.post(f"/catalogue/{fw}/{path}", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_a_duplicate_sku_or_an_upside_down_range_is_refused(client_as, db, staff):
    manager = client_as(staff["manager"])
    create(manager)
    with unchanged(db, counted=[Product]):
        again = manager.post("/catalogue/new", data={**PRODUCT, "sku": "FW-100 "})
    assert again.status_code == 422 and "Another product has the SKU FW-100" in again.get_data(
        as_text=True
    )
    with unchanged(db, counted=[Product]):
        upside = manager.post("/catalogue/new", data={**PRODUCT, "sku": "X", "min_quantity": "20"})
    assert upside.status_code == 422
    assert "The minimum quantity is above the maximum." in upside.get_data(as_text=True)
    assert db.scalars(select(Product.sku)).all() == ["FW-100"]


def test_only_catalogue_managers_change_it(client_as, db, staff):
    fw = create(client_as(staff["manager"]))
    sales = client_as(staff["sales"])
    assert sales.get("/catalogue/").status_code == 200  # vendor staff read it
    with unchanged(db, (Product, fw), counted=[Product, ProductRule, PriceBreak]):
        assert sales.get(f"/catalogue/{fw}/edit").status_code == 403
        assert sales.post("/catalogue/new", data=PRODUCT).status_code == 403
        partner = client_as(staff["partner"])
        assert partner.get("/catalogue/").status_code == 403


def test_two_people_editing_one_product_the_second_is_told(client_as, db, staff):
    first, second = client_as(staff["manager"]), client_as(staff["manager"])
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
    with unchanged(db, (Product, fw)):
        response = second.post(
            f"/catalogue/{fw}/edit", data={**PRODUCT, "list_price": "999", "snapshot": two}
        )
    assert response.status_code == 409 and "Someone else changed this" in response.get_data(
        as_text=True
    )
    db.expire_all()
    assert db.get(Product, fw).list_price == Decimal("1500")


def upload(client, text: str | bytes):
    from io import BytesIO

    data = text if isinstance(text, bytes) else text.encode()
    return client.post(
        "/catalogue/import",
        data={"file": (BytesIO(data), "products.csv")},
        content_type="multipart/form-data",
    )


GOOD_CSV = (
    "sku,name,list_price,currency,tax_rate_percent,min_quantity,max_quantity,requires,excludes,"
    "breaks\n"
    """SW-1,Switch,1000,EUR,20,,40,PSU-1,,10:900; 50:800
PSU-1,Power supply,99.99,EUR,20,,,,,
LIC-A,Licence A,250,EUR,0,,,,LIC-B,
LIC-B,Licence B,400,EUR,0,,,,,
"""
)


def test_a_csv_import_adds_products_with_rules_and_breaks(client_as, db, staff):
    manager = client_as(staff["manager"])
    response = upload(manager, GOOD_CSV)
    assert response.status_code == 302
    db.expire_all()
    products = {p.sku: p for p in db.scalars(select(Product))}
    assert set(products) == {"SW-1", "PSU-1", "LIC-A", "LIC-B"}
    switch = products["SW-1"]
    assert switch.max_quantity == 40 and switch.list_price == Decimal("1000")
    assert [(b.min_quantity, b.unit_price) for b in switch.breaks] == [
        (10, Decimal("900")),
        (50, Decimal("800")),
    ]
    assert [(r.kind, r.other.sku) for r in switch.rules] == [("requires", "PSU-1")]
    assert [(r.kind, r.other.sku) for r in products["LIC-A"].rules] == [("excludes", "LIC-B")]
    # Again, with a new price: updated, not duplicated.
    changed = GOOD_CSV.replace("Switch,1000", "Switch,1100").replace("50:800", "60:750")
    assert upload(manager, changed).status_code == 302
    db.expire_all()
    switch = db.scalar(select(Product).where(Product.sku == "SW-1"))
    assert switch.list_price == Decimal("1100")
    assert [(b.min_quantity, b.unit_price) for b in switch.breaks] == [
        (10, Decimal("900")),
        (60, Decimal("750")),
    ]
    assert len(db.scalars(select(Product)).all()) == 4


def test_a_csv_with_errors_imports_nothing_and_lists_every_error(client_as, db, staff):
    bad = """sku,name,list_price,currency,requires
OK-1,Fine,10,EUR,
BAD-1,Bad price,ten,EUR,
BAD-2,Bad currency,10,XXX,
OK-1,Twice,10,EUR,
BAD-3,Needs a ghost,10,EUR,GHOST-9
"""
    manager = client_as(staff["manager"])
    with unchanged(db, counted=[Product, ProductRule]):
        response = upload(manager, bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was imported: 4 lines have errors." in page
    for line, message in [
        (3, "The list price is a number from 0."),
        (4, "Choose a currency from the list."),
        (5, "SKU OK-1 is on line 2 too."),
        (6, "requires GHOST-9: no such product."),
    ]:
        assert f"Line {line}: {message}" in page
    assert db.scalars(select(Product)).all() == []
    with unchanged(db, counted=[Product]):
        unknown = upload(manager, "sku,name,price\nX,Y,1\n")
    assert unknown.status_code == 422
    assert "Unknown columns: price." in unknown.get_data(as_text=True)
    assert "Missing columns: currency, list_price." in unknown.get_data(as_text=True)
    with unchanged(db, counted=[Product]):
        assert upload(client_as(staff["sales"]), GOOD_CSV).status_code == 403


def test_a_csv_import_reads_what_spreadsheets_write_and_refuses_the_rest_clearly(
    client_as, db, staff
):
    """Semicolons and a byte-order mark (Excel in much of Europe) import; a file that is not
    UTF-8 or too large gets the same messages as the leads' import (portal.csv_upload)."""
    manager = client_as(staff["manager"])
    semicolons = "\ufeffsku;name;list_price;currency\nSW-9;Switch;1000;EUR\n"
    assert upload(manager, semicolons).status_code == 302
    assert db.scalar(select(Product.name).where(Product.sku == "SW-9")) == "Switch"
    with unchanged(db, counted=[Product]):
        latin1 = upload(
            manager, "sku,name,list_price,currency\nM-1,Müller,1,EUR\n".encode("latin-1")
        )
    assert latin1.status_code == 422
    assert "The file is not UTF-8 text (byte 34)" in latin1.get_data(as_text=True)
    with unchanged(db, counted=[Product]):
        huge = upload(manager, "sku,name,list_price,currency\n" + "x" * (2 * 2**20))
    assert huge.status_code == 422
    assert "The file is larger than 2 MB." in huge.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Product)) == 1
