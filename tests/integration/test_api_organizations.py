"""Organisations through the API for the vendor admin: the list with the admin page's filters
(``organizations:read``), and changes (``organizations:write``) through the same services as the
admin pages, audited, idempotent; refusals are problems that change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.audit import AuditEvent
from portal.identity.models import Organization, UserSession
from tests.integration.oauth_support import assert_problem, bearer, cc_token, make_api_client
from tests.integration.test_api_articles import assert_insufficient_scope, user_token
from tests.unchanged import unchanged

RW = "organizations:read organizations:write"


def service_token(client, db, org, role: str, scopes: str = RW) -> dict:
    api_client = make_api_client(db, org, scopes=scopes, service_role=role)
    return bearer(cc_token(client, api_client, scopes)["access_token"])


@pytest.fixture
def orgs(db, vendor, org_factory, user_factory):
    w = {
        "vendor": vendor,
        "reseller": org_factory("reseller", name="Api Reseller"),
        "distributor": org_factory("distributor", name="Api Distributor"),
        "supplier": org_factory(
            "supplier", name="Api Supplier", supplier_relationship="partnership"
        ),
        "other_supplier": org_factory(
            "supplier", name="Api Other Supplier", supplier_relationship="buy_the_market"
        ),
    }
    w["customer"] = org_factory("customer", name="Api Customer", managed_by_id=w["reseller"].id)
    w["admin"] = user_factory(vendor, "vendor_admin")
    w["sales"] = user_factory(vendor, "sales_rep")
    w["partner_admin"] = user_factory(w["reseller"], "partner_admin")
    return w


def names(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {o["name"] for o in response.get_json()["items"]}


def test_the_list_filters_as_the_admin_page(client, db, orgs):
    headers = service_token(client, db, orgs["vendor"], "vendor_admin", "organizations:read")
    suppliers = client.get("/api/v1/organizations?kind=supplier&limit=100", headers=headers)
    assert names(suppliers) == {"Api Supplier", "Api Other Supplier"}
    partnership = client.get(
        "/api/v1/organizations?relationship=partnership&limit=100", headers=headers
    )
    assert names(partnership) == {"Api Supplier"}
    assert partnership.get_json()["items"][0]["supplier_relationship"] == "partnership"
    assert names(client.get("/api/v1/organizations?q=api%20dist", headers=headers)) == {
        "Api Distributor"
    }
    problem = assert_problem(client.get("/api/v1/organizations?kind=alien", headers=headers), 422)
    assert any("kind" in e["loc"] for e in problem["errors"])
    # A partner's token: the wall still decides which organisations there are to filter.
    partner = user_token(db, orgs["partner_admin"], "organizations:read")
    assert names(client.get("/api/v1/organizations?kind=customer", headers=partner)) == {
        "Api Customer"
    }
    assert names(client.get("/api/v1/organizations?kind=supplier", headers=partner)) == set()


def test_the_vendor_admin_changes_an_organisation(client, db, orgs):
    headers = service_token(client, db, orgs["vendor"], "vendor_admin")
    customer, distributor = orgs["customer"], orgs["distributor"]
    changed = client.patch(
        f"/api/v1/organizations/{orgs['reseller'].id}",
        json={"name": "Api Reseller Renamed", "managed_by_id": distributor.id},
        headers=headers | {"Idempotency-Key": "rename-1"},
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    body = changed.get_json()
    assert (body["name"], body["managed_by_id"], body["kind"]) == (
        "Api Reseller Renamed", distributor.id, "reseller",
    )  # fmt: skip
    stored = db.get(Organization, orgs["reseller"].id)
    db.refresh(stored)
    assert (stored.name, stored.managed_by_id) == ("Api Reseller Renamed", distributor.id)
    updated = (
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "organization.updated")
    )
    assert db.scalar(updated) == 1
    replay = client.patch(
        f"/api/v1/organizations/{orgs['reseller'].id}",
        json={"name": "Api Reseller Renamed", "managed_by_id": distributor.id},
        headers=headers | {"Idempotency-Key": "rename-1"},
    )
    assert replay.headers["Idempotent-Replayed"] == "true" and db.scalar(updated) == 1
    # Left out: kept. Deactivating signs its people out (the admin page's service).
    off = client.patch(f"/api/v1/organizations/{customer.id}", json={"active": False},
                       headers=headers)  # fmt: skip
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert off.get_json()["name"] == "Api Customer"
    assert off.get_json()["managed_by_id"] == orgs["reseller"].id
    manager = client.patch(
        f"/api/v1/organizations/{customer.id}",
        json={"account_manager_id": orgs["sales"].id},
        headers=headers,
    )
    assert manager.get_json()["account_manager_id"] == orgs["sales"].id
    supplier = client.patch(
        f"/api/v1/organizations/{orgs['supplier'].id}",
        json={"supplier_relationship": "strategic_alliance"},
        headers=headers,
    )
    assert supplier.get_json()["supplier_relationship"] == "strategic_alliance"


def test_invalid_changes_are_422_naming_the_field_and_change_nothing(client, db, orgs):
    headers = service_token(client, db, orgs["vendor"], "vendor_admin")
    reseller = orgs["reseller"]
    url = f"/api/v1/organizations/{reseller.id}"
    with unchanged(db, reseller, counted=[AuditEvent, UserSession]):
        for body, field in (
            ({"name": "Api Supplier"}, "name"),  # another organisation's name
            ({"name": ""}, "name"),
            ({"name": None}, "name"),
            ({"tier": "mythril"}, "tier"),
            ({"managed_by_id": orgs["customer"].id}, "managed_by_id"),
            ({"supplier_relationship": "partnership"}, "supplier_relationship"),
            ({"supplier_relationship": "friends"}, "supplier_relationship"),
            ({"account_manager_id": orgs["partner_admin"].id}, "account_manager_id"),
            ({"active": "no"}, "active"),
            ({"colour": "red"}, "colour"),
            # Valid fields first, then an invalid one: nothing of the request is kept.
            ({"name": "Half Renamed", "account_manager_id": orgs["admin"].id + 10_000},
             "account_manager_id"),
        ):  # fmt: skip
            problem = assert_problem(client.patch(url, json=body, headers=headers), 422)
            assert any(field in e["loc"] for e in problem.get("errors", [])), (body, problem)


def test_refusals_change_nothing(client, db, orgs):
    reseller, vendor = orgs["reseller"], orgs["vendor"]
    url = f"/api/v1/organizations/{reseller.id}"
    read_only = service_token(client, db, vendor, "vendor_admin", "organizations:read")
    sales = user_token(db, orgs["sales"], RW)
    partner = user_token(db, orgs["partner_admin"], RW)
    admin = service_token(client, db, vendor, "vendor_admin")
    with unchanged(db, reseller, vendor, counted=[AuditEvent]):
        assert_insufficient_scope(
            client.patch(url, json={"name": "Nope"}, headers=read_only), "organizations:write"
        )
        # Roles without orgs.manage: 403 whatever the id (a partner's own organisation too).
        for headers in (sales, partner):
            assert_problem(client.patch(url, json={"name": "Nope"}, headers=headers), 403)
            assert_problem(
                client.patch("/api/v1/organizations/987654321", json={}, headers=headers), 403
            )
        assert_problem(
            client.patch("/api/v1/organizations/987654321", json={"name": "X"}, headers=admin),
            404,
        )
        vendor_change = client.patch(
            f"/api/v1/organizations/{vendor.id}", json={"name": "Renamed vendor"}, headers=admin
        )
        assert_problem(vendor_change, 403)
        assert_insufficient_scope(
            client.get(
                "/api/v1/organizations", headers=user_token(db, orgs["sales"], "ideas:read")
            ),
            "organizations:read",
        )
