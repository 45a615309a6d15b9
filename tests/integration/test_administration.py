"""Vendor admins manage organisations and their admins; an organisation's admins manage only
their own users; changes are audited; a deactivated user's sessions end at once."""

from sqlalchemy import select

from portal.audit import AppendOnly, AuditEvent
from portal.identity.models import Invitation, Organization, User
from tests import factories
from tests.unchanged import unchanged


def test_vendor_admin_creates_a_customer_managed_by_a_partner(
    client_as, vendor, user_factory, org_factory, db, mailbox
):
    partner = org_factory("reseller", tier="gold")
    client = client_as(user_factory(vendor, "vendor_admin"))
    response = client.post(
        "/admin/organizations/new",
        data={
            "name": "Acme Widgets",
            "kind": "customer",
            "tier": "",
            "managed_by_id": str(partner.id),
            "admin_name": "Ada Admin",
            "admin_email": "ada@acme.test",
        },
    )
    assert response.status_code == 302
    org = db.scalar(select(Organization).where(Organization.name == "Acme Widgets"))
    assert org.managed_by_id == partner.id
    invitation = db.scalar(select(Invitation).where(Invitation.org_id == org.id))
    assert invitation.role == "customer_admin" and invitation.email == "ada@acme.test"
    assert mailbox.to("ada@acme.test"), "the first admin is invited by email"
    old_address = client.get(f"/admin/organizations/{org.id}")
    assert old_address.status_code == 301 and old_address.location == f"/organizations/{org.id}"
    page = client.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert "Acme Widgets" in page and "ada@acme.test" in page and "Organisation created" in page


def test_bad_organisation_input_gets_clear_messages_and_writes_nothing(
    client_as, vendor, user_factory, org_factory, db
):
    existing = org_factory("reseller", name="Taken Name")
    customer = org_factory("customer")
    client = client_as(user_factory(vendor, "vendor_admin"))
    before = db.scalar(select(Organization.id).order_by(Organization.id.desc()))
    cases = [
        ({"name": "taken name", "kind": "reseller"}, "An organisation with this name exists."),
        ({"name": "New Co", "kind": "customer", "tier": "gold"}, "Only partners have a tier."),
        (
            {"name": "New Co", "kind": "reseller", "managed_by_id": str(existing.id)},
            "Only a customer can be managed",
        ),
        (
            {"name": "New Co", "kind": "customer", "managed_by_id": str(customer.id)},
            "Not a valid choice",
        ),  # only partners are offered as managers
        (
            {"name": "New Co", "kind": "reseller", "admin_email": "not-an-email"},
            "Invalid email address.",
        ),
    ]
    for fields, message in cases:
        data = {
            "admin_name": "A",
            "admin_email": "a@new.test",
            "tier": "",
            "managed_by_id": "",
            **fields,
        }
        with unchanged(db, existing, customer, counted=[Organization, User]):
            response = client.post("/admin/organizations/new", data=data)
        assert response.status_code == 422, fields
        assert message in response.get_data(as_text=True), fields
    db.expire_all()
    assert db.scalar(select(Organization.id).order_by(Organization.id.desc())) == before


def test_partner_admin_manages_only_its_own_users(client_as, db, org_factory, user_factory):
    mine, other = org_factory("reseller"), org_factory("reseller")
    admin = user_factory(mine, "partner_admin")
    colleague = user_factory(mine, "partner_user")
    stranger = user_factory(other, "partner_user")
    client = client_as(admin)
    page = client.get("/admin/users").get_data(as_text=True)
    assert colleague.email in page and stranger.email not in page
    with unchanged(db, stranger, other):
        assert client.get(f"/admin/users/{stranger.id}").status_code == 404
        assert client.post(f"/admin/users/{stranger.id}/deactivate").status_code == 404
        # another partner's organisation is invisible: 404, as for one that does not exist
        assert client.get(f"/admin/organizations/{other.id}").status_code == 404
        assert client.get(f"/organizations/{other.id}").status_code == 404
    assert client.get(f"/admin/users/{colleague.id}").status_code == 200


def test_admin_cannot_demote_or_deactivate_itself(client_as, org_factory, user_factory, db):
    admin = user_factory(org_factory("customer"), "customer_admin")
    client = client_as(admin)
    with unchanged(db, admin):
        response = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(User, admin.id).active


def test_deactivation_ends_the_users_sessions_at_once(client_as, org_factory, user_factory, db):
    org = org_factory("reseller")
    admin, user = user_factory(org, "partner_admin"), user_factory(org, "partner_user")
    victim_client = client_as(user)
    assert victim_client.get("/home").status_code == 200
    client = client_as(admin)
    assert client.post(f"/admin/users/{user.id}/deactivate").status_code == 302
    assert victim_client.get("/home").status_code == 302  # signed out
    events = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_id == user.id, AuditEvent.object_type == "User"
        )
    ).all()
    assert "user.deactivated" in events


def test_role_change_is_audited_and_takes_effect(client_as, org_factory, user_factory, db):
    org = org_factory("reseller")
    admin, user = user_factory(org, "partner_admin"), user_factory(org, "partner_user")
    client = client_as(admin)
    assert (
        client.post(f"/admin/users/{user.id}/role", data={"role": "partner_admin"}).status_code
        == 302
    )
    db.expire_all()
    assert db.get(User, user.id).role == "partner_admin"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.role_changed"))
    assert event.before["role"] == "partner_user" and event.after["role"] == "partner_admin"
    assert event.actor_user_id == admin.id and event.org_id == org.id
    # A role from another audience is refused with a clear message.
    with unchanged(db, user):
        response = client.post(f"/admin/users/{user.id}/role", data={"role": "vendor_admin"})
    assert response.status_code == 302
    db.expire_all()
    assert db.get(User, user.id).role == "partner_admin"


def test_deactivating_an_organisation_signs_its_users_out(
    client_as, db, vendor, org_factory, user_factory
):
    org = org_factory("supplier")
    member = user_factory(org, "partner_user")
    member_client = client_as(member)
    assert member_client.get("/home").status_code == 200
    client = client_as(user_factory(vendor, "vendor_admin"))
    assert client.post(f"/admin/organizations/{org.id}/deactivate").status_code == 302
    assert member_client.get("/home").status_code == 302
    with unchanged(db, member, org):
        signed_in = member_client.post(
            "/login", data={"email": member.email, "password": factories.PASSWORD}
        )
    assert signed_in.status_code == 422


def test_audit_log_page_is_for_vendor_admins(client_as, db, vendor, org_factory, user_factory):
    partner_admin = user_factory(org_factory(), "partner_admin")
    client = client_as(partner_admin)
    with unchanged(db):
        assert client.get("/admin/audit").status_code == 403
    client.post("/logout")
    client = client_as(user_factory(vendor, "vendor_admin"))
    assert client.get("/admin/audit").status_code == 200


def test_audit_events_are_append_only(db, org_factory):
    org = org_factory()
    event = AuditEvent(org_id=org.id, action="x", object_type="Organization", object_id=org.id)
    db.add(event)
    db.flush()
    event.action = "rewritten"
    try:
        db.flush()
    except AppendOnly:
        db.rollback()
    else:
        raise AssertionError("an audit event was changed")


def test_channel_manager_sees_organisations_but_cannot_change_them(
    client_as, db, vendor, org_factory, user_factory
):
    org = org_factory("distributor", name="Visible Distribution")
    client = client_as(user_factory(vendor, "channel_manager"))
    assert "Visible Distribution" in client.get("/admin/organizations?kind=distributor").get_data(
        as_text=True
    )
    with unchanged(db, org):
        assert client.get(f"/admin/organizations/{org.id}/edit").status_code == 403
        assert client.post(f"/admin/organizations/{org.id}/deactivate").status_code == 403
