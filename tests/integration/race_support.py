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
