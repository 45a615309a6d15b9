"""Races between requests, for tests.

``written_first``: someone else's write lands just before a statement of the request under
test, on the same connection (the test's transaction), as if another request had committed it
a moment earlier; deterministic. ``together``: real concurrent requests, on their own
connections, held until all reach the same statement."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def written_first(app, prefix: str, sql: str) -> Iterator[list[str]]:
    """Yields the statements that were preceded (one at most): empty if none matched."""
    engine = app.extensions["db"].engine
    preceded: list[str] = []

    def write_first(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith(prefix) and not preceded:
            preceded.append(statement)
            cursor.execute(sql)

    event.listen(engine, "before_cursor_execute", write_first)
    try:
        yield preceded
    finally:
        event.remove(engine, "before_cursor_execute", write_first)


def together(app, prefix: str, requests: list[Callable[[], int]]) -> list[int]:
    """Run ``requests`` (each returns a status code) in threads of their own, each held before
    its first statement starting with ``prefix`` until all are there; their status codes, in
    order. A broken barrier means one waits on a lock already (SQLite's single writer): they
    still overlap."""
    engine = app.extensions["db"].engine
    barrier = threading.Barrier(len(requests))

    def hold(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith(prefix):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=3)

    statuses: dict[int, int] = {}

    def run(n: int) -> None:
        statuses[n] = requests[n]()

    event.listen(engine, "before_cursor_execute", hold)
    try:
        threads = [threading.Thread(target=run, args=(n,)) for n in range(len(requests))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        event.remove(engine, "before_cursor_execute", hold)
    return [statuses.get(n, 0) for n in range(len(requests))]


def remove_committed(app, org_ids: list[int], user_ids: list[int]) -> None:
    """Remove what a race test committed for real: the organisations' rows in every table, the
    people's audit events and rows, the people and the organisations; on a connection that
    row-level security does not bind."""
    from sqlalchemy import delete

    from portal.db import Base
    from portal.engine import make_engine

    tables = list(reversed(Base.metadata.sorted_tables))
    admin = make_engine(app.config["DATABASE_URL"])
    with admin.begin() as conn:
        for table in tables:
            if "org_id" in table.c:
                conn.execute(delete(table).where(table.c.org_id.in_(org_ids)))
        events = Base.metadata.tables["audit_events"]
        conn.execute(delete(events).where(events.c.actor_user_id.in_(user_ids)))
        for table in tables:
            if "user_id" in table.c and table.name != "audit_events":
                conn.execute(delete(table).where(table.c.user_id.in_(user_ids)))
        users = Base.metadata.tables["users"]
        conn.execute(delete(users).where(users.c.id.in_(user_ids)))
        organizations = Base.metadata.tables["organizations"]
        conn.execute(delete(organizations).where(organizations.c.id.in_(org_ids)))
    admin.dispose()


def committed_vendor(session, made_orgs: list[int]):
    """The vendor organisation, made (and noted in ``made_orgs`` for ``remove_committed``) if
    the database has none yet."""
    from sqlalchemy import select

    from portal.identity.models import Organization
    from tests import factories

    vendor = session.scalar(select(Organization).where(Organization.kind == "vendor"))
    if vendor is None:
        vendor = factories.make_org(session, "vendor", name="Racing Vendor")
        made_orgs.append(vendor.id)
    return vendor
