"""Someone else's write, landing just before a statement of the request under test.

A race between two requests made deterministic: when the request is about to run the first
statement starting with ``prefix``, ``sql`` runs first on the same connection (the test's
transaction), as if another request had committed it a moment earlier."""

from __future__ import annotations

from collections.abc import Iterator
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
