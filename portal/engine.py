"""Engines: SQLite with foreign keys, WAL and a write lock taken when a request may write;
PostgreSQL without JIT, optionally as an ordinary role that row-level security binds."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def writes_on_get(view):
    """Mark a view that writes although it answers GET (a quote's first opening marks it
    viewed), so that on SQLite it begins its transaction as a POST does. Put it right under the
    route decorator."""
    view.writes_on_get = True
    return view


def _request_may_write() -> bool:
    if not has_request_context():
        return False
    if request.method not in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "writes_on_get", False)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over
    # (SQLAlchemy's documented recipe), and turn on foreign keys and WAL on every connection.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    # A request that may write takes SQLite's one write lock as it begins and so waits its turn
    # (busy_timeout). Begun deferred, it would read first and then find, on its first write, that
    # another request committed meanwhile: SQLite refuses that write at once ("database is
    # locked", a stale snapshot) and no wait helps. Reading requests stay deferred and never wait.
    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _request_may_write() else "BEGIN")


def make_engine(url: str, role: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url``. On PostgreSQL, ``role`` is a role every connection switches to, so
    the app can run as an ordinary role that row-level security binds."""
    if url.startswith("sqlite"):
        from pathlib import Path

        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    # No JIT: the row-level security policies lift plans' cost estimates over PostgreSQL's JIT
    # threshold, and compiling then costs 100-200 ms on queries that run in 10 ms without it.
    connect_args = {"options": "-c jit=off", **kwargs.pop("connect_args", {})}
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)

    # set_config(..., true) ends with its transaction or savepoint: forget what we set.
    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    @event.listens_for(engine, "rollback_savepoint")
    def _forget_scope(conn, *args):
        conn.info.pop("tenant_scope", None)

    if role:
        if not role.replace("_", "").isalnum():
            raise ValueError(f"DATABASE_ROLE must be a plain role name, not {role!r}")

        @event.listens_for(engine, "connect")
        def _set_role(dbapi_connection, connection_record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET ROLE {role}")
            dbapi_connection.commit()

    return engine
