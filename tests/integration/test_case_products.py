"""Case products are products (issue 14, item 5): a case refers to a catalogue product (its line
goes with it) or a product line, chosen from a select of the lines and the active products by
line, in the pages and the API alike; an unknown or withdrawn product, or a line that is not the
product's, is refused with a reason and nothing is written; the requester's own words stay
beside it; the case page and lists name the product or line; the demo's cases name real
products."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.audit import AuditEvent
from selfservice.cases.models import Case
from tests.factories import make_case, make_product
from tests.integration.test_cases import EDIT_SNAPSHOT, load, make_people, open_case
from tests.isolation.kinds_leads import bearer_for
from tests.unchanged import unchanged

SCOPES = "cases:read cases:write"


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    return make_people(vendor, org_factory, user_factory)


@pytest.fixture
def catalogue(db):
    """Two networking products, a security one, one outside the portal's lines, a withdrawn one."""

    class Catalogue:
        switch = make_product(db, sku="NW-CORE-48", name="Core switch, 48 ports")
        access_point = make_product(db, sku="NW-AP7", name="Wi-Fi 7 access point")
        firewall = make_product(
            db, sku="SEC-FW-200", name="Firewall appliance 200", product_line="security"
        )
        cable = make_product(db, sku="MISC-1", name="Cable kit", product_line="")
        old = make_product(db, sku="NW-OLD-1", name="Legacy router", active=False)

    return Catalogue


def cases(db) -> int:
    return db.scalar(select(func.count()).select_from(Case))


def options(html: str) -> list[tuple[str, str]]:
    """(optgroup label, option value) of the product select, in order ("" outside a group)."""
    select_html = re.search(r'<select[^>]*name="product"[^>]*>(.*?)</select>', html, re.S).group(1)
    found, group = [], ""
    for tag in re.finditer(r'<optgroup label="([^"]*)">|</optgroup>|<option[^>]*value="([^"]*)"',
                           select_html):  # fmt: skip
        if tag.group(0) == "</optgroup>":
            group = ""
        elif tag.group(1) is not None:
            group = tag.group(1)
        else:
            found.append((group, tag.group(2)))
    return found


def test_the_form_offers_each_line_with_its_active_products(client_as, people, catalogue):
    html = client_as(people.customer_user).get("/cases/new").get_data(as_text=True)
    c = catalogue
    assert options(html) == [
        ("", ""),
        ("Networking", "line:networking"),
        ("Networking", f"product:{c.switch.id}"),
        ("Networking", f"product:{c.access_point.id}"),
        ("Security", "line:security"),
        ("Security", f"product:{c.firewall.id}"),
        ("Cloud", "line:cloud"),
        ("Collaboration", "line:collaboration"),
        ("Storage", "line:storage"),
        ("Services", "line:services"),
        ("Other products", f"product:{c.cable.id}"),
    ]  # the withdrawn product is not offered; products by name within their line
    assert "Core switch, 48 ports (NW-CORE-48)" in html
    assert 'name="product_details"' in html


def test_a_case_on_a_product_takes_its_line_and_shows_both(client_as, db, people, catalogue):
    case_id = open_case(
        client_as,
        people.customer_user,
        product=f"product:{catalogue.firewall.id}",
        product_details="firmware 7.2",
    )
    case = load(db, case_id)
    assert (case.product_id, case.product_line, case.product) == (
        catalogue.firewall.id,
        "security",
        "firmware 7.2",
    )
    page = client_as(people.customer_user).get(f"/cases/{case_id}").get_data(as_text=True)
    shown = re.search(r'data-testid="product">(.*?)</dd>', page, re.S).group(1)
    assert "Firewall appliance 200" in shown and "SEC-FW-200" in shown and "Security" in shown
    assert "In the requester's words: firmware 7.2" in shown
    listed = client_as(people.customer_user).get("/cases/").get_data(as_text=True)
    assert "Firewall appliance 200" in listed
    (opened,) = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "case.opened", AuditEvent.object_id == case_id
        )
    ).all()
    assert (opened.after["product_id"], opened.after["product_line"]) == (
        catalogue.firewall.id,
        "security",
    )


def test_a_line_alone_and_words_that_name_a_product(client_as, db, people, catalogue):
    on_line = load(db, open_case(client_as, people.customer_user, product="line:cloud"))
    assert (on_line.product_id, on_line.product_line) == (None, "cloud")
    page = client_as(people.customer_user).get(f"/cases/{on_line.id}").get_data(as_text=True)
    assert re.search(r'data-testid="product">\s*Cloud\s*</dd>', page)
    # Nothing chosen, the words exactly a product's SKU: that product (and they are not repeated).
    named = load(
        db,
        open_case(
            client_as, people.customer_user, subject="Access point", product_details="nw-ap7"
        ),
    )
    assert (named.product_id, named.product_line) == (catalogue.access_point.id, "networking")
    assert named.product_words == ""
    nothing = load(db, open_case(client_as, people.customer_user, subject="Invoice"))
    assert (nothing.product_id, nothing.product_line, nothing.product) == (None, None, "")
    listed = client_as(people.agent).get("/cases/queue").get_data(as_text=True)
    assert "Cloud" in listed and "Wi-Fi 7 access point" in listed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("product:{old}", "Legacy router is no longer offered: choose an active product, or its "
                          "product line."),
        ("product:987654", "Choose a product of the catalogue: none has the id 987654."),
        ("product:x", "Choose a product of the catalogue: none has the id 0."),
        ("line:printers", "Choose a product line from the list (networking, security, cloud, "
                          "collaboration, storage, services)."),
    ],
)  # fmt: skip
def test_an_unknown_or_withdrawn_choice_is_refused_with_its_reason(
    client_as, db, people, catalogue, value, message
):
    client = client_as(people.customer_user)
    with unchanged(db, counted=[Case]):
        response = client.post(
            "/cases/new",
            data={"subject": "Router dead", "description": "Kept QXW", "priority": "normal",
                  "product": value.format(old=catalogue.old.id)},
        )  # fmt: skip
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message.replace("'", "&#39;") in html and "Kept QXW" in html


def test_an_agent_moves_a_case_between_products_and_lines(client_as, db, people, catalogue):
    # On a product withdrawn since it was opened (opening on it now is refused) ...
    case = make_case(db, people.customer, people.customer_user, "Old router",
                     product_id=catalogue.old.id, product_line="networking")  # fmt: skip
    case_id = case.id
    agent = client_as(people.agent)

    def edit(value):
        page = agent.get(f"/cases/{case_id}").get_data(as_text=True)
        return agent.post(
            f"/cases/{case_id}/edit",
            data={"priority": "normal", "product": value, "category": "", "assignee_id": 0,
                  "snapshot": EDIT_SNAPSHOT.search(page).group(1)},
        )  # fmt: skip

    # ... but a case already on it keeps it: its edit form offers it, and saving keeps it.
    page = agent.get(f"/cases/{case_id}").get_data(as_text=True)
    assert ("Networking", f"product:{catalogue.old.id}") in options(page)
    assert re.search(rf'<option selected value="product:{catalogue.old.id}"', page) or re.search(
        rf'<option value="product:{catalogue.old.id}" selected', page
    )
    assert edit(f"product:{catalogue.old.id}").status_code == 302
    assert load(db, case_id).product_id == catalogue.old.id
    assert edit(f"product:{catalogue.firewall.id}").status_code == 302
    assert (load(db, case_id).product_id, load(db, case_id).product_line) == (
        catalogue.firewall.id,
        "security",
    )
    assert edit("line:storage").status_code == 302
    assert (load(db, case_id).product_id, load(db, case_id).product_line) == (None, "storage")
    with unchanged(db, (Case, case_id)):
        refused = edit(f"product:{catalogue.old.id}")  # once left, a withdrawn one is refused
    assert refused.status_code == 422
    assert "Legacy router is no longer offered" in refused.get_data(as_text=True)
    assert edit("").status_code == 302
    assert (load(db, case_id).product_id, load(db, case_id).product_line) == (None, None)
    edited = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "case.edited", AuditEvent.object_id == case_id)
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.after["product_id"], e.after["product_line"]) for e in edited] == [
        (catalogue.old.id, "networking"),
        (catalogue.firewall.id, "security"),
        (None, "storage"),
        (None, None),
    ]


def test_the_api_takes_and_gives_the_product_and_line(app, db, people, catalogue):
    client = app.test_client()
    headers = bearer_for(db, people.customer_user, SCOPES)
    body = {"subject": "From our ERP", "description": "Sync fails"}
    on_product = client.post(
        "/api/v1/cases", json={**body, "product_id": catalogue.switch.id}, headers=headers
    )
    assert on_product.status_code == 201, on_product.get_data(as_text=True)
    assert {k: on_product.get_json()[k] for k in ("product_id", "product_line", "product")} == {
        "product_id": catalogue.switch.id,
        "product_line": "networking",
        "product": "",
    }
    same_line = client.post(
        "/api/v1/cases",
        json={**body, "product_id": catalogue.switch.id, "product_line": "networking"},
        headers=headers,
    )
    assert same_line.status_code == 201
    on_line = client.post(
        "/api/v1/cases", json={**body, "product_line": "storage", "product": "shelf 2"},
        headers=headers,
    )  # fmt: skip
    assert (on_line.get_json()["product_id"], on_line.get_json()["product_line"]) == (
        None,
        "storage",
    )
    # A client of before: the product in words that are a product's name.
    words = client.post(
        "/api/v1/cases", json={**body, "product": "Firewall appliance 200"}, headers=headers
    )
    assert (words.get_json()["product_id"], words.get_json()["product_line"]) == (
        catalogue.firewall.id,
        "security",
    )
    detail = client.get(f"/api/v1/cases/{on_line.get_json()['id']}", headers=headers).get_json()
    assert (detail["product_id"], detail["product_line"], detail["product"]) == (
        None,
        "storage",
        "shelf 2",
    )
    listed = client.get("/api/v1/cases", headers=headers).get_json()["items"]
    assert {c["product_line"] for c in listed} == {"networking", "storage", "security"}


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"product_id": "old"}, "Legacy router is no longer offered"),
        ({"product_id": 987654}, "none has the id 987654"),
        ({"product_id": "switch", "product_line": "security"},
         "Core switch, 48 ports belongs to the product line networking: give that line, or none."),
        ({"product_line": "printers"}, "Input should be 'networking', 'security'"),
        ({"product_id": "12"}, "product_id"),
    ],
)  # fmt: skip
def test_the_api_refuses_a_bad_product_with_its_reason(app, db, people, catalogue, fields, detail):
    client = app.test_client()
    headers = bearer_for(db, people.customer_user, SCOPES)
    named = {"old": catalogue.old.id, "switch": catalogue.switch.id}
    fields = {k: named.get(v, v) if k == "product_id" else v for k, v in fields.items()}
    with unchanged(db, counted=[Case]):
        response = client.post(
            "/api/v1/cases",
            json={"subject": "Router dead", "description": "Sync fails", **fields},
            headers=headers,
        )
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert detail in response.get_data(as_text=True)


def test_the_api_document_describes_the_product_fields(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    case_in = next(s for name, s in schemas.items() if name.startswith("CaseIn"))
    case_out = next(s for name, s in schemas.items() if name.startswith("CaseOut"))
    assert {"product_id", "product_line", "product"} <= set(case_in["properties"])
    assert {"product_id", "product_line", "product"} <= set(case_out["properties"])
    line = case_in["properties"]["product_line"]
    codes = [v for option in line.get("anyOf", [line]) for v in option.get("enum", [])]
    assert codes == ["networking", "security", "cloud", "collaboration", "storage", "services"]


def test_the_demo_cases_name_real_products_and_lines():
    from partners.quotes.seed import PRODUCTS
    from portal.product_lines import PRODUCT_LINES
    from selfservice.cases.seed import DEMO_CASES, PAST_CASES

    skus = {row[0] for row in PRODUCTS}
    named = {case[3] for case in DEMO_CASES + PAST_CASES} - {""}
    assert named <= skus | set(PRODUCT_LINES)
    assert named & skus and named & set(PRODUCT_LINES)  # both kinds are shown
