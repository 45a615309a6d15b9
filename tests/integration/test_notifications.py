"""Notifications: in-app messages, the unread badge, per-kind email choices and the email outbox,
delivered through the real loopback SMTP server."""

from __future__ import annotations

import re
import socket
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal import jobs
from portal.db import TenantViolation, set_principal, unscoped
from portal.db import db as portal_db
from portal.identity.models import User
from portal.notify import services
from portal.notify.models import Notification, NotificationPreference, OutboxMessage
from portal.tenancy import Principal
from tests.factories import PASSWORD

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@contextmanager
def app_session(app, principal: Principal | None = None):
    """The app's own session inside a request context, as a job or a request would use it:
    unscoped (like the delivery job and the sign-in code), or bound to ``principal``."""
    with app.test_request_context():
        session = portal_db.session
        if principal is None:
            with unscoped(session):
                yield session
        else:
            set_principal(session, principal)
            yield session


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"smtp://127.0.0.1:{port}"  # nothing listens there any more


def outbox_of(db, address: str) -> list[OutboxMessage]:
    return db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == address)
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    ).all()


def notifications_of(db, user) -> list[Notification]:
    return db.scalars(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id)
        .execution_options(populate_existing=True)
    ).all()


def nav_unread(page: str) -> int:
    """The number on the badge next to "Notifications" in the navigation (0 without a badge)."""
    link = re.search(r'data-testid="notifications">(.*?)</a>', page, re.S)
    assert link, "no Notifications link in the navigation"
    assert "Notifications" in link.group(1)
    badge = re.search(
        r'<span class="badge[^"]*" aria-label="(\d+) unread">(\d+)</span>', link.group(1)
    )
    if badge is None:
        return 0
    assert badge.group(1) == badge.group(2)
    return int(badge.group(2))


@pytest.fixture
def partner_admin(org_factory, user_factory):
    return user_factory(org_factory("reseller"))


# Writing and delivering.


def test_notify_writes_in_app_notification_and_email_delivered_after_commit(
    app, db, mailbox, partner_admin
):
    with app_session(app) as session:
        services.notify(
            [partner_admin],
            "admin.organization_changed",
            "Your tier changed",
            "You are now a gold partner.",
            link=services.link("dashboard.home"),  # an endpoint; the layer makes "/home"
        )
        assert mailbox == []  # written, not sent: the transaction is still open
        session.commit()

    [notification] = notifications_of(db, partner_admin)
    assert (notification.title, notification.body, notification.link) == (
        "Your tier changed",
        "You are now a gold partner.",
        "/home",
    )
    assert notification.org_id == partner_admin.org_id
    assert notification.read_at is None

    [message] = outbox_of(db, partner_admin.email)
    assert message.status == "sent"
    assert message.attempts == 1
    assert message.sent_at is not None
    assert message.kind == "admin.organization_changed"

    [mail] = mailbox.to(partner_admin.email)
    assert mail["Subject"] == "Your tier changed"
    assert mail["From"] == app.config["MAIL_FROM"]
    body = mail.get_content()
    assert "You are now a gold partner." in body
    assert "http://portal.test/home" in body


def test_nothing_is_written_or_sent_when_the_transaction_rolls_back(
    app, db, mailbox, partner_admin
):
    with app_session(app) as session:
        services.notify([partner_admin], "admin.organization_changed", "Your tier changed")
        assert session.info.get("jobs_pending")  # the delivery was queued...
        session.rollback()
        assert not session.info.get("jobs_pending")  # ...and dropped with the transaction
        session.commit()  # a later commit of the same session must not send it either

    assert mailbox == []
    assert notifications_of(db, partner_admin) == []
    assert outbox_of(db, partner_admin.email) == []


def test_deactivated_users_get_neither_notification_nor_email(
    app, db, mailbox, org_factory, user_factory
):
    org = org_factory()
    gone = user_factory(org, active=False)
    with app_session(app) as session:
        services.notify([gone], "account.security", "Something happened")
        session.commit()
    assert notifications_of(db, gone) == []
    assert mailbox == []


@pytest.mark.parametrize("kind", ["admin.organization_changed", "account.security"])
def test_notify_from_a_request_of_another_organisation_reaches_the_recipient(
    app, db, mailbox, vendor, user_factory, partner_admin, kind
):
    """The everyday case: a partner's action (a deal submitted) tells vendor staff. The request's
    session is bound to the partner's principal; the notification belongs to the vendor user."""
    channel_manager = user_factory(vendor, "channel_manager")
    with app_session(app, Principal.for_user(partner_admin)) as session:
        services.notify([channel_manager], kind, "A deal was submitted")
        session.commit()
    assert [n.title for n in notifications_of(db, channel_manager)] == ["A deal was submitted"]
    assert len(mailbox.to(channel_manager.email)) == 1


def test_notify_does_not_let_the_callers_pending_rows_past_the_wall(
    app, db, org_factory, partner_admin
):
    """A request that (by mistake) added a row into a foreign organisation and then notifies
    someone must still be refused: notify's own unscoped lookups are no back door."""
    foreign = org_factory("reseller")
    with app_session(app, Principal.for_user(partner_admin)) as session:
        session.add(
            User(org_id=foreign.id, email="smuggled@foreign.test", name="S", role="partner_user")
        )
        with pytest.raises(TenantViolation):
            services.notify([partner_admin], "admin.organization_changed", "Settings changed")
            session.commit()
        session.rollback()
    assert db.scalar(select(User.id).where(User.email == "smuggled@foreign.test")) is None


# Email choices.


def test_turning_an_optional_kind_off_keeps_in_app_but_stops_email(
    app, db, client_as, mailbox, partner_admin
):
    client = client_as(partner_admin)
    page = client.get("/account").get_data(as_text=True)
    assert 'value="admin.member_joined"' in page
    assert 'value="account.security"' not in page  # not offered: it cannot be turned off

    response = client.post(
        "/account/notifications", data={"email_kinds": ["admin.organization_changed"]}
    )
    assert response.status_code == 302
    assert "Your email choices are saved." in client.get("/account").get_data(as_text=True)
    choices = {
        p.kind: p.email_enabled
        for p in db.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == partner_admin.id)
        )
    }
    # Every optional kind gets a row (features add kinds); these two are what this test set.
    assert choices["admin.member_joined"] is False
    assert choices["admin.organization_changed"] is True
    assert "account.security" not in choices

    with app_session(app) as session:
        services.notify([partner_admin], "admin.member_joined", "Ann joined")
        services.notify([partner_admin], "admin.organization_changed", "Settings changed")
        session.commit()

    assert [n.title for n in notifications_of(db, partner_admin)] == [
        "Ann joined",
        "Settings changed",
    ]
    assert [m["Subject"] for m in mailbox.to(partner_admin.email)] == ["Settings changed"]
    assert [m.kind for m in outbox_of(db, partner_admin.email)] == ["admin.organization_changed"]


def test_the_choice_holds_when_someone_else_causes_the_notification(
    app, db, client_as, mailbox, vendor, user_factory, partner_admin
):
    """A vendor admin changes the partner's organisation: the partner admin, who turned that mail
    off, gets the in-app notification only. The request runs as the vendor admin."""
    client = client_as(partner_admin)
    client.post("/account/notifications", data={})  # every optional kind off
    vendor_admin = user_factory(vendor)
    with app_session(app, Principal.for_user(vendor_admin)) as session:
        services.notify([partner_admin], "admin.organization_changed", "Your tier changed")
        session.commit()
    assert [n.title for n in notifications_of(db, partner_admin)] == ["Your tier changed"]
    assert mailbox.to(partner_admin.email) == []


def test_security_mail_cannot_be_turned_off(db, client_as, mailbox, partner_admin):
    client = client_as(partner_admin)
    # Every optional kind off, and a forged attempt to name the security kind too.
    client.post("/account/notifications", data={"email_kinds": []})
    client.post("/account/notifications", data={"email_kinds": ["not-account.security"]})
    kinds = set(
        db.scalars(
            select(NotificationPreference.kind).where(
                NotificationPreference.user_id == partner_admin.id
            )
        )
    )
    assert "account.security" not in kinds

    response = client.post(
        "/account/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-password": "a-brand-new-secret",
            "pw-confirm": "a-brand-new-secret",
        },
    )
    assert response.status_code == 302
    [mail] = mailbox.to(partner_admin.email)
    assert mail["Subject"] == "Your password was changed"
    assert [n.kind for n in notifications_of(db, partner_admin)] == ["account.security"]


def test_security_mail_is_sent_even_with_a_stored_choice_against_it(
    app, db, mailbox, partner_admin
):
    db.add(
        NotificationPreference(
            org_id=partner_admin.org_id,
            user_id=partner_admin.id,
            kind="account.security",
            email_enabled=False,
        )
    )
    db.flush()
    with app_session(app) as session:
        services.notify([partner_admin], "account.security", "New sign-in")
        session.commit()
    assert [m["Subject"] for m in mailbox.to(partner_admin.email)] == ["New sign-in"]


# The unread badge and reading.


def _add_notifications(db, user, *titles, link=None):
    rows = [
        Notification(
            org_id=user.org_id, user_id=user.id, kind="admin.member_joined", title=t, link=link
        )
        for t in titles
    ]
    db.add_all(rows)
    db.flush()
    return rows


def test_unread_badge_and_marking_one_then_all_read(client_as, db, partner_admin):
    first, second, third = _add_notifications(db, partner_admin, "One", "Two", "Three")
    first.link = "/account"
    db.flush()
    client = client_as(partner_admin)

    page = client.get("/home").get_data(as_text=True)
    assert nav_unread(page) == 3
    listing = client.get("/notifications/").get_data(as_text=True)
    assert all(title in listing for title in ("One", "Two", "Three"))

    response = client.post(f"/notifications/{first.id}/read")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"  # opening follows the link
    assert nav_unread(client.get("/home").get_data(as_text=True)) == 2

    response = client.post(f"/notifications/{second.id}/read")
    assert response.headers["Location"] == "/notifications/"  # no link: back to the list
    assert nav_unread(client.get("/home").get_data(as_text=True)) == 1

    again = client.post(f"/notifications/{first.id}/read")  # reading twice is harmless
    assert again.status_code == 302
    read_at = {n.id: n.read_at for n in notifications_of(db, partner_admin)}
    assert read_at[first.id] is not None and read_at[second.id] is not None
    assert read_at[third.id] is None

    response = client.post("/notifications/read-all")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "All notifications are marked read." in page
    assert nav_unread(page) == 0
    assert all(n.read_at is not None for n in notifications_of(db, partner_admin))


def test_read_all_leaves_other_users_notifications_alone(
    client_as, db, org_factory, user_factory, partner_admin
):
    colleague = user_factory(partner_admin.org, "partner_user")
    _add_notifications(db, partner_admin, "Mine")
    _add_notifications(db, colleague, "Theirs")
    client = client_as(partner_admin)
    client.post("/notifications/read-all")
    assert [n.read_at for n in notifications_of(db, colleague)] == [None]


@pytest.mark.parametrize("reader_kind", ["colleague", "vendor_admin", "other_partner"])
def test_another_users_notification_is_404(
    client_as, db, vendor, org_factory, user_factory, partner_admin, reader_kind
):
    [theirs] = _add_notifications(db, partner_admin, "Private to the partner admin")
    reader = {
        "colleague": lambda: user_factory(partner_admin.org, "partner_user"),
        "vendor_admin": lambda: user_factory(vendor),
        "other_partner": lambda: user_factory(org_factory("reseller")),
    }[reader_kind]()
    client = client_as(reader)

    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
    assert client.post("/notifications/999999999/read").status_code == 404  # same answer
    listing = client.get("/notifications/").get_data(as_text=True)
    assert "Private to the partner admin" not in listing
    assert nav_unread(listing) == 0
    assert notifications_of(db, partner_admin)[0].read_at is None


# Delivery failures and retries.


def test_smtp_down_keeps_mail_pending_and_tick_delivers_it_once_smtp_is_back(
    app, db, mailbox, monkeypatch, partner_admin
):
    working_smtp = app.config["SMTP_URL"]
    with time_machine.travel(START, tick=False) as traveller:
        monkeypatch.setitem(app.config, "SMTP_URL", closed_port_url())
        with app_session(app) as session:
            services.notify([partner_admin], "account.security", "New sign-in")
            session.commit()  # the inline delivery fails; the commit stands

        [notification] = notifications_of(db, partner_admin)  # in-app is not held up
        [message] = outbox_of(db, partner_admin.email)
        assert message.status == "pending"
        assert message.attempts == 1
        assert message.last_error and "refused" in message.last_error.lower()
        assert message.sent_at is None
        assert mailbox == []

        monkeypatch.setitem(app.config, "SMTP_URL", working_smtp)  # SMTP is back
        with app.app_context():
            # Within the first minute the first try may still be under way: left alone.
            assert jobs.run_periodic(["retry_outbox"]) == {"retry_outbox": 0}
            traveller.shift(timedelta(minutes=2))
            assert jobs.run_periodic(["retry_outbox"]) == {"retry_outbox": 1}
            assert jobs.run_periodic(["retry_outbox"]) == {"retry_outbox": 0}

        [message] = outbox_of(db, partner_admin.email)
        assert message.status == "sent"
        assert message.attempts == 2
        assert message.sent_at == START + timedelta(minutes=2)
        assert [m["Subject"] for m in mailbox.to(partner_admin.email)] == ["New sign-in"]


def test_mail_is_given_up_after_the_last_attempt(app, db, mailbox, monkeypatch, partner_admin):
    monkeypatch.setitem(app.config, "SMTP_URL", closed_port_url())
    with time_machine.travel(START, tick=False) as traveller:
        with app_session(app) as session:
            services.notify([partner_admin], "account.security", "New sign-in")
            session.commit()
        with app.app_context():
            for _ in range(services.MAX_ATTEMPTS - 1):
                traveller.shift(timedelta(minutes=2))
                jobs.run_periodic(["retry_outbox"])
            [message] = outbox_of(db, partner_admin.email)
            assert (message.status, message.attempts) == ("failed", services.MAX_ATTEMPTS)
            traveller.shift(timedelta(minutes=2))
            assert jobs.run_periodic(["retry_outbox"]) == {"retry_outbox": 0}
    assert outbox_of(db, partner_admin.email)[0].attempts == services.MAX_ATTEMPTS
    assert mailbox == []


def test_delivering_the_same_message_twice_sends_it_once(app, db, mailbox, partner_admin):
    message = OutboxMessage(
        org_id=partner_admin.org_id,
        user_id=partner_admin.id,
        kind="account.security",
        to_address=partner_admin.email,
        subject="Only once",
        body_text="Hello",
    )
    db.add(message)
    db.flush()
    path = f"{services.deliver_email.__module__}:{services.deliver_email.__qualname__}"

    with app.app_context():
        session = portal_db.new_session()
        try:
            with jobs.system_session(session), unscoped(session):
                assert services.deliver_email(message.id) is True
                session.commit()
                assert services.deliver_email(message.id) is False
                session.commit()
        finally:
            session.close()
        jobs.run_job(path, (message.id,))  # a worker picking up a duplicate job
        assert jobs.run_periodic(["retry_outbox"]) == {"retry_outbox": 0}

    assert [m["Subject"] for m in mailbox.to(partner_admin.email)] == ["Only once"]
    [stored] = outbox_of(db, partner_admin.email)
    assert (stored.status, stored.attempts) == ("sent", 1)


def test_a_message_being_sent_by_another_worker_is_not_sent_again(app, db, mailbox, partner_admin):
    message = OutboxMessage(
        org_id=partner_admin.org_id,
        user_id=partner_admin.id,
        kind="account.security",
        to_address=partner_admin.email,
        subject="In flight",
        body_text="Hello",
        status="sending",
        attempts=1,
    )
    db.add(message)
    db.flush()
    with app.app_context():
        session = portal_db.new_session()
        try:
            with jobs.system_session(session), unscoped(session):
                assert services.deliver_email(message.id) is False
                session.commit()
        finally:
            session.close()
    assert mailbox == []
