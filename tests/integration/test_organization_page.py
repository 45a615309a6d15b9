"""The organisation page: one page per organisation for everyone who may see it (vendor staff any,
a partner its own and its managed customers', a customer its own; anyone else 404), its sections
from the feature packages, its activity timeline paged by key, and the account manager that
vendor admins assign (audited) and that the organisation reads on its home, cases and quotes."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from portal import access
from portal.audit import AuditEvent, record
from portal.identity.models import Organization
from tests.unchanged import fresh, unchanged


@pytest.fixture
def world(db, vendor, org_factory, user_factory):
    partner = org_factory("reseller", name="Page Reseller")
    customer = org_factory("customer", name="Page Customer", managed_by_id=partner.id)
    foreign = org_factory("customer", name="Foreign Customer QQZ")
    people = {
        "admin": user_factory(vendor, access.VENDOR_ADMIN),
        "sales": user_factory(vendor, access.SALES_REP, name="Sam Sales", email="sam@vendor.test"),
        "agent": user_factory(vendor, access.SUPPORT_AGENT),
        "partner_admin": user_factory(partner, access.PARTNER_ADMIN),
        "customer_admin": user_factory(customer, access.CUSTOMER_ADMIN),
    }
    return {
        "vendor": vendor,
        "partner": partner,
        "customer": customer,
        "foreign": foreign,
        **people,
    }


def page(client, org) -> tuple[int, str]:
    response = client.get(f"/organizations/{org.id}")
    return response.status_code, response.get_data(as_text=True)


def test_each_audience_opens_what_the_tenant_rules_allow(client_as, world):
    admin = client_as(world["admin"])
    for org in ("vendor", "partner", "customer", "foreign"):
        assert page(admin, world[org])[0] == 200
    partner = client_as(world["partner_admin"])
    assert page(partner, world["partner"])[0] == 200
    status, body = page(partner, world["customer"])  # a customer it manages
    assert status == 200 and "Page Customer" in body
    assert page(partner, world["foreign"])[0] == 404
    assert page(partner, world["vendor"])[0] == 404  # visible by name, but not its page
    customer = client_as(world["customer_admin"])
    status, body = page(customer, world["customer"])
    assert status == 200 and "Page Reseller" in body  # who manages it, by name
    for org in ("partner", "foreign", "vendor"):
        assert page(customer, world[org])[0] == 404
    assert customer.get("/organizations/987654321").status_code == 404


def test_the_partner_page_links_its_managed_customers_and_my_organisation_leads_home(
    client_as, world
):
    partner = client_as(world["partner_admin"])
    _, body = page(partner, world["partner"])
    assert f'href="/organizations/{world["customer"].id}"' in body
    mine = partner.get("/organizations/mine")
    assert mine.status_code == 302
    assert mine.headers["Location"].endswith(f"/organizations/{world['partner'].id}")


def test_a_partner_with_many_customers_names_the_first_and_lists_all_on_their_page(
    db, client_as, org_factory, world
):
    names = [f"Many Customer {n:03d}" for n in range(60)]
    for name in reversed(names):
        org_factory("customer", name=name, managed_by_id=world["partner"].id)
    partner = client_as(world["partner_admin"])
    _, body = page(partner, world["partner"])
    # The first twelve by name (with the world's "Page Customer" last of 61), then a link.
    assert all(name in body for name in names[:12]) and names[12] not in body
    assert 'data-testid="all-managed"' in body and "All 61 customers" in body
    url = f"/organizations/{world['partner'].id}/customers"
    assert f'href="{url}"' in body

    first = partner.get(url)
    text = first.get_data(as_text=True)
    assert first.status_code == 200 and names[0] in text and names[49] in text
    assert names[50] not in text and 'rel="next"' in text
    after = text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = partner.get(after).get_data(as_text=True)
    assert names[50] in second and names[59] in second and "Page Customer" in second
    assert names[0] not in second

    assert partner.get(url + "?after=forged").status_code == 422
    none = partner.get(f"/organizations/{world['customer'].id}/customers")
    assert none.status_code == 200 and "It manages no customer" in none.get_data(as_text=True)
    assert partner.get(f"/organizations/{world['foreign'].id}/customers").status_code == 404
    customer = client_as(world["customer_admin"])
    assert customer.get(url).status_code == 404  # who its partner also serves is not its business
    german = partner.get(url, headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Kunden von Page Reseller" in german


def test_the_old_admin_address_redirects(client_as, world):
    admin = client_as(world["admin"])
    response = admin.get(f"/admin/organizations/{world['customer'].id}")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/organizations/{world['customer'].id}")
    partner = client_as(world["partner_admin"])
    assert partner.get(f"/admin/organizations/{world['foreign'].id}").status_code == 404


def test_sections(db, client_as, world, deal_factory, quote_factory, case_factory, idea_factory):
    deal_factory(world["partner"], status="approved", value=2500)
    deal_factory(world["partner"], status="won", value=700)
    quote_factory(world["customer"], title="Firewall refresh")
    case_factory(world["customer"], world["customer_admin"], subject="Printer on fire")
    idea_factory(world["customer_admin"], title="Dark mode please")

    admin = client_as(world["admin"])
    _, body = page(admin, world["partner"])
    assert 'data-testid="org-section-registrations"' in body
    assert "2,500.00" in body and "700.00" in body
    _, body = page(admin, world["customer"])
    for text in ("Firewall refresh", "Printer on fire", "Dark mode please"):
        assert text in body
    customer = client_as(world["customer_admin"])
    _, body = page(customer, world["customer"])
    assert "Firewall refresh" in body and "Printer on fire" in body
    assert 'data-testid="org-section-registrations"' not in body  # customers see no deals
    partner = client_as(world["partner_admin"])
    _, body = page(partner, world["customer"])
    assert "Firewall refresh" not in body  # a quote to the customer is the customer's


@contextmanager
def statements(app):
    engine = app.extensions["db"].engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_statements_do_not_grow_with_rows(
    app, db, client_as, world, deal_factory, quote_factory, case_factory, idea_factory
):
    def add(n):
        for _ in range(n):
            quote_factory(world["customer"])
            case_factory(world["customer"], world["customer_admin"])
            idea_factory(world["customer_admin"])
            record("organization.updated", world["customer"], actor=None, session=db)
        db.flush()

    admin = client_as(world["admin"])
    add(1)
    page(admin, world["customer"])  # warm caches
    with statements(app) as few:
        assert page(admin, world["customer"])[0] == 200
    add(12)
    with statements(app) as many:
        assert page(admin, world["customer"])[0] == 200
    assert len(many) == len(few), (len(few), len(many))


def test_timeline_is_paged_by_key_with_labels(app, db, client_as, world):
    for _ in range(45):
        record("organization.updated", world["customer"], actor=None, session=db)
    db.flush()
    admin = client_as(world["admin"])
    _, body = page(admin, world["customer"])
    assert body.count('data-testid="timeline-event"') == 20
    assert "Organisation updated" in body and "organization.updated" not in body
    seen = 20
    url = f"/organizations/{world['customer'].id}"
    while 'rel="next"' in body:
        next_url = body.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        body = admin.get(next_url).get_data(as_text=True)
        seen += body.count('data-testid="timeline-event"')
    assert seen == 45
    assert admin.get(url + "?after=forged").status_code == 422


def test_timeline_shows_others_only_what_the_wall_allows(db, client_as, world):
    record("organization.updated", world["customer"], actor=None, session=db)
    db.flush()
    partner = client_as(world["partner_admin"])
    _, body = page(partner, world["customer"])
    assert 'data-testid="timeline-event"' not in body  # the customer's history is its own
    customer = client_as(world["customer_admin"])
    _, body = page(customer, world["customer"])
    assert 'data-testid="timeline-event"' in body


def test_a_vendor_admin_assigns_an_account_manager_that_the_customer_sees(
    db, client_as, world, quote_factory, case_factory
):
    quote = quote_factory(world["customer"])
    case = case_factory(world["customer"], world["customer_admin"])
    admin = client_as(world["admin"])
    _, body = page(admin, world["customer"])
    assert 'data-testid="account-manager-form"' in body and "Sam Sales" in body
    response = admin.post(
        f"/organizations/{world['customer'].id}/account-manager",
        data={"account_manager_id": str(world["sales"].id)},
    )
    assert response.status_code == 302
    fresh(db)
    org = db.get(Organization, world["customer"].id)
    assert org.account_manager_id == world["sales"].id
    event_row = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "organization.account_manager")
    ).one()
    assert event_row.org_id == org.id and event_row.actor_user_id == world["admin"].id
    assert event_row.after == {"account_manager_id": world["sales"].id}

    customer = client_as(world["customer_admin"])
    home = customer.get("/home").get_data(as_text=True)
    assert "Sam Sales" in home and "sam@vendor.test" in home
    for url in (f"/cases/{case.id}", f"/quotes/{quote.id}", f"/organizations/{org.id}"):
        body = customer.get(url).get_data(as_text=True)
        assert "Sam Sales" in body and "sam@vendor.test" in body, url
    assert 'data-testid="account-manager-form"' not in page(customer, org)[1]


def test_only_sales_staff_can_be_account_managers(db, client_as, world):
    admin = client_as(world["admin"])
    org = world["customer"]
    with unchanged(db, org):
        response = admin.post(
            f"/organizations/{org.id}/account-manager",
            data={"account_manager_id": str(world["agent"].id)},  # support, not sales
        )
        assert response.status_code == 302
        response = admin.post(
            f"/organizations/{org.id}/account-manager",
            data={"account_manager_id": str(world["customer_admin"].id)},
        )
        assert response.status_code == 302


@pytest.mark.parametrize("who", ["sales", "partner_admin", "customer_admin"])
def test_others_may_not_assign(db, client_as, world, who):
    client = client_as(world[who])
    org = world["customer"]
    with unchanged(db, org):
        response = client.post(
            f"/organizations/{org.id}/account-manager",
            data={"account_manager_id": str(world["sales"].id)},
        )
    assert response.status_code == 403
