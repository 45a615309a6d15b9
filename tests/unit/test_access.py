"""The role table and the object rules, without HTTP."""

import pytest

from portal import access
from portal.tenancy import Principal


def test_every_role_belongs_to_one_audience_with_exactly_one_admin_role():
    for audience in ("vendor", "partner", "customer"):
        roles = [r for r in access.ROLES.values() if r.audience == audience]
        assert sum(r.is_admin for r in roles) == 1
    assert set(access.ROLES) == {
        "vendor_admin",
        "channel_manager",
        "sales_rep",
        "support_agent",
        "partner_admin",
        "partner_user",
        "customer_admin",
        "customer_user",
    }


@pytest.mark.parametrize(
    ("kind", "audience"),
    [
        ("vendor", "vendor"),
        ("reseller", "partner"),
        ("distributor", "partner"),
        ("supplier", "partner"),
        ("customer", "customer"),
    ],
)
def test_roles_for_a_kind_are_its_audiences(kind, audience):
    assert {r.audience for r in access.roles_for(kind)} == {audience}


def test_only_vendor_admins_manage_organisations_and_read_the_audit_log():
    for role in access.ROLES:
        assert access.role_allows(role, "orgs.manage") == (role == "vendor_admin")
        assert access.role_allows(role, "audit.view") == (role == "vendor_admin")


def test_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        access.role_allows("vendor_admin", "orgs.destroy")
    with pytest.raises(KeyError):
        access.require("no.such.action")


def test_an_admin_never_manages_itself():
    assert access.may_manage_user("partner_admin", 1, 2)
    assert not access.may_manage_user("partner_admin", 1, 1)
    assert not access.may_manage_user("partner_user", 1, 2)


def test_token_rights_are_scopes_intersected_with_the_role():
    admin = Principal(
        org_id=1,
        org_kind="reseller",
        role="partner_admin",
        user_id=1,
        scopes=frozenset({"users:read"}),
    )
    assert admin.can("users.view")
    assert not admin.can("users.manage")  # role allows, scope does not
    user = Principal(
        org_id=1,
        org_kind="reseller",
        role="partner_user",
        user_id=2,
        scopes=frozenset({"users:read", "users:write"}),
    )
    assert not user.can("users.view")  # scope allows, role does not


def test_principal_audiences():
    assert Principal(1, "vendor", "sales_rep", 1).is_vendor_staff
    assert Principal(1, "supplier", "partner_user", 1).is_partner
    assert Principal(1, "customer", "customer_user", 1).is_customer
