"""Background work behind one small interface, with two backends.

- inline (default): a job runs in this process right after the transaction that queued it
  commits, so the embedded mode needs no services; a job marked ``after_answer`` runs once the
  request's answer has been sent, so its time is not the answer's;
- Redis (``REDIS_URL`` set): the job goes to an RQ queue and ``flask worker`` runs it.

Either way a job only runs if the change that queued it committed, and it runs in its own session
that opts out of the tenant wall (jobs serve every organisation) and commits once. That session is
bound as the shared ``db.session`` for the job's duration, so jobs and ticks call the same
services, with the same signatures, as requests do.

Periodic work (expiries, SLA checks) is registered by each package's ``init_app`` with
``add_periodic`` and runs from ``flask tick``; every periodic task must be safe to run twice, or
concurrently.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal import observability
from portal.db import db, unscoped

log = logging.getLogger(__name__)

_PENDING = "jobs_pending"
PERIODIC: dict[str, Callable[[], int | None]] = {}


@contextmanager
def system_session(session: Session) -> Iterator[Session]:
    """Bind a job's own session as the shared ``db.session`` for the duration of the block; the
    request's session, if any, comes back after. ``run_job`` and ``run_periodic`` do this once
    for every job and tick."""
    previous = g.pop("db_session", None)
    g.db_session = session
    try:
        yield session
    finally:
        g.pop("db_session", None)
        if previous is not None:
            g.db_session = previous


# Jobs whose running time must not show in the answer of the request that queued them: what
# they find out (whether an address has an account) would show in how long the answer took.
AFTER_ANSWER: set[str] = set()


def after_answer(func: Callable) -> Callable:
    """Mark a job function: run inline, it runs after the request's answer has been sent (with
    a queue it runs in a worker anyway)."""
    AFTER_ANSWER.add(f"{func.__module__}:{func.__qualname__}")
    return func


def add_periodic(name: str, func: Callable[[], int | None]) -> None:
    """Run ``func() -> count`` on every ``flask tick`` (a package's ``init_app`` registers it;
    registering again replaces)."""
    PERIODIC[name] = func


def enqueue(func: Callable, *args, session: Session | None = None) -> None:
    """Run ``func(*args)`` after ``session`` (default: the shared one) commits, with the job's
    own session bound as ``db.session``.

    ``func`` must be a module-level function; arguments must be plain values (ids, not objects).
    Nothing runs if the transaction rolls back.
    """
    session = session if session is not None else db.session
    # Queued inside a savepoint, the job belongs to it: dropped if it rolls back.
    savepoint = session.get_nested_transaction()
    session.info.setdefault(_PENDING, []).append((_path(func), args, savepoint))


def enqueue_once(func: Callable, *args, session: Session | None = None) -> bool:
    """``enqueue(func, *args)`` unless the same call is queued already, waiting for this
    transaction to commit (a call queued in a savepoint that rolled back is not: it was
    dropped). Returns whether it queued it."""
    session = session if session is not None else db.session
    path = _path(func)
    if any(p == path and a == args for p, a, _ in session.info.get(_PENDING, [])):
        return False
    enqueue(func, *args, session=session)
    return True


def _path(func: Callable) -> str:
    return f"{func.__module__}:{func.__qualname__}"


def _resolve(path: str) -> Callable:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def run_job(path: str, args: tuple, request_id: str | None = None) -> None:
    """Run one job in its own unscoped session and commit it. RQ workers call this too.
    ``request_id``: of the request that queued it, for the job's log lines."""
    session = db.new_session()
    try:
        with (
            observability.job_context(path, request_id, backend().count_job),
            system_session(session),
            unscoped(session),  # reason: a job serves every org
        ):
            _resolve(path)(*args)
            session.commit()
    except Exception:
        session.rollback()
        log.exception("job %s%r failed", path, args)
        raise
    finally:
        session.close()


class InlineBackend:
    def health(self) -> dict:
        return {"status": "ok", "mode": "inline"}

    def count_job(self, job: str, failed: bool) -> None:
        observability.count_inline_job(job, failed)

    def job_counts(self):
        return observability.inline_job_counts()

    def dispatch(self, app: Flask, jobs: list[tuple[str, tuple]]) -> None:
        for path, args in jobs:
            if path in AFTER_ANSWER and has_request_context():
                _run_after_answer(app, path, args, observability.current_request_id())
                continue
            try:
                run_job(path, args, observability.current_request_id())
            except Exception:  # noqa: S112 - logged in run_job; the request that queued it committed
                continue


def _run_after_answer(app: Flask, path: str, args: tuple, request_id: str | None) -> None:
    """Run the job once the request's answer has been handed to the WSGI server
    (``_AfterAnswer``)."""

    def run() -> None:
        # A failure is logged in run_job; the answer is sent already.
        with app.app_context(), contextlib.suppress(Exception):
            run_job(path, args, request_id)

    request.environ.setdefault(_AFTER_ANSWER_KEY, []).append(run)


_AFTER_ANSWER_KEY = "portal.after_answer"


class _AfterAnswer:
    """WSGI middleware: what a request left in its environ under ``_AFTER_ANSWER_KEY`` runs once
    the server has taken the answer's last chunk (when the answer says its length, so the client
    has it all then), or when the server closes the answer, whichever comes first, and once. Not
    on ``close()`` alone: Werkzeug's server (``flask demo``, the browser tests) skips it when the
    client drops the connection as the answer ends, and the job was lost. A streamed answer (no
    length) waits for ``close()``: the server ends it only after its last chunk."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        sized: list[bool] = []

        def start(status, headers, exc_info=None):
            sized.append(any(name.lower() == "content-length" for name, _ in headers))
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, start)
        waiting = environ.get(_AFTER_ANSWER_KEY)
        return _ThenRun(body, waiting, sized) if waiting else body


class _ThenRun:
    def __init__(self, body, waiting: list[Callable[[], None]], sized: list[bool]) -> None:
        self.body = body
        self.waiting = waiting
        self.sized = sized  # whether the answer's headers, once started, gave its length

    def __iter__(self):
        yield from self.body
        if self.sized and self.sized[-1]:
            self._run()

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self._run()

    def _run(self) -> None:
        while self.waiting:
            self.waiting.pop(0)()


class RedisBackend:
    def __init__(self, redis_url: str, queue_name: str = "portal") -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        self.queue = Queue(queue_name, connection=self.connection)
        self.job_counts_in_redis = observability.RedisJobCounts(self.connection, queue_name)

    def health(self) -> dict:
        """Redis answers, and what the queue holds: jobs waiting, failed, and the workers that
        listen to it (none means queued work waits: worth an alert, though the app runs)."""
        from redis.exceptions import RedisError
        from rq import Worker

        try:
            self.connection.ping()
            return {
                "status": "ok",
                "mode": "redis",
                "waiting": len(self.queue),
                "failed": self.queue.failed_job_registry.count,
                "workers": Worker.count(queue=self.queue),
            }
        except RedisError as error:
            return {"status": "unavailable", "mode": "redis", "error": type(error).__name__}

    def count_job(self, job: str, failed: bool) -> None:
        self.job_counts_in_redis.count(job, failed)

    def job_counts(self):
        return self.job_counts_in_redis

    def dispatch(self, app: Flask, jobs: list[tuple[str, tuple]]) -> None:
        """Queue the jobs; while Redis does not answer, run them here instead, as the inline
        backend does: the change that queued them is committed, so failing now would answer an
        error for a write that stands (and be resubmitted), and some jobs (a reset email, an
        export) have nothing in the database for a tick to retry."""
        from redis.exceptions import RedisError

        for path, args in jobs:
            try:
                self.queue.enqueue(
                    "portal.jobs.run_in_worker",
                    path,
                    args,
                    observability.current_request_id(),
                    retry=None,
                )
            except RedisError as error:
                log.warning("job %s%r run here: Redis did not take it (%s)", path, args, error)
                InlineBackend().dispatch(app, [(path, args)])


def run_in_worker(path: str, args: tuple, request_id: str | None = None) -> None:
    """Entry point of an RQ job. ``flask worker`` runs inside the app's context; a bare
    ``rq worker`` process has none, so it builds the app once from the environment."""
    if has_app_context():
        run_job(path, tuple(args), request_id)
        return
    from portal.app import create_app

    global _worker_app
    if _worker_app is None:
        _worker_app = create_app()
    with _worker_app.app_context():
        run_job(path, tuple(args), request_id)


_worker_app: Flask | None = None


def init_app(app: Flask) -> None:
    redis_url = app.config.get("REDIS_URL")
    backend = RedisBackend(redis_url) if redis_url else InlineBackend()
    app.extensions["jobs"] = backend
    app.wsgi_app = _AfterAnswer(app.wsgi_app)


def backend() -> InlineBackend | RedisBackend:
    return current_app.extensions["jobs"]


# SQLAlchemy (2.1) fires after_commit and after_rollback for savepoints too: releasing one is no
# commit (its jobs wait for the enclosing transaction), rolling one back drops only its own jobs.


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released
        released = session.get_nested_transaction()
        enclosing = released.parent if released.parent.nested else None
        session.info[_PENDING] = [
            (path, args, enclosing if savepoint is released else savepoint)
            for path, args, savepoint in session.info.get(_PENDING, [])
        ]
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        backend().dispatch(
            current_app._get_current_object(), [(path, args) for path, args, _ in pending]
        )


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was rolled back
        undone = session.get_nested_transaction()
        session.info[_PENDING] = [
            job for job in session.info.get(_PENDING, []) if job[2] is not undone
        ]
        return
    session.info.pop(_PENDING, None)


def run_periodic(names: list[str] | None = None) -> dict[str, int | None]:
    """Run the registered periodic tasks (all, or the named ones), each in its own transaction."""
    results = {}
    for name, func in PERIODIC.items():
        if names and name not in names:
            continue
        session = db.new_session()
        try:
            with system_session(session), unscoped(session):  # reason: ticks serve every org
                results[name] = func()
                session.commit()
        finally:
            session.close()
    return results
