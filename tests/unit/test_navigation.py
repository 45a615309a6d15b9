"""The main navigation, built from the access rules: grouped by area, and never offering a page
that would answer 403."""

import pytest

from portal import access, navigation
from portal.navigation import NavItem
from portal.tenancy import Principal

KINDS = {"vendor": ("vendor",), "partner": access.PARTNER_KINDS, "customer": ("customer",)}
PRINCIPALS = [
    Principal(org_id=1, org_kind=kind, role=role.name, user_id=1)
    for role in access.ROLES.values()
    for kind in KINDS[role.audience]
]


def _id(principal: Principal) -> str:
    return f"{principal.role}@{principal.org_kind}"


@pytest.mark.parametrize("principal", PRINCIPALS, ids=_id)
def test_nobody_is_offered_a_page_its_role_may_not_open(app, principal):
    groups = navigation.groups_for(principal)
    assert groups, "every principal has a navigation"
    for group in groups:
        for item in group.items:
            view = app.view_functions[item.endpoint]
            required = getattr(view, "required_action", None)
            assert required is None or principal.can(required), (
                f"{item.endpoint} needs {required}, which {_id(principal)} may not do"
            )
            assert principal.can(item.action) and principal.audience in item.audiences


@pytest.mark.parametrize("principal", PRINCIPALS, ids=_id)
def test_home_comes_first_then_the_areas_in_order(app, principal):
    groups = navigation.groups_for(principal)
    assert [g.key for g in groups][0] == "dashboard.home"
    assert not groups[0].is_menu and str(groups[0].label) == "Home"
    areas = [g.key for g in groups[1:]]
    assert areas == [a for a in navigation.AREAS if a in areas]
    for group in groups[1:]:
        assert [i.order for i in group.items] == sorted(i.order for i in group.items)
        # An area with one entry for this principal shows as a plain link under its own label.
        assert group.is_menu == (len(group.items) > 1)


def test_every_entry_but_home_belongs_to_an_area(app):
    assert [i.endpoint for i in navigation.NAVIGATION if i.area is None] == ["dashboard.home"]


def test_the_vendor_admin_has_a_handful_of_top_level_entries(app):
    admin = Principal(org_id=1, org_kind="vendor", role=access.VENDOR_ADMIN, user_id=1)
    groups = navigation.groups_for(admin)
    assert [g.key for g in groups] == ["dashboard.home", *navigation.AREAS]
    assert len(navigation.items_for(admin)) > 15  # what used to be 17 links in a row


def test_a_customer_user_sees_single_entry_areas_as_plain_links(app):
    customer = Principal(org_id=1, org_kind="customer", role=access.CUSTOMER_USER, user_id=1)
    plain = {str(g.label) for g in navigation.groups_for(customer) if not g.is_menu}
    assert {"Home", "Quotes", "Ideas"} <= plain
    assert "Sales" not in plain and "Feedback" not in plain


def test_an_unknown_area_is_refused():
    with pytest.raises(KeyError, match="unknown navigation area"):
        NavItem("x.index", "X", "home.view", area="elsewhere")


def test_nobody_has_a_navigation():
    assert navigation.groups_for(None) == []


# Suppliers are partners that register no deals: not offered, not allowed.


@pytest.mark.parametrize("role", [access.PARTNER_ADMIN, access.PARTNER_USER])
def test_suppliers_are_not_offered_deal_registrations(app, role):
    supplier = Principal(org_id=1, org_kind="supplier", role=role, user_id=1)
    reseller = Principal(org_id=2, org_kind="reseller", role=role, user_id=2)
    for action in ("deals.view", "deals.register", "deals.close", "deals.follow"):
        assert not supplier.can(action)
        assert access.kind_refusal("supplier", action) is not None
    assert reseller.can("deals.register") and reseller.can("deals.view")
    assert supplier.can("leads.share") and supplier.can("quotes.accept")
    offered = [i.endpoint for i in navigation.items_for(supplier)]
    assert not [e for e in offered if e.startswith("deals.")]
    assert "deals.index" in [i.endpoint for i in navigation.items_for(reseller)]


def test_the_kind_rule_binds_partners_only():
    assert access.allows(access.CHANNEL_MANAGER, "vendor", "deals.view")
    assert access.allows(access.PARTNER_ADMIN, "distributor", "deals.register")
    assert not access.allows(access.PARTNER_ADMIN, "supplier", "deals.register")
    assert not access.allows(access.CUSTOMER_ADMIN, "customer", "deals.view")  # the role says no
    assert str(access.kind_refusal("supplier", "deals.register")) == (
        "Only resellers and distributors register deals."
    )
