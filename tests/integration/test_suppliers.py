"""Suppliers (issue 15, item 4): each has a relationship type, chosen by vendor admins in the
organisation form, shown on its page, a filter of the organisation list (and its export) and a
segment criterion; suppliers share leads; and the navigation offers every kind of organisation
only pages its people may use."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from partners.leads.models import Lead, SharedLead
from portal import access, navigation
from portal.audit import AuditEvent
from portal.identity.models import SUPPLIER_RELATIONSHIPS, Organization
from portal.identity.queries import SUPPLIER_RELATIONSHIP_LABELS
from portal.segments import queries as segments
from portal.tenancy import Principal
from tests.factories import make_org, make_user
from tests.isolation.kinds_leads import acting_as
from tests.unchanged import unchanged


@pytest.fixture
def admin(vendor, user_factory):
    return user_factory(vendor, access.VENDOR_ADMIN)


def test_every_relationship_has_a_label():
    assert list(SUPPLIER_RELATIONSHIP_LABELS) == list(SUPPLIER_RELATIONSHIPS)


def test_a_vendor_admin_creates_a_supplier_with_its_relationship(client_as, db, admin):
    browser = client_as(admin)
    form = browser.get("/admin/organizations/new").get_data(as_text=True)
    assert "Supplier relationship" in form and "Strategic alliance" in form
    response = browser.post(
        "/admin/organizations/new",
        data={
            "name": "Granular Chips GmbH",
            "kind": "supplier",
            "supplier_relationship": "strategic_alliance",
            "admin_name": "Gina Chips",
            "admin_email": "gina@granular.test",
        },
    )
    assert response.status_code == 302
    org = db.scalar(select(Organization).where(Organization.name == "Granular Chips GmbH"))
    assert org.supplier_relationship == "strategic_alliance"
    created = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "organization.created", AuditEvent.object_id == org.id
        )
    )
    assert created.after["supplier_relationship"] == "strategic_alliance"
    page = browser.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert 'data-testid="supplier-relationship">Strategic alliance<' in page


def test_editing_changes_the_relationship_audited(client_as, db, admin):
    org = make_org(db, "supplier", name="Ferrous Supply", supplier_relationship="buy_the_market")
    browser = client_as(admin)
    response = browser.post(
        f"/admin/organizations/{org.id}/edit",
        data={"name": "Ferrous Supply", "supplier_relationship": "partnership"},
    )
    assert response.status_code == 302
    db.expire_all()
    assert org.supplier_relationship == "partnership"
    event = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "organization.updated", AuditEvent.object_id == org.id
        )
    )
    assert (event.before["supplier_relationship"], event.after["supplier_relationship"]) == (
        "buy_the_market",
        "partnership",
    )
    # The organisation page of a supplier shows it; a supplier reads its own.
    supplier_admin = make_user(db, org, access.PARTNER_ADMIN)
    own = client_as(supplier_admin).get(f"/organizations/{org.id}").get_data(as_text=True)
    assert "Partnership" in own


def test_only_a_supplier_has_a_relationship(client_as, db, admin):
    reseller = make_org(db, "reseller", name="Plain Reseller")
    browser = client_as(admin)
    # The edit form of a reseller has no such field, and the service refuses one anyway.
    assert "Supplier relationship" not in browser.get(
        f"/admin/organizations/{reseller.id}/edit"
    ).get_data(as_text=True)
    with unchanged(db, counted=[Organization]):
        response = browser.post(
            "/admin/organizations/new",
            data={
                "name": "Customer With Ideas",
                "kind": "customer",
                "supplier_relationship": "partnership",
                "admin_name": "C",
                "admin_email": "c@ideas.test",
            },
        )
        assert response.status_code == 422
        assert "Only a supplier has a supplier relationship." in response.get_data(as_text=True)
        unknown = browser.post(
            "/admin/organizations/new",
            data={
                "name": "Odd Supplier",
                "kind": "supplier",
                "supplier_relationship": "friends",
                "admin_name": "O",
                "admin_email": "o@odd.test",
            },
        )
        assert unknown.status_code == 422


def test_the_organisation_list_and_its_export_filter_by_relationship(client_as, db, admin):
    make_org(db, "supplier", name="Alliance Metals", supplier_relationship="strategic_alliance")
    make_org(db, "supplier", name="Market Bolts", supplier_relationship="buy_the_market")
    browser = client_as(admin)
    page = browser.get("/admin/organizations?relationship=strategic_alliance").get_data(
        as_text=True
    )
    assert "Alliance Metals" in page and "Market Bolts" not in page
    assert "· Strategic alliance" in page
    everything = browser.get("/admin/organizations?relationship=nonsense").get_data(as_text=True)
    assert "Alliance Metals" in everything and "Market Bolts" in everything
    csv = browser.get("/export/organisations.csv?relationship=buy_the_market").get_data(
        as_text=True
    )
    assert "Market Bolts" in csv and "Alliance Metals" not in csv


def test_the_segment_criterion_selects_suppliers_by_relationship(app, db, vendor, admin):
    make_org(db, "supplier", name="Seg Alliance", supplier_relationship="strategic_alliance")
    make_org(db, "supplier", name="Seg Backward", supplier_relationship="backward_integration")
    make_org(db, "supplier", name="Seg Unset")
    manager = make_user(db, vendor, access.CHANNEL_MANAGER)
    criteria = {"supplier_relationship": ["strategic_alliance", "backward_integration"]}
    with acting_as(app, manager):
        from portal.db import db as portal_db

        found = set(
            portal_db.session.scalars(
                select(Organization.name).where(segments.membership(criteria))
            )
        )
    assert found == {"Seg Alliance", "Seg Backward"}


def test_the_segment_form_offers_the_relationships(client_as, db, vendor):
    manager = make_user(db, vendor, access.CHANNEL_MANAGER)
    form = client_as(manager).get("/segments/new").get_data(as_text=True)
    assert "Supplier relationship" in form and "Backward integration" in form


def test_a_supplier_shares_a_lead_and_sees_the_outcome(client_as, db, vendor):
    supplier = make_org(db, "supplier", name="Sharing Components")
    person = make_user(db, supplier, access.PARTNER_USER)
    manager = make_user(db, vendor, access.CHANNEL_MANAGER)
    browser = client_as(person)
    assert "/leads/shared/new" in browser.get("/leads/shared/").get_data(as_text=True)
    response = browser.post(
        "/leads/shared/new",
        data={
            "company": "Hanse Shipyards",
            "contact_name": "Jan Meyer",
            "email": "jan@hanse.test",
            "country": "DE",
            "product_line": "networking",
            "notes": "Their buyer asked us for a router vendor",
        },
    )
    assert response.status_code == 302
    shared = db.scalar(select(SharedLead).where(SharedLead.company == "Hanse Shipyards"))
    assert (shared.org_id, shared.status) == (supplier.id, "submitted")
    client_as(manager).post(f"/leads/shared/{shared.id}/approve", data={"note": "Thank you"})
    db.expire_all()
    assert shared.status == "approved"
    assert db.get(Lead, shared.lead_id).credited_to_org_id == supplier.id
    assert "Thank you" in browser.get(f"/leads/shared/{shared.id}").get_data(as_text=True)


# The navigation offers nobody a page it would refuse: walk it as every role of every kind.

KINDS = ("vendor", "reseller", "distributor", "supplier", "customer")


def _roles_of(kind: str) -> list[str]:
    return [role.name for role in access.roles_for(kind)]


@pytest.mark.parametrize(
    ("kind", "role"), [(kind, role) for kind in KINDS for role in _roles_of(kind)]
)
def test_the_navigation_offers_only_pages_the_person_may_open(app, client_as, db, kind, role):
    org = make_org(db, kind) if kind != "vendor" else None
    if org is None:
        from tests.factories import vendor_org

        org = vendor_org(db)
    person = make_user(db, org, role)
    principal = Principal.for_user(person)
    browser = client_as(person)
    items = navigation.items_for(principal)
    assert items, "everyone has a home"
    for item in items:
        view = app.view_functions[item.endpoint]
        required = getattr(view, "required_action", None)
        # The entry names the action its page requires, so the navigation and the route agree.
        assert required in (None, item.action), (item.endpoint, required, item.action)
        with app.test_request_context():
            from flask import url_for

            path = url_for(item.endpoint)
        response = browser.get(path)
        assert response.status_code in (200, 301, 302), (item.endpoint, response.status_code)


def test_a_supplier_is_offered_sourcing_and_shared_leads_not_registrations(app, db):
    supplier = make_org(db, "supplier")
    principal = Principal.for_user(make_user(db, supplier, access.PARTNER_ADMIN))
    offered = {i.endpoint for i in navigation.items_for(principal)}
    assert {"sourcing.offers", "leads.shared_index"} <= offered
    assert not offered & {"deals.index", "sourcing.index", "funds.index"}
