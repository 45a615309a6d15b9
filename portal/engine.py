"""Engines: SQLite with foreign keys, WAL and a write lock taken when a request may write;
PostgreSQL without JIT, optionally as an ordinary role that row-level security binds."""

from __future__ import annotations

import math
import re
import sqlite3
from typing import Any

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The wait for SQLite's write lock where no app says otherwise (SQLITE_BUSY_TIMEOUT_MS).
DEFAULT_BUSY_TIMEOUT_MS = 5000
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def writes_on_get(view):
    """Mark a view that writes although it answers GET (a quote's first opening marks it
    viewed), so that on SQLite it begins its transaction as a POST does. Put it right under the
    route decorator."""
    view.writes_on_get = True
    return view


def stop_writing() -> None:
    """The rest of this request only reads (the page that says a write was refused): its
    transactions begin deferred, and so do not wait for the write lock again."""
    g.reads_only = True


def _may_write() -> bool:
    # Outside a request (a worker's job, a tick, a command) the work is writing work: it takes
    # the lock as it begins, as a POST does. Jobs run inline inherit their request's answer.
    if not has_request_context():
        return True
    if g.get("reads_only"):
        return False
    if request.method not in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "writes_on_get", False)


def busy_timeout_ms() -> int:
    """How long a SQLite writer waits for the write lock: the app's SQLITE_BUSY_TIMEOUT_MS."""
    if has_app_context():
        return int(current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", DEFAULT_BUSY_TIMEOUT_MS))
    return DEFAULT_BUSY_TIMEOUT_MS


def retry_after_seconds() -> int:
    """What a request refused for a busy database tells its client to wait (``Retry-After``):
    one more writer's wait."""
    return max(1, math.ceil(busy_timeout_ms() / 1000))


def database_busy(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is SQLite's "database is locked"/"is busy": the
    write lock not had within the busy timeout, or a read snapshot too old to write from.
    Nothing was written; trying again later can succeed."""
    while error is not None:
        if isinstance(error, OperationalError) and isinstance(error.orig, sqlite3.Error):
            code = getattr(error.orig, "sqlite_errorcode", None)
            if code is not None:
                return code & 0xFF in _BUSY_CODES  # extended codes: BUSY_SNAPSHOT, ...
            message = str(error.orig)
            return "database is locked" in message or "database is busy" in message
        error = error.__cause__ or error.__context__
    return False


def _configure_sqlite(engine: Engine, *, autocommit: bool = False) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over
    # (SQLAlchemy's documented recipe), and turn on foreign keys and WAL on every connection.
    # ``autocommit``: the engine was made with isolation_level="AUTOCOMMIT", so no BEGIN of ours
    # (SQLAlchemy commits nothing there, and what ran after our BEGIN was rolled back when the
    # connection went back to the pool: an ANALYZE that left no statistics). AUTOCOMMIT is
    # honoured for a whole engine only, not as one connection's execution option.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={DEFAULT_BUSY_TIMEOUT_MS:d}")
        cursor.close()

    # A request that may write takes SQLite's one write lock as it begins and so waits its turn
    # (busy_timeout). Begun deferred, it would read first and then find, on its first write, that
    # another request committed meanwhile: SQLite refuses that write at once ("database is
    # locked", a stale snapshot) and no wait helps. Reading requests stay deferred and never wait.
    # A writer still without the lock after the timeout is answered 503 (portal.app).
    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # The app's timeout, set here rather than on connect: a pooled connection may have been
        # made outside the app's context.
        wait = busy_timeout_ms()
        if conn.info.get("busy_timeout_ms") != wait:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={wait:d}")
            conn.info["busy_timeout_ms"] = wait
        if not autocommit:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")


_SCOPES_AT_SAVEPOINTS = "tenant_scope_at_savepoints"  # [(savepoint, the scope it began with)]
_SAVEPOINT_STATEMENT = re.compile(r'(SAVEPOINT|ROLLBACK TO SAVEPOINT|RELEASE SAVEPOINT) "?(\w+)"?')


def _track_scope_through_savepoint(conn, statement: str) -> None:
    """After a savepoint statement that succeeded: remember the scope a savepoint began with;
    after a rollback to it, the scope is that one again (PostgreSQL undoes the settings made
    since, and ends the savepoints begun inside it); after its release, what was set in it
    stays. Read from the statements themselves, as run, by name: so a savepoint that failed to
    begin, or one ended out of order, is seen as the database saw it."""
    found = _SAVEPOINT_STATEMENT.fullmatch(statement.strip())
    if found is None:
        return
    kind, name = found.groups()
    begun = conn.info.setdefault(_SCOPES_AT_SAVEPOINTS, [])
    if kind == "SAVEPOINT":
        begun.append((name, conn.info.get("tenant_scope")))
        return
    # The most recent savepoint of that name, as PostgreSQL takes it; those begun after it end.
    at = next((n for n in range(len(begun) - 1, -1, -1) if begun[n][0] == name), None)
    if at is None:  # begun before we knew the scope: it is not known now either
        begun.clear()
        conn.info.pop("tenant_scope", None)
        return
    scope = begun[at][1]
    del begun[at:]
    if kind == "ROLLBACK TO SAVEPOINT":
        if scope is None:
            conn.info.pop("tenant_scope", None)
        else:
            conn.info["tenant_scope"] = scope


def make_engine(url: str, role: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url``. On PostgreSQL, ``role`` is a role every connection switches to, so
    the app can run as an ordinary role that row-level security binds."""
    if url.startswith("sqlite"):
        from pathlib import Path

        path = make_url(url).database  # None or ":memory:" for a database in memory
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # A connection reads the planner's statistics once, when it opens: reopened hourly,
            # it plans with what the tick's ANALYZE found (portal.planner_statistics).
            kwargs.setdefault("pool_recycle", 3600)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, autocommit=kwargs.get("isolation_level") == "AUTOCOMMIT")
        return engine
    # No JIT: the row-level security policies lift plans' cost estimates over PostgreSQL's JIT
    # threshold, and compiling then costs 100-200 ms on queries that run in 10 ms without it.
    connect_args = {"options": "-c jit=off", **kwargs.pop("connect_args", {})}
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)

    # The row-level-security scope this connection's transaction has set (portal.db), kept in
    # ``conn.info["tenant_scope"]`` so that it is set again only when it changes.
    # set_config(..., true) ends with its transaction: forget what we set (and what a
    # connection that went back to the pool mid-transaction may still say).
    @event.listens_for(engine, "begin")
    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _forget_scope(conn, *args):
        conn.info.pop("tenant_scope", None)
        conn.info.pop(_SCOPES_AT_SAVEPOINTS, None)

    # A rollback to a savepoint restores the scope it began with (every read_across() block ends
    # so: forgetting it cost a statement a block to set the scope the database had restored).
    # The scope is unknown from the moment SQLAlchemy rolls back to a savepoint, and known again
    # only once a savepoint statement it recognises has run: what it misses costs a statement.
    @event.listens_for(engine, "rollback_savepoint")
    def _scope_unknown_during_rollback(conn, name, context):
        conn.info.pop("tenant_scope", None)

    @event.listens_for(engine, "after_cursor_execute")
    def _scope_after_savepoint(conn, cursor, statement, parameters, context, executemany):
        if "SAVEPOINT" in statement:
            _track_scope_through_savepoint(conn, statement)

    # A statement that failed (a savepoint among them) leaves what the transaction set unknown:
    # set it again before the next statement. (A connection lost meanwhile starts afresh.)
    @event.listens_for(engine, "handle_error")
    def _forget_scope_on_error(context):
        conn = context.connection
        if conn is not None and not context.is_disconnect and not conn.invalidated:
            _forget_scope(conn)

    if role:
        if not role.replace("_", "").isalnum():
            raise ValueError(f"DATABASE_ROLE must be a plain role name, not {role!r}")

        @event.listens_for(engine, "connect")
        def _set_role(dbapi_connection, connection_record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET ROLE {role}")
            dbapi_connection.commit()

    return engine
