"""How the portal is doing, for whoever runs it: Prometheus metrics and logs with a request id.

Metrics (prometheus_client):

- ``portal_request_duration_seconds{endpoint, method, status}``: a histogram of every request,
  labelled with the Flask endpoint name (never the raw path: ids and tokens in paths would make
  a series per record) and the status class (``2xx``...);
- ``portal_jobs_run_total{job}`` and ``portal_jobs_failed_total{job}``: every job run by
  ``portal.jobs.run_job``, by its ``module:function``. Inline jobs are counted in the process;
  jobs of RQ workers in Redis (a worker runs each job in a forked child, whose counts would die
  with it), read at scrape time, so every worker on every host is counted;
- ``portal_outbox_messages{status}``: the email outbox's pending, sending and failed messages,
  counted when scraped (a backlog is state, not an event);
- ``portal_webhook_deliveries_total{outcome}``: for webhook deliveries, once they exist.

``/metrics`` answers only when ``METRICS_TOKEN`` is set and the request bears it
(``Authorization: Bearer``), 404 otherwise, so the portal does not say it has such a page. Under
gunicorn every worker counts on its own; with ``PROMETHEUS_MULTIPROC_DIR`` set (an empty
directory, created before gunicorn starts) they write their counts there and any worker's
``/metrics`` adds up all of them. Without it (the embedded demo) counts live in the process.

Logs: every request gets an id (the trusted proxy's ``X-Request-ID`` when it is well formed,
else a new one), sent back in ``X-Request-ID``, put on every log line written while the request
runs (with the signed-in person's user and organisation ids, never their email) and carried to
the jobs the request queues. ``LOG_FORMAT=json`` writes one JSON object per line.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Blueprint, Flask, Response, abort, current_app, g, has_app_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import func, select

from portal.db import db, read_across

# The process's own metrics; a registry of ours, so that several apps in one process (the tests)
# share them and the default registry's process and platform collectors stay out.
REGISTRY = CollectorRegistry()
REQUEST_DURATION = Histogram(
    "portal_request_duration_seconds",
    "Time to answer a request, by Flask endpoint, method and status class.",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
# Jobs run inline, in the app's processes; in a registry of their own, left out where the jobs
# are counted in Redis (one metric must not come from two places).
INLINE_JOBS = CollectorRegistry()
JOBS_RUN_HELP = "Jobs run (failed ones included), by job."
JOBS_FAILED_HELP = "Jobs that raised, by job."
JOBS_RUN = Counter("portal_jobs_run", JOBS_RUN_HELP, ["job"], registry=INLINE_JOBS)
JOBS_FAILED = Counter("portal_jobs_failed", JOBS_FAILED_HELP, ["job"], registry=INLINE_JOBS)
WEBHOOK_DELIVERIES = Counter(
    "portal_webhook_deliveries",
    "Webhook deliveries, by outcome (delivered, failed).",
    ["outcome"],
    registry=REGISTRY,
)
OUTBOX_BACKLOG = ("pending", "sending", "failed")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# A request id from a proxy is a label, not data: short, and nothing that could break a log line.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
log = logging.getLogger(__name__)
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

bp = Blueprint("observability", __name__)


def init_app(app: Flask) -> None:
    """Before every other hook: the request id and the clock start first, so that a request a
    rate limit refuses is counted and logged with its id too."""
    from portal.extensions import csrf

    init_logging(app)
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)
    app.register_blueprint(bp)
    csrf.exempt(bp)


# --- request ids and logs ---------------------------------------------------------------------


def current_request_id() -> str | None:
    """The id of the request (or job) running now, if any."""
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def job_context(
    job: str, request_id: str | None, count: Callable[[str, bool], None]
) -> Iterator[None]:
    """Around one job: its log lines carry the id of the request that queued it (a new one when
    a tick or a shell queued it), and ``count(job, failed)`` counts it once it has run."""
    token = _request_id.set(request_id or new_request_id())
    failed = True
    try:
        yield
        failed = False
    finally:
        _request_id.reset(token)
        count(job, failed)


def count_inline_job(job: str, failed: bool) -> None:
    JOBS_RUN.labels(job).inc()
    if failed:
        JOBS_FAILED.labels(job).inc()


def inline_job_counts() -> CollectorRegistry | None:
    """What /metrics adds for inline jobs: their counters (with PROMETHEUS_MULTIPROC_DIR set,
    nothing: the workers' files hold them already)."""
    return None if _multiprocess() else INLINE_JOBS


class RedisJobCounts:
    """The RQ workers' job counts, kept in Redis beside their queue (every worker on every host
    adds to them) and read from there when /metrics is scraped."""

    def __init__(self, connection, queue_name: str) -> None:
        self.connection = connection
        self.keys = {kind: f"portal:metrics:{queue_name}:jobs_{kind}" for kind in ("run", "failed")}

    def count(self, job: str, failed: bool) -> None:
        """A count lost while Redis is away is only a count: the job's outcome stands."""
        from redis.exceptions import RedisError

        try:
            with self.connection.pipeline() as pipe:
                pipe.hincrby(self.keys["run"], job, 1)
                if failed:
                    pipe.hincrby(self.keys["failed"], job, 1)
                pipe.execute()
        except RedisError as error:
            log.warning("job %s not counted: %s", job, type(error).__name__)

    def collect(self):
        from redis.exceptions import RedisError

        try:
            counts = {kind: self.connection.hgetall(key) for kind, key in self.keys.items()}
        except RedisError as error:  # the scrape goes on without them; /healthz says why
            log.warning("job counts not read from Redis: %s", type(error).__name__)
            return
        for kind, help_text in (("run", JOBS_RUN_HELP), ("failed", JOBS_FAILED_HELP)):
            family = CounterMetricFamily(f"portal_jobs_{kind}", help_text, labels=["job"])
            for job, total in sorted(counts[kind].items()):
                family.add_metric([job.decode()], int(total))
            yield family


class RequestContextFilter(logging.Filter):
    """Adds the request id, and the signed-in person's ids, to every record the handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        if request_id is not None:
            record.request_id = request_id
            principal = g.get("principal") if has_app_context() else None
            if principal is not None:
                record.user_id = principal.user_id
                record.org_id = principal.org_id
        return True


def init_logging(app: Flask) -> None:
    """One handler on the root logger, to standard error, in the app's ``LOG_FORMAT``. Logging
    belongs to the process: building another app (tests do) sets the same handler's format."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, PortalLogHandler)), None)
    if handler is None:
        handler = PortalLogHandler()
        handler.addFilter(RequestContextFilter())
        root.addHandler(handler)
    handler.setFormatter(formatter(app.config["LOG_FORMAT"]))
    logging.getLogger("portal").setLevel(logging.INFO)


class PortalLogHandler(logging.StreamHandler):
    """The portal's own handler (a class of its own, so that it is found again, not doubled)."""


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )
    return logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        defaults={"request_id": "-"},
    )


def _start_request() -> None:
    g.request_started = time.perf_counter()
    offered = request.headers.get("X-Request-ID", "")
    # Only a proxy of ours sets the header; without one (TRUSTED_PROXIES=0) a client could pick
    # ids that mislead whoever reads the logs.
    trusted = current_app.config.get("TRUSTED_PROXIES") and REQUEST_ID.fullmatch(offered)
    _request_id.set(offered if trusted else new_request_id())


def _finish_request(response: Response) -> Response:
    request_id = _request_id.get()
    if request_id is not None:
        response.headers["X-Request-ID"] = request_id
    started = g.get("request_started")
    if started is None:
        return response
    elapsed = time.perf_counter() - started
    endpoint = request.endpoint or "unmatched"  # 404 and 405 of no route: one series for all
    method = request.method if request.method in METHODS else "other"
    REQUEST_DURATION.labels(endpoint, method, f"{response.status_code // 100}xx").observe(elapsed)
    if current_app.config["LOG_FORMAT"] == "json":
        # The access line (in text mode, the development server writes its own). The endpoint,
        # not the path: paths hold reset and survey tokens.
        logging.getLogger("portal.access").info(
            "%s %s %s",
            method,
            endpoint,
            response.status_code,
            extra={"duration_ms": round(elapsed * 1000, 1)},
        )
    return response


def _end_request(exc: BaseException | None) -> None:
    _request_id.set(None)


# --- /metrics ---------------------------------------------------------------------------------


@bp.get("/metrics")
def metrics():
    """Prometheus's scrape. Reads no tenant's data: the outbox is counted by status only."""
    token = current_app.config.get("METRICS_TOKEN")
    offered = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        abort(404)
    scrape = CollectorRegistry()
    if _multiprocess():
        multiprocess.MultiProcessCollector(scrape)  # every worker's counts, from their files
    else:
        scrape.register(REGISTRY)
    jobs = current_app.extensions["jobs"].job_counts()
    if jobs is not None:
        scrape.register(jobs)
    scrape.register(_OutboxBacklog())
    return Response(generate_latest(scrape), content_type=CONTENT_TYPE_LATEST)


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class _OutboxBacklog:
    """Counted at scrape time, in a session of its own, across organisations (counts only:
    read past the wall, as every reviewed read across organisations is)."""

    def collect(self):
        from portal.notify.models import OutboxMessage

        gauge = GaugeMetricFamily(
            "portal_outbox_messages", "Email outbox messages by status.", labels=["status"]
        )
        session = db.new_session()
        try:
            with read_across(session) as reader:  # a count per status, no row of anyone's
                counts = dict(
                    reader.execute(
                        select(OutboxMessage.status, func.count())
                        .where(OutboxMessage.status.in_(OUTBOX_BACKLOG))
                        .group_by(OutboxMessage.status)
                    ).all()
                )
        finally:
            session.close()
        for status in OUTBOX_BACKLOG:
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge
