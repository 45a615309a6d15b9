"""The outbox claims a message with a lease: a delivery whose worker died mid-send leaves it in
``sending`` only until the lease ends, then the tick sends it again, once; a delivery still under
way is left alone however old its message; a late outcome of a delivery that lost its lease
changes nothing; two deliveries at once send once. Through the real loopback SMTP server, with a
frozen clock; the race on real concurrent connections, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import delete, select

from portal import jobs
from portal.config import ConfigurationError, from_environment
from portal.db import unscoped
from portal.engine import make_engine
from portal.identity.models import Organization
from portal.notify import mail as mail_transport
from portal.notify import services
from portal.notify.models import OutboxMessage
from tests import factories
from tests.integration.race_support import together

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DELIVER = f"{services.deliver_email.__module__}:{services.deliver_email.__qualname__}"
real_send = mail_transport.send


class WorkerKilled(BaseException):
    """A worker stopped mid-send (SIGKILL, a lost machine): nothing after it runs, not even an
    ``except Exception``."""


def die(*args, **kwargs):
    raise WorkerKilled


@pytest.fixture
def message(db, org_factory):
    def write(subject: str, created_at: datetime = START) -> OutboxMessage:
        org = org_factory("reseller")
        row = OutboxMessage(
            org_id=org.id,
            kind="account.security",
            to_address=f"lease{org.id}@outbox.test",
            subject=subject,
            body_text="Hello",
            created_at=created_at,
        )
        db.add(row)
        db.flush()
        return row

    return write


def stored(db, message_id: int) -> OutboxMessage:
    return db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .execution_options(populate_existing=True)
    ).one()


def tick() -> int:
    return jobs.run_periodic(["retry_outbox"])["retry_outbox"]


def test_the_lease_is_a_setting_longer_than_an_smtp_exchange():
    assert from_environment({})["OUTBOX_LEASE_SECONDS"] > mail_transport.TIMEOUT_SECONDS
    assert from_environment({"OUTBOX_LEASE_SECONDS": "3"})["OUTBOX_LEASE_SECONDS"] == 3
    for wrong in ("0", "-5", "soon"):
        with pytest.raises(ConfigurationError, match="OUTBOX_LEASE_SECONDS"):
            from_environment({"OUTBOX_LEASE_SECONDS": wrong})


def test_a_message_whose_worker_died_mid_send_is_sent_once_after_its_lease_ends(
    app, db, mailbox, monkeypatch, message
):
    lease = timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
    dropped = message("Sent once")
    with time_machine.travel(START, tick=False) as clock, app.app_context():
        with monkeypatch.context() as patch, pytest.raises(WorkerKilled):
            patch.setattr(mail_transport, "send", die)
            jobs.run_job(DELIVER, (dropped.id,))
        left = stored(db, dropped.id)
        assert (left.status, left.attempts, left.claimed_until) == ("sending", 1, START + lease)

        clock.shift(lease - timedelta(seconds=1))  # the lease still runs: maybe still sending
        assert tick() == 0
        assert stored(db, dropped.id).status == "sending"
        assert mailbox == []

        clock.shift(timedelta(seconds=2))  # the lease has ended: the worker is gone
        assert tick() == 1
        assert tick() == 0

    sent = stored(db, dropped.id)
    assert (sent.status, sent.attempts, sent.claimed_until) == ("sent", 2, None)
    assert sent.sent_at == START + lease + timedelta(seconds=1)
    assert [m["Subject"] for m in mailbox.to(sent.to_address)] == ["Sent once"]


def test_a_delivery_under_way_is_not_freed_however_old_its_message(
    app, db, mailbox, monkeypatch, message
):
    """Freed by age (the old rule, ten minutes after it was written), a message whose queue was
    slow would be sent by the tick while its worker is sending it."""
    lease = timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
    old = message("Written an hour ago", created_at=START - timedelta(hours=1))
    ticks = []
    with time_machine.travel(START, tick=False) as clock, app.app_context():

        def slow_send(*args, **kwargs):
            clock.shift(lease - timedelta(seconds=1))  # SMTP takes nearly the whole lease
            ticks.append(tick())
            real_send(*args, **kwargs)

        monkeypatch.setattr(mail_transport, "send", slow_send)
        jobs.run_job(DELIVER, (old.id,))
        assert tick() == 0

    assert ticks == [0]
    sent = stored(db, old.id)
    assert (sent.status, sent.attempts, sent.claimed_until) == ("sent", 1, None)
    assert [m["Subject"] for m in mailbox.to(sent.to_address)] == ["Written an hour ago"]


def test_a_late_failure_of_a_delivery_that_lost_its_lease_changes_nothing(
    app, db, mailbox, monkeypatch, message
):
    """The tick freed and sent the message while the first worker hung past its lease; that
    worker's failure then must not put the sent message back to pending (a third send)."""
    lease = timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
    hung = message("Sent by the tick")
    with time_machine.travel(START, tick=False) as clock, app.app_context():

        def hang_then_fail(*args, **kwargs):
            monkeypatch.setattr(mail_transport, "send", real_send)  # the tick's try works
            clock.shift(lease + timedelta(seconds=1))
            assert tick() == 1
            raise ConnectionResetError("the server went away")

        monkeypatch.setattr(mail_transport, "send", hang_then_fail)
        jobs.run_job(DELIVER, (hung.id,))
        assert tick() == 0

    sent = stored(db, hung.id)
    assert (sent.status, sent.attempts, sent.last_error) == (
        "sent",
        2,
        "the delivery did not finish within its lease",
    )
    assert [m["Subject"] for m in mailbox.to(sent.to_address)] == ["Sent by the tick"]


def test_a_message_stranded_on_its_last_attempt_fails_instead_of_looping(
    app, db, mailbox, monkeypatch, message
):
    lease = timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
    last = message("Given up")
    db.execute(  # four attempts failed before this one
        OutboxMessage.__table__.update()
        .where(OutboxMessage.id == last.id)
        .values(attempts=services.MAX_ATTEMPTS - 1)
    )
    with time_machine.travel(START, tick=False) as clock, app.app_context():
        with monkeypatch.context() as patch, pytest.raises(WorkerKilled):
            patch.setattr(mail_transport, "send", die)
            jobs.run_job(DELIVER, (last.id,))
        clock.shift(lease + timedelta(seconds=1))
        assert tick() == 0
    failed = stored(db, last.id)
    assert (failed.status, failed.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert mailbox == []


# Two deliveries at once, on connections of their own.


@pytest.fixture
def committed_message(app):
    """A pending message of an organisation of its own, committed for real (the deliveries need
    their own connections); removed afterwards by a connection that row-level security does not
    bind."""
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        org = factories.make_org(session, "reseller", name="Outbox Racing Reseller")
        row = OutboxMessage(
            org_id=org.id,
            kind="account.security",
            to_address="race@outbox.test",
            subject="Raced once",
            body_text="Hello",
        )
        session.add(row)
        session.commit()
        org_id, message_id = org.id, row.id
    session.close()
    yield message_id
    admin = make_engine(app.config["DATABASE_URL"])
    with admin.begin() as conn:
        conn.execute(delete(OutboxMessage.__table__).where(OutboxMessage.org_id == org_id))
        conn.execute(delete(Organization.__table__).where(Organization.id == org_id))
    admin.dispose()


def test_two_deliveries_at_once_send_once(app, mailbox, committed_message):
    outcomes: list[bool] = []

    def deliver() -> int:
        with app.app_context():
            session = app.extensions["db"].session_factory()
            try:
                with jobs.system_session(session), unscoped(session):
                    outcomes.append(services.deliver_email(committed_message))
                    session.commit()
            finally:
                session.close()
        return 200

    # Both read it pending before either claims it (on SQLite the second waits for the write
    # lock instead, as its transaction begins).
    together(app, "SELECT outbox_messages.id", [deliver, deliver])

    assert sorted(outcomes) == [False, True]
    assert [m["Subject"] for m in mailbox.to("race@outbox.test")] == ["Raced once"]
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        row = session.get(OutboxMessage, committed_message)
        assert (row.status, row.attempts, row.claimed_until) == ("sent", 1, None)
    session.close()
