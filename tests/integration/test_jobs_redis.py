"""Background jobs: the Redis backend with a real RQ worker, and ``flask tick``."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import jobs
from portal.clock import utcnow
from portal.notify.models import OutboxMessage
from portal.notify.services import deliver_email

REDIS_URL = "redis://127.0.0.1:6379/0"
DELIVER = f"{deliver_email.__module__}:{deliver_email.__qualname__}"


def outbox_message(db, user, subject: str, *, age: timedelta = timedelta(0)) -> OutboxMessage:
    message = OutboxMessage(
        org_id=user.org_id,
        user_id=user.id,
        kind="account.security",
        to_address=user.email,
        subject=subject,
        body_text="Hello",
        created_at=utcnow() - age,
    )
    db.add(message)
    db.flush()
    return message


def refreshed(db, message: OutboxMessage) -> OutboxMessage:
    db.refresh(message)
    return message


@pytest.fixture
def redis_backend(app, monkeypatch):
    """A Redis backend on a queue of this test's own, installed as the app's job backend."""
    backend = jobs.RedisBackend(REDIS_URL, queue_name=f"portal-test-{uuid.uuid4().hex}")
    monkeypatch.setitem(app.extensions, "jobs", backend)
    yield backend
    from rq.job import Job

    queue = backend.queue
    job_ids = {
        *queue.get_job_ids(),
        *queue.finished_job_registry.get_job_ids(),
        *queue.failed_job_registry.get_job_ids(),
    }
    for job in Job.fetch_many(sorted(job_ids), connection=backend.connection):
        if job is not None:
            job.delete()  # with its results
    queue.delete(delete_jobs=True)
    for key in backend.connection.scan_iter(f"*{queue.name}*"):
        backend.connection.delete(key)
    backend.connection.close()


def work_off(app, backend: jobs.RedisBackend) -> None:
    """Run every queued job in this process (rq's SimpleWorker), inside the app's context, the way
    ``flask worker`` does."""
    from rq import SimpleWorker

    with app.app_context():
        SimpleWorker([backend.queue], connection=backend.connection).work(burst=True)


@pytest.mark.redis
def test_dispatched_job_runs_in_an_rq_worker(
    app, db, mailbox, redis_backend, org_factory, user_factory
):
    user = user_factory(org_factory())
    message = outbox_message(db, user, "Through Redis")

    redis_backend.dispatch(app, [(DELIVER, (message.id,))])
    assert redis_backend.queue.count == 1
    assert mailbox == []  # queued, not run
    [rq_job] = redis_backend.queue.get_jobs()

    work_off(app, redis_backend)

    assert rq_job.get_status(refresh=True) == "finished"
    assert redis_backend.queue.count == 0
    stored = refreshed(db, message)
    assert (stored.status, stored.attempts) == ("sent", 1)
    assert [m["Subject"] for m in mailbox.to(user.email)] == ["Through Redis"]


@pytest.mark.redis
def test_a_request_queues_its_job_in_redis_only_after_commit(
    app, db, client, mailbox, redis_backend, org_factory, user_factory
):
    user = user_factory(org_factory())
    response = client.post("/password/forgot", data={"email": user.email})
    assert response.status_code == 302

    # The request queued the reset job only (it looks nothing up, so it writes no email).
    to_user = select(OutboxMessage).where(OutboxMessage.to_address == user.email)
    assert db.scalars(to_user).all() == []
    assert redis_backend.queue.count == 1
    assert mailbox == []

    work_off(app, redis_backend)  # the reset job writes the email and queues its delivery

    [message] = db.scalars(to_user)
    assert refreshed(db, message).status == "sent"
    [mail] = mailbox.to(user.email)
    assert mail["Subject"] == "Reset your password"


@pytest.mark.redis
def test_nothing_reaches_redis_when_the_transaction_rolls_back(
    app, db, mailbox, redis_backend, org_factory, user_factory
):
    from portal.db import db as portal_db
    from portal.db import unscoped
    from portal.notify import services

    user = user_factory(org_factory())
    with app.test_request_context(), unscoped(portal_db.session) as session:
        services.notify([user], "account.security", "Never sent")
        session.rollback()
        session.commit()
    assert redis_backend.queue.count == 0


@pytest.mark.redis
def test_a_job_delivered_twice_by_redis_sends_once(
    app, db, mailbox, redis_backend, org_factory, user_factory
):
    user = user_factory(org_factory())
    message = outbox_message(db, user, "Once")
    redis_backend.dispatch(app, [(DELIVER, (message.id,)), (DELIVER, (message.id,))])
    work_off(app, redis_backend)
    assert len(mailbox.to(user.email)) == 1
    assert refreshed(db, message).attempts == 1


def test_flask_tick_twice_does_not_send_twice(app, db, mailbox, org_factory, user_factory):
    user = user_factory(org_factory())
    stuck = outbox_message(db, user, "Stuck since a worker died", age=timedelta(minutes=5))
    fresh = outbox_message(db, user, "Just written")  # its own first try may still be running
    runner = app.test_cli_runner()

    # The `flask` command (FlaskGroup) pushes an app context for every command; the test runner
    # invokes app.cli directly, and tick is a plain click command, so push it as `flask` would.
    with app.app_context():
        first = runner.invoke(args=["tick"])
    assert first.exit_code == 0, first.output
    assert "retry_outbox: 1" in first.output
    with app.app_context():
        second = runner.invoke(args=["tick", "retry_outbox"])
    assert second.exit_code == 0, second.output
    assert "retry_outbox: 0" in second.output

    assert [m["Subject"] for m in mailbox.to(user.email)] == ["Stuck since a worker died"]
    assert refreshed(db, stuck).status == "sent"
    assert refreshed(db, fresh).status == "pending"


@pytest.mark.redis
def test_the_health_check_reports_the_queue_and_an_unreachable_redis(app, client, redis_backend):
    """/healthz: 200 with the queue's figures while Redis answers; when it does not, still 200
    (pages are served, jobs run inline) but "degraded", naming the job queue: a load balancer
    keeps the host, a monitor raises it."""
    redis_backend.queue.enqueue("portal.jobs.run_in_worker", "x:y", ())
    answer = client.get("/healthz")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "ok" and body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["jobs"] == {
        "status": "ok",
        "mode": "redis",
        "waiting": 1,
        "failed": 0,
        "workers": 0,
    }

    unreachable = jobs.RedisBackend("redis://127.0.0.1:1/0")  # nothing listens on port 1
    app.extensions["jobs"] = unreachable
    answer = client.get("/healthz")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "degraded" and body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["jobs"]["status"] == "unavailable"
    assert body["checks"]["jobs"]["error"] == "ConnectionError"


def test_the_health_check_of_the_embedded_mode(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "status": "ok",
        "checks": {"database": {"status": "ok"}, "jobs": {"status": "ok", "mode": "inline"}},
    }


def test_the_health_check_without_its_database():
    """The one thing that takes a host out of the load balancer: no database."""
    from portal.app import create_app

    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": "postgresql+psycopg://portal@127.0.0.1:1/portal",  # nothing listens
            "REDIS_URL": None,
        }
    )
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"status": "unavailable", "error": "OperationalError"}
    app.extensions["db"].engine.dispose()
