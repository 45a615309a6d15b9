"""Operations: /metrics (Prometheus, behind a token), and JSON log lines with a request id that
reaches the jobs a request queues."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal import jobs, observability
from portal.app import create_app
from portal.clock import utcnow
from portal.notify.models import OutboxMessage

TOKEN = "scrape-token-for-tests"
REDIS_URL = "redis://127.0.0.1:6379/0"


def succeeding_job(note: str) -> None:
    logging.getLogger("portal.tests.jobs").info("job ran: %s", note)


def failing_job() -> None:
    raise RuntimeError("this job fails on purpose")


def job_path(func) -> str:
    return f"{func.__module__}:{func.__qualname__}"


@pytest.fixture
def ops_app(app, db):
    """The portal as production runs it: METRICS_TOKEN set, JSON logs, one proxy in front (whose
    X-Request-ID is trusted), sharing the test's transaction. No SMTP_URL: mail is logged, so a
    job's log line can be seen."""
    ops = create_app(
        {
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": app.config["DATABASE_URL"],
            "DATABASE_ROLE": app.config["DATABASE_ROLE"],
            "SMTP_URL": None,
            "WTF_CSRF_ENABLED": False,
            "BASE_URL": "http://portal.test",
            "SERVER_NAME": None,
            "REDIS_URL": None,
            "TRUSTED_PROXIES": 1,
            "METRICS_TOKEN": TOKEN,
            "LOG_FORMAT": "json",
        }
    )
    ops.extensions["db"].session_factory = app.extensions["db"].session_factory
    yield ops
    ops.extensions["db"].engine.dispose()
    observability.init_logging(app)  # the process's handler back to the suite's format


@pytest.fixture
def log_lines():
    """What the portal's own handler (on the root logger) writes, one entry per line."""
    handler = next(
        h for h in logging.getLogger().handlers if isinstance(h, observability.PortalLogHandler)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: stream.getvalue().splitlines()
    handler.setStream(previous)


def scrape(client) -> dict[tuple[str, frozenset], float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# --- /metrics -----------------------------------------------------------------------------------


def test_metrics_are_not_found_without_the_token(app, client, ops_app):
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    monitor = ops_app.test_client()
    assert monitor.get("/metrics").status_code == 404
    for wrong in (f"Bearer {TOKEN}x", TOKEN, f"Basic {TOKEN}", "Bearer "):
        assert monitor.get("/metrics", headers={"Authorization": wrong}).status_code == 404
    answer = monitor.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert "portal_request_duration_seconds" in answer.get_data(as_text=True)
    assert "Set-Cookie" not in answer.headers


def test_a_request_is_counted_under_its_endpoint_not_its_path(ops_app):
    monitor = ops_app.test_client()
    count = "portal_request_duration_seconds_count"
    before = scrape(monitor)

    assert monitor.get("/healthz").status_code == 200
    assert monitor.get("/no/such/page/4711").status_code == 404

    after = scrape(monitor)
    healthz = {"endpoint": "core.healthz", "method": "GET", "status": "2xx"}
    unmatched = {"endpoint": "unmatched", "method": "GET", "status": "4xx"}
    assert value(after, count, **healthz) == value(before, count, **healthz) + 1
    assert value(after, count, **unmatched) == value(before, count, **unmatched) + 1
    assert value(after, "portal_request_duration_seconds_bucket", **healthz, le="+Inf") >= 1
    assert not any("4711" in str(labels) for _, labels in after)


def test_jobs_run_and_failed_are_counted_by_job(ops_app):
    monitor = ops_app.test_client()
    ok, bad = job_path(succeeding_job), job_path(failing_job)
    before = scrape(monitor)

    with ops_app.app_context():
        jobs.backend().dispatch(ops_app, [(ok, ("one",)), (bad, ()), (ok, ("two",))])

    after = scrape(monitor)

    def delta(name, job):
        return value(after, name, job=job) - value(before, name, job=job)

    assert delta("portal_jobs_run_total", ok) == 2
    assert delta("portal_jobs_failed_total", ok) == 0
    assert delta("portal_jobs_run_total", bad) == 1
    assert delta("portal_jobs_failed_total", bad) == 1


def test_the_outbox_backlog_is_counted_when_scraped(ops_app, db, org_factory, user_factory):
    monitor = ops_app.test_client()
    before = scrape(monitor)
    user = user_factory(org_factory())
    for status in ("pending", "pending", "sending", "failed", "sent"):
        db.add(
            OutboxMessage(
                org_id=user.org_id,
                user_id=user.id,
                kind="account.security",
                to_address=user.email,
                subject=f"A {status} message",
                body_text="Hello",
                status=status,
                created_at=utcnow(),
            )
        )
    db.flush()

    after = scrape(monitor)
    for status, added in (("pending", 2), ("sending", 1), ("failed", 1)):
        name = "portal_outbox_messages"
        assert value(after, name, status=status) == value(before, name, status=status) + added
    assert ("portal_outbox_messages", frozenset({("status", "sent")})) not in after


# --- request ids and JSON logs ------------------------------------------------------------------


def access_lines(lines: list[str]) -> list[dict]:
    return [entry for entry in map(json.loads, lines) if entry["logger"] == "portal.access"]


def test_a_requests_log_line_is_json_with_the_id_it_answers_with(ops_app, log_lines):
    browser = ops_app.test_client()
    forwarded = browser.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c2e-0001"})
    generated = browser.get("/healthz")
    forged = browser.get("/healthz", headers={"X-Request-ID": 'bad", "level": "forged'})
    too_long = browser.get("/healthz", headers={"X-Request-ID": "x" * 129})

    assert forwarded.headers["X-Request-ID"] == "lb-7f3a9c2e-0001"
    assert len(generated.headers["X-Request-ID"]) == 32
    assert len(forged.headers["X-Request-ID"]) == len(too_long.headers["X-Request-ID"]) == 32
    lines = access_lines(log_lines())
    assert [line["request_id"] for line in lines] == [
        answer.headers["X-Request-ID"] for answer in (forwarded, generated, forged, too_long)
    ]
    first = lines[0]
    assert first["level"] == "INFO" and first["message"] == "GET core.healthz 200"
    assert first["time"].startswith(str(utcnow().year)) and first["duration_ms"] >= 0
    assert "user_id" not in first  # nobody signed in


def test_without_a_trusted_proxy_the_clients_request_id_is_not_taken(client):
    answer = client.get("/healthz", headers={"X-Request-ID": "client-chosen-id-0001"})
    assert answer.headers["X-Request-ID"] != "client-chosen-id-0001"


def test_a_signed_in_persons_lines_carry_their_ids_and_no_email(
    ops_app, client_as, org_factory, user_factory, log_lines
):
    user = user_factory(org_factory())
    browser = client_as(user, app=ops_app)
    answer = browser.get("/")
    assert answer.status_code in (200, 302)

    [line] = [
        entry
        for entry in access_lines(log_lines())
        if entry["request_id"] == answer.headers["X-Request-ID"]
    ]
    assert (line["user_id"], line["org_id"]) == (user.id, user.org_id)
    assert user.email not in "\n".join(log_lines())


def test_a_job_queued_by_a_request_logs_with_the_requests_id(
    ops_app, org_factory, user_factory, log_lines
):
    user = user_factory(org_factory())
    # Buffered: the answer is closed, as a server closes it once sent, and the job runs.
    answer = ops_app.test_client().post(
        "/password/forgot", data={"email": user.email}, buffered=True
    )
    assert answer.status_code == 302

    request_id = answer.headers["X-Request-ID"]
    lines = [json.loads(line) for line in log_lines()]
    mail = [line for line in lines if line["logger"] == "portal.mail"]
    assert mail, lines  # the reset email, logged by the delivery job (no SMTP_URL)
    assert {line["request_id"] for line in mail} == {request_id}


def test_a_job_outside_any_request_gets_an_id_of_its_own(ops_app, log_lines):
    with ops_app.app_context():
        jobs.run_job(job_path(succeeding_job), ("from a tick",))
    [line] = [json.loads(line) for line in log_lines() if "from a tick" in line]
    assert line["message"] == "job ran: from a tick" and len(line["request_id"]) == 32


@pytest.fixture
def redis_jobs(ops_app, monkeypatch):
    """A Redis backend on a queue of this test's own, installed as the app's job backend."""
    backend = jobs.RedisBackend(REDIS_URL, queue_name=f"portal-test-{uuid.uuid4().hex}")
    monkeypatch.setitem(ops_app.extensions, "jobs", backend)
    yield backend
    backend.queue.delete(delete_jobs=True)
    for key in backend.connection.scan_iter(f"*{backend.queue.name}*"):
        backend.connection.delete(key)
    backend.connection.close()


def work_off(app, backend) -> None:
    from rq import SimpleWorker

    with app.app_context():
        SimpleWorker([backend.queue], connection=backend.connection).work(burst=True)


@pytest.mark.redis
def test_the_request_id_travels_with_a_job_through_redis(ops_app, redis_jobs, log_lines):
    with ops_app.test_request_context(headers={"X-Request-ID": "lb-queued-by-0002"}):
        ops_app.preprocess_request()  # the request's hooks, the id among them
        redis_jobs.dispatch(ops_app, [(job_path(succeeding_job), ("through redis",))])
    work_off(ops_app, redis_jobs)

    lines = [json.loads(line) for line in log_lines()]
    [line] = [line for line in lines if line["logger"] == "portal.tests.jobs"]
    assert line["message"] == "job ran: through redis"
    assert line["request_id"] == "lb-queued-by-0002"


@pytest.mark.redis
def test_jobs_of_rq_workers_are_counted_in_redis(ops_app, redis_jobs):
    """A worker runs each job in a forked child: its counts are kept in Redis, not in a process
    that ends with the job, and /metrics reads them from there."""
    ok, bad = job_path(succeeding_job), job_path(failing_job)
    redis_jobs.dispatch(ops_app, [(ok, ("one",)), (bad, ()), (ok, ("two",))])
    work_off(ops_app, redis_jobs)

    after = scrape(ops_app.test_client())
    assert value(after, "portal_jobs_run_total", job=ok) == 2
    assert value(after, "portal_jobs_failed_total", job=ok) == 0
    assert value(after, "portal_jobs_run_total", job=bad) == 1
    assert value(after, "portal_jobs_failed_total", job=bad) == 1


# --- several gunicorn workers -------------------------------------------------------------------


def test_gunicorn_workers_add_up_their_counts_in_the_multiprocess_directory(app, tmp_path):
    """Production's shape: gunicorn with two workers, each replaced after 15 requests, and
    PROMETHEUS_MULTIPROC_DIR set. Whichever worker answers /metrics reports every request of
    every worker, those that have since exited included; the log lines, gunicorn's own with the
    portal's, are JSON (production's default)."""
    import os
    import subprocess
    import sys
    import time
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from portal.config import PROJECT_ROOT
    from tests.conftest import free_port

    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    unsafe = ("REDIS_URL", "SMTP_URL", "TEST_DATABASE_URL", "SERVER_NAME", "LOG_FORMAT")
    env = {k: v for k, v in os.environ.items() if k not in unsafe}
    env.update(
        PORTAL_ENV="production",
        SECRET_KEY="gunicorn-test-secret",
        DATABASE_URL=app.config["DATABASE_URL"],
        BASE_URL=f"http://127.0.0.1:{port}",
        METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        PYTHONPATH=str(PROJECT_ROOT),
    )
    if app.config["DATABASE_ROLE"]:
        env["DATABASE_ROLE"] = app.config["DATABASE_ROLE"]
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen(  # noqa: S603 - our interpreter, our app, loopback only
            [sys.executable, "-m", "gunicorn", "--config", "python:portal.gunicorn_conf",
             "--workers", "2", "--max-requests", "15", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/metrics", headers=auth, timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a worker still booting
                pass
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.2)

        def healthz_count() -> float:
            answer = requests.get(f"{base}/metrics", headers=auth, timeout=10)
            assert answer.status_code == 200
            return sum(
                sample.value
                for family in text_string_to_metric_families(answer.text)
                for sample in family.samples
                if sample.name == "portal_request_duration_seconds_count"
                and sample.labels["endpoint"] == "core.healthz"
            )

        before = healthz_count()

        def healthz(_):
            return requests.get(f"{base}/healthz", timeout=30).status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            assert set(pool.map(healthz, range(30))) == {200}
        assert healthz_count() == before + 30
    finally:
        server.terminate()
        server.wait(timeout=30)

    pids = {path.stem.rsplit("_", 1)[1] for path in metrics_dir.glob("histogram_*.db")}
    assert len(pids) >= 3  # over 30 requests, at most 15 per worker: one was replaced at least
    access = [
        json.loads(line)
        for line in log_path.read_text().splitlines()
        if line.startswith("{") and '"portal.access"' in line
    ]
    assert len(access) >= 30 and all(len(line["request_id"]) == 32 for line in access)
    lines = log_path.read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines), [
        line for line in lines if not line.startswith("{")
    ][:3]
    gunicorns = [json.loads(line) for line in lines if '"gunicorn.error"' in line]
    assert any("Booting worker" in line["message"] for line in gunicorns)


def test_logs_are_json_in_production_unless_set_otherwise():
    from portal.config import ConfigurationError, from_environment

    production = {"PORTAL_ENV": "production", "SECRET_KEY": "k"}
    assert from_environment(production)["LOG_FORMAT"] == "json"
    assert from_environment({**production, "LOG_FORMAT": "text"})["LOG_FORMAT"] == "text"
    assert from_environment({})["LOG_FORMAT"] == "text"  # the demo's console, read by a person
    assert from_environment({})["METRICS_TOKEN"] is None  # no /metrics at all
    with pytest.raises(ConfigurationError, match="LOG_FORMAT must be json or text"):
        from_environment({"LOG_FORMAT": "xml"})
