"""Reading from a replica: dashboards and exports read a PostgreSQL standby when
``DATABASE_REPLICA_URL`` is set, so the long aggregate reads of a dashboard and the full scans of
an export do not compete with the primary's writes.

A view marked ``@reads_replica`` (under its route decorator, like ``writes_on_get``) gets a
request session bound to the replica's engine instead of the primary's (``portal.db``'s
``Database.session`` asks ``replica_session`` first). Everything else is as on the primary:

- the tenant wall: the same session events add the reader's rule to every ORM statement;
- row-level security: the replica's connections run as the same ``DATABASE_ROLE``, and the
  ``after_begin`` listener sets ``app.scope`` and ``app.org_id`` on them as on the primary's, so
  a foreign organisation's rows are absent there too;
- a streamed export (read after the view has returned, on a new session) is read from the
  replica as well: the choice follows the request's view, not the first session.

Such a request is meant to read. What it writes all the same (the session's "last seen" stamp
after the page, a flush) goes to the primary: ``ReplicaSession.get_bind`` sends a flush, an
INSERT, UPDATE or DELETE and a ``SELECT ... FOR UPDATE`` there, on a connection of the same
session whose row-level security settings the ``after_begin`` listener sets like any other. It
does not see itself on the replica within the request (replication lag), which a page that only
shows aggregates does not need. The replica's own transactions are read-only
(``default_transaction_read_only``, as a real standby's are), so a write that would reach it is
refused by the database rather than lost.

Without ``DATABASE_REPLICA_URL`` (and always on SQLite, which has no replicas) the marker changes
nothing: every request reads the primary. A replica lags its primary by its replication delay
(usually well under a second): dashboards and exports tolerate that; a page that shows what the
person just wrote must not be marked.
"""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request
from sqlalchemy.orm import Session, sessionmaker

from portal.engine import make_engine

REPLICA = "replica"  # Session.info key: this session reads the replica


class ReplicaSession(Session):
    """A session that reads from the replica and writes to the primary."""

    def __init__(self, *args, primary=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.primary = primary

    def get_bind(self, mapper=None, *, clause=None, **kwargs):
        if self.primary is not None and (self._flushing or _writes(clause)):
            return self.primary
        return super().get_bind(mapper, clause=clause, **kwargs)


def _writes(clause) -> bool:
    if clause is None:
        return False
    if getattr(clause, "is_dml", False):
        return True
    return getattr(clause, "_for_update_arg", None) is not None


def reads_replica(view):
    """Mark a view that only reads (a dashboard, an export) to read from the replica when one is
    configured. Put it right under the route decorator."""
    view.reads_replica = True
    return view


def init_app(app: Flask) -> None:
    """Open the replica's engine when ``DATABASE_REPLICA_URL`` is set (PostgreSQL only)."""
    url = app.config.get("DATABASE_REPLICA_URL")
    state = app.extensions["db"]
    state.replica_session = None
    if not url:
        return
    if not url.startswith("postgresql"):
        raise RuntimeError("DATABASE_REPLICA_URL must be a PostgreSQL database")
    # Every transaction on it read-only, as on a standby (and on a stand-in that is writable).
    engine = make_engine(
        url,
        role=app.config.get("DATABASE_ROLE"),
        connect_args={"options": "-c jit=off -c default_transaction_read_only=on"},
    )
    factory = sessionmaker(
        class_=ReplicaSession,
        bind=engine,
        expire_on_commit=False,
        info={REPLICA: True},
        primary=state.engine,
    )
    state.replica_engine = engine
    state.replica_factory = factory
    state.replica_session = _chooser(factory)


def _chooser(factory: sessionmaker):
    def replica_session() -> Session | None:
        """A session on the replica if this request's view reads from it, else None."""
        if not has_request_context() or not request.endpoint:
            return None
        view = current_app.view_functions.get(request.endpoint)
        if not getattr(view, "reads_replica", False):
            return None
        return factory()

    return replica_session


def reads_from_replica(session: Session) -> bool:
    return bool(session.info.get(REPLICA))
