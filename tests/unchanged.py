"""Refusals change nothing: ``with unchanged(db, deal, lead): <the refused request>``.

Before the block it reads the records' stored columns and counts the rows of the tables every
change writes to (audit events, notifications, the mail outbox) and of any ``counted`` models;
after it, it reads them all again through a fresh session and asserts they are equal. A status
code says the request was refused; this says the refusal did not half-happen.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from portal.audit import AuditEvent
from portal.notify.models import Notification, OutboxMessage

# What a change leaves behind besides the record itself.
ALWAYS_COUNTED = (AuditEvent, Notification, OutboxMessage)


def fresh(session: Session) -> Session:
    """The arranging session, ready to read what requests wrote.

    On PostgreSQL it also forgets the row-level-security scope portal.db caches on the
    connection the test shares with the app: a refused request rolls back its savepoint, and
    the scope set in it with it, while the cache still names it. Reading through a stale cache
    would see no rows, and "nothing changed" would hold vacuously.
    """
    session.expire_all()
    session.connection().info.pop("tenant_scope", None)
    return session


def _key(record) -> tuple[type, tuple]:
    """(model, primary key) of a record, or of a ``(Model, id)`` pair."""
    if isinstance(record, tuple):
        model, ident = record
        return model, ident if isinstance(ident, tuple) else (ident,)
    state = inspect(record)
    return state.mapper.class_, state.identity


def _row(session: Session, model: type, ident: tuple) -> dict | None:
    table = inspect(model).local_table
    where = [
        column == value for column, value in zip(table.primary_key.columns, ident, strict=True)
    ]
    row = session.execute(select(table).where(*where)).mappings().one_or_none()
    return dict(row) if row is not None else None


def snapshot(session: Session, records, counted) -> dict:
    fresh(session)
    rows = {(m, i): _row(session, m, i) for m, i in map(_key, records)}
    counts = {m: session.scalar(select(func.count()).select_from(m)) for m in counted}
    return {"rows": rows, "counts": counts}


@contextmanager
def unchanged(session: Session, *records, counted=()):
    """Assert that ``records`` (instances, or ``(Model, id)`` pairs) keep every stored column,
    and that no audit event, notification, outbox message or row of a ``counted`` model is
    added or removed, while the block runs. ``session`` is the arranging session (``db``)."""
    models = tuple(dict.fromkeys((*ALWAYS_COUNTED, *counted)))
    before = snapshot(session, records, models)
    for (model, ident), row in before["rows"].items():
        assert row is not None, f"{model.__name__} {ident} is not stored to begin with"
    yield
    after = snapshot(session, records, models)
    for key, row in before["rows"].items():
        changed = {
            column: (value, (after["rows"][key] or {}).get(column))
            for column, value in row.items()
            if after["rows"][key] is None or after["rows"][key][column] != value
        }
        assert not changed, f"{key[0].__name__} {key[1]} changed (before, after): {changed}"
    counts = {
        model.__name__: (count, after["counts"][model])
        for model, count in before["counts"].items()
        if after["counts"][model] != count
    }
    assert not counts, f"rows were added or removed (before, after): {counts}"
