"""Invitations, the whole journey: an admin invites, the invitee reads the email, follows its link,
chooses a name and password and signs in. Plus who may invite whom, single use, expiry, revoke."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from portal.identity.models import Invitation, User
from portal.notify.models import Notification
from tests.unchanged import unchanged

PASSWORD = "invited-and-happy"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def invitation_link(app, mail) -> str:
    """The path of the invitation link in an email (the app's BASE_URL stripped)."""
    base = re.escape(app.config["BASE_URL"])
    found = re.search(base + r"(/invitations/[^\s]+)", mail.get_content())
    assert found, mail.get_content()
    return found.group(1)


def invite(client, org, email: str, name: str = "Ina Invitee", role: str = "partner_user"):
    return client.post(
        f"/admin/organizations/{org.id}/invite", data={"name": name, "email": email, "role": role}
    )


def accept(client, link: str, name: str = "Ina I. Invitee", password: str = PASSWORD):
    return client.post(link, data={"name": name, "password": password, "confirm": password})


def invitations_to(db, email: str) -> list[Invitation]:
    return db.scalars(
        select(Invitation)
        .where(Invitation.email == email)
        .order_by(Invitation.id)
        .execution_options(populate_existing=True)
    ).all()


def users_with(db, email: str) -> int:
    return db.scalar(select(func.count()).select_from(User).where(User.email == email))


@pytest.fixture
def partner(org_factory):
    return org_factory("reseller")


@pytest.fixture
def admin(partner, user_factory):
    return user_factory(partner, "partner_admin")


def test_the_whole_journey(app, db, client_as, mailbox, partner, admin):
    client = client_as(admin)
    assert client.get(f"/admin/organizations/{partner.id}/invite").status_code == 200
    response = invite(client, partner, "Ina@Example.test")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    team = client.get("/admin/users").get_data(as_text=True)
    assert "Invitation sent to Ina@Example.test." in team
    assert "ina@example.test" in team  # listed as pending

    [invitation] = invitations_to(db, "ina@example.test")
    assert (invitation.org_id, invitation.role, invitation.invited_by_id) == (
        partner.id,
        "partner_user",
        admin.id,
    )
    assert invitation.token_hash and invitation.token_hash not in str(
        mailbox[0].get_content()
    )  # the stored hash is not the token

    [mail] = mailbox.to("ina@example.test")
    assert mail["Subject"] == f"You are invited to {partner.name} on {app.config['VENDOR_NAME']}"
    body = mail.get_content()
    assert "Hello Ina Invitee" in body
    assert f"within {app.config['INVITATION_DAYS']} days" in body
    link = invitation_link(app, mail)
    client.post("/logout")

    invitee = app.test_client()  # the invitee's own browser
    for _ in range(2):  # opening the link (even twice) changes nothing
        page = invitee.get(link)
        assert page.status_code == 200
        assert "You will sign in as ina@example.test." in page.get_data(as_text=True)
    assert invitations_to(db, "ina@example.test")[0].accepted_at is None
    assert users_with(db, "ina@example.test") == 0

    response = accept(invitee, link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "Welcome! Sign in with your email and new password." in invitee.get("/login").get_data(
        as_text=True
    )

    user = db.scalar(select(User).where(User.email == "ina@example.test"))
    assert (user.org_id, user.role, user.name) == (partner.id, "partner_user", "Ina I. Invitee")
    assert invitations_to(db, "ina@example.test")[0].status == "accepted"

    response = invitee.post("/login", data={"email": "ina@example.test", "password": PASSWORD})
    assert response.status_code == 302
    home = invitee.get("/home").get_data(as_text=True)
    assert "Ina I. Invitee" in home

    # The organisation's admin hears about it, in the app and by email.
    notes = db.scalars(select(Notification).where(Notification.user_id == admin.id)).all()
    assert [n.kind for n in notes] == ["admin.member_joined"]
    assert f"Ina I. Invitee joined {partner.name}" in [
        m["Subject"] for m in mailbox.to(admin.email)
    ]


def test_the_invitation_page_names_the_organisation(app, client_as, mailbox, partner, admin):
    client = client_as(admin)
    invite(client, partner, "ina@example.test")
    link = invitation_link(app, mailbox.to("ina@example.test")[0])
    client.post("/logout")
    page = app.test_client().get(link).get_data(as_text=True)
    assert f"<title>Join {partner.name} · " in page
    assert f"Join {partner.name}</h1>" in page


def test_the_password_must_follow_the_rules(app, db, client_as, mailbox, partner, admin):
    client = client_as(admin)
    invite(client, partner, "ina@example.test")
    link = invitation_link(app, mailbox.to("ina@example.test")[0])
    invitee = app.test_client()
    with unchanged(db, counted=[Invitation, User]):
        response = accept(invitee, link, password="short")
    assert response.status_code == 422
    assert "Use at least" in response.get_data(as_text=True)
    assert users_with(db, "ina@example.test") == 0
    assert accept(invitee, link).status_code == 302  # a failed try does not use the link up


def test_the_link_works_once(app, db, client_as, mailbox, partner, admin):
    client = client_as(admin)
    invite(client, partner, "ina@example.test")
    link = invitation_link(app, mailbox.to("ina@example.test")[0])
    invitee = app.test_client()
    assert accept(invitee, link).status_code == 302

    with unchanged(db, counted=[Invitation, User]):
        answers = (invitee.get(link), accept(invitee, link, password="another-password-1"))
    for response in answers:
        assert response.status_code == 410
        assert "no longer valid" in response.get_data(as_text=True)
    assert users_with(db, "ina@example.test") == 1
    assert (
        invitee.post(
            "/login", data={"email": "ina@example.test", "password": "another-password-1"}
        ).status_code
        == 422
    )


def test_the_link_expires(app, client, db, client_as, mailbox, partner, admin):
    days = app.config["INVITATION_DAYS"]
    with time_machine.travel(START, tick=False) as traveller:
        client = client_as(admin)
        invite(client, partner, "ina@example.test")
        link = invitation_link(app, mailbox.to("ina@example.test")[0])
        invitee = app.test_client()
        traveller.shift(timedelta(days=days) - timedelta(minutes=1))
        assert invitee.get(link).status_code == 200
        traveller.shift(timedelta(minutes=2))
        response = invitee.get(link)
        assert response.status_code == 410
        assert "no longer valid" in response.get_data(as_text=True)
        assert accept(invitee, link).status_code == 410
    assert users_with(db, "ina@example.test") == 0


def test_a_forged_link_is_not_valid(client):
    response = client.get("/invitations/not-a-real-token")
    assert response.status_code == 410
    assert "no longer valid" in response.get_data(as_text=True)


def test_a_new_invitation_replaces_the_pending_one(app, db, client_as, mailbox, partner, admin):
    client = client_as(admin)
    invite(client, partner, "ina@example.test")
    invite(client, partner, "ina@example.test", role="partner_admin")
    first, second = (invitation_link(app, m) for m in mailbox.to("ina@example.test"))
    invitee = app.test_client()
    assert invitee.get(first).status_code == 410
    assert accept(invitee, second).status_code == 302
    assert db.scalar(select(User.role).where(User.email == "ina@example.test")) == "partner_admin"


def test_inviting_an_address_that_has_an_account_is_a_clear_error(
    db, client_as, mailbox, partner, admin, org_factory, user_factory
):
    elsewhere = user_factory(org_factory("distributor"))
    client = client_as(admin)
    for email in (elsewhere.email, admin.email.upper()):
        with unchanged(db, counted=[Invitation, User]):
            response = invite(client, partner, email)
        assert response.status_code == 422
        assert f"{email.lower()} already has an account." in response.get_data(as_text=True)
        assert invitations_to(db, email.lower()) == []
    assert mailbox == []


def test_an_unknown_role_is_refused(db, client_as, mailbox, partner, admin):
    client = client_as(admin)
    with unchanged(db, counted=[Invitation, User]):
        response = invite(client, partner, "ina@example.test", role="vendor_admin")
    assert response.status_code == 422
    assert invitations_to(db, "ina@example.test") == []
    assert mailbox == []


def test_accepting_when_the_address_got_an_account_meanwhile_is_a_clear_error(
    app, db, client_as, mailbox, partner, admin, org_factory, user_factory
):
    """Two organisations invite the same person; the second link, opened after the first was
    accepted, must not crash on the unique email."""
    other = org_factory("distributor")
    other_admin = user_factory(other)
    client = client_as(admin)
    invite(client, partner, "ina@example.test")
    client.post("/logout")
    client = client_as(other_admin)
    invite(client, other, "ina@example.test", role="partner_user")
    ours, theirs = (invitation_link(app, m) for m in mailbox.to("ina@example.test"))

    invitee = app.test_client()
    assert accept(invitee, ours).status_code == 302
    with unchanged(db, counted=[Invitation, User]):
        response = accept(invitee, theirs)
    assert response.status_code < 500
    assert "already has an account" in response.get_data(as_text=True)
    assert users_with(db, "ina@example.test") == 1


def test_a_partner_admin_cannot_invite_into_a_foreign_organisation(
    db, client_as, mailbox, admin, org_factory
):
    foreign = org_factory("reseller")
    client = client_as(admin)
    with unchanged(db, counted=[Invitation, User]):
        assert client.get(f"/admin/organizations/{foreign.id}/invite").status_code == 404
        assert invite(client, foreign, "ina@example.test").status_code == 404
        assert client.get("/admin/organizations/999999999/invite").status_code == 404  # same answer
    assert invitations_to(db, "ina@example.test") == []
    assert mailbox == []


def test_a_partner_admin_cannot_invite_into_organisations_it_only_sees(
    db, client_as, mailbox, vendor, partner, admin, org_factory
):
    managed = org_factory("customer", managed_by_id=partner.id)
    client = client_as(admin)
    for org, role in ((vendor, "vendor_admin"), (managed, "customer_admin")):
        with unchanged(db, counted=[Invitation, User]):
            assert client.get(f"/admin/organizations/{org.id}/invite").status_code == 403
            response = invite(client, org, "ina@example.test", role=role)
        assert response.status_code == 403
        assert f"You may not manage the members of {org.name}." in response.get_data(as_text=True)
    assert invitations_to(db, "ina@example.test") == []
    assert mailbox == []


def test_a_vendor_admin_may_invite_into_a_partner_organisation(
    app, db, client_as, mailbox, vendor, partner, user_factory
):
    client = client_as(user_factory(vendor))
    response = invite(client, partner, "ina@example.test", role="partner_admin")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organizations/{partner.id}"
    assert (
        accept(
            app.test_client(), invitation_link(app, mailbox.to("ina@example.test")[0])
        ).status_code
        == 302
    )
    assert db.scalar(select(User.org_id).where(User.email == "ina@example.test")) == partner.id


def test_a_partner_user_may_not_invite(db, client_as, mailbox, partner, user_factory):
    client = client_as(user_factory(partner, "partner_user"))
    with unchanged(db, counted=[Invitation, User]):
        assert client.get(f"/admin/organizations/{partner.id}/invite").status_code == 403
        assert invite(client, partner, "ina@example.test").status_code == 403
    assert invitations_to(db, "ina@example.test") == []
    assert mailbox == []


def test_revoking_an_invitation_kills_its_link(app, db, client_as, mailbox, partner, admin):
    client = client_as(admin)
    invite(client, partner, "ina@example.test")
    link = invitation_link(app, mailbox.to("ina@example.test")[0])
    [invitation] = invitations_to(db, "ina@example.test")

    response = client.post(f"/admin/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    team = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Invitation to ina@example.test revoked." in team
    assert "&lt;ina@example.test&gt;" not in team  # no longer listed as pending
    assert invitations_to(db, "ina@example.test")[0].status == "revoked"

    invitee = app.test_client()
    with unchanged(db, invitation, counted=[Invitation, User]):
        assert invitee.get(link).status_code == 410
        assert accept(invitee, link).status_code == 410
    assert users_with(db, "ina@example.test") == 0

    with unchanged(db, invitation):
        again = client.post(f"/admin/invitations/{invitation.id}/revoke", follow_redirects=True)
    assert "Only a pending invitation can be revoked." in again.get_data(as_text=True)


def test_only_admins_of_the_organisation_may_revoke(
    db, client_as, mailbox, partner, admin, org_factory, user_factory
):
    client = client_as(admin)
    invite(client, partner, "ina@example.test")
    [invitation] = invitations_to(db, "ina@example.test")
    client.post("/logout")

    client = client_as(user_factory(partner, "partner_user"))
    with unchanged(db, invitation):
        assert client.post(f"/admin/invitations/{invitation.id}/revoke").status_code == 403
    client.post("/logout")
    client = client_as(user_factory(org_factory("reseller")))
    with unchanged(db, invitation):
        assert client.post(f"/admin/invitations/{invitation.id}/revoke").status_code == 404
    assert invitations_to(db, "ina@example.test")[0].status == "pending"


def test_an_admin_who_turned_member_mail_off_is_told_in_the_app_only(
    app, db, client_as, mailbox, partner, admin
):
    client = client_as(admin)
    client.post("/account/notifications", data={"email_kinds": ["admin.organization_changed"]})
    invite(client, partner, "ina@example.test")
    link = invitation_link(app, mailbox.to("ina@example.test")[0])
    mailbox.clear()

    assert accept(app.test_client(), link).status_code == 302
    notes = db.scalars(select(Notification).where(Notification.user_id == admin.id)).all()
    assert [n.kind for n in notes] == ["admin.member_joined"]
    assert mailbox.to(admin.email) == []


def invitation_history(db, invitation) -> list[tuple[str, dict | None]]:
    from portal.audit import AuditEvent

    return [
        (e.action, e.after)
        for e in db.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "Invitation", AuditEvent.object_id == invitation.id)
            .order_by(AuditEvent.id)
        )
    ]


def test_the_tick_marks_invitations_past_their_expiry_expired_once(
    app, db, client_as, mailbox, partner, admin
):
    from portal import jobs

    days = app.config["INVITATION_DAYS"]
    with time_machine.travel(START, tick=False) as traveller:
        client = client_as(admin)
        invite(client, partner, "ina@example.test")
        invite(client, partner, "ivo@example.test")
        traveller.shift(timedelta(days=days) - timedelta(minutes=1))
        with app.app_context():
            assert jobs.run_periodic(["expire_invitations"]) == {"expire_invitations": 0}
        traveller.shift(timedelta(minutes=2))
        with app.app_context():
            assert jobs.run_periodic(["expire_invitations"]) == {"expire_invitations": 2}
            assert jobs.run_periodic(["expire_invitations"]) == {"expire_invitations": 0}
    [ina] = invitations_to(db, "ina@example.test")
    assert ina.status == "expired"
    assert [action for action, _ in invitation_history(db, ina)] == [
        "invitation.created",
        "invitation.expired",
    ]


def test_a_replaced_invitation_is_recorded_as_revoked(app, db, client_as, mailbox, partner, admin):
    client = client_as(admin)
    invite(client, partner, "ina@example.test")
    invite(client, partner, "ina@example.test", role="partner_admin")
    first, second = invitations_to(db, "ina@example.test")
    assert (first.status, second.status) == ("revoked", "pending")
    (created, _), (revoked, after) = invitation_history(db, first)
    assert (created, revoked) == ("invitation.created", "invitation.revoked")
    assert after["status"] == "revoked" and after["replaced"] is True
