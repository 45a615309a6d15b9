"""Keyset pagination for the HTML lists: a page is "the rows after this key", never an OFFSET and
never a COUNT over the table, so a page costs the same at row 100 and at row 100,000.

A list declares its sorts once, as ``{name: ((column, ..., unique_last_column), descending)}``;
the cursor in the URL is the sort's name and the key of a page's last (or first) row, checked on
the way back in so a hand-made cursor is a clear 422, never a database error.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, Select, literal, tuple_

from portal.db import UTCDateTime, db

MAX_INT = 2**63 - 1
PER_PAGE = 25
MAX_TEXT_KEY = 200


class InvalidCursor(ValueError):
    """A page cursor this portal did not give (or one for another sort order)."""


def _is_time(column) -> bool:
    return isinstance(column.type, UTCDateTime)


def encode_cursor(sort: str, values: list) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([sort, *plain], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _checked(column, value):
    """The cursor's value for ``column`` in Python form, or InvalidCursor."""
    if isinstance(column.type, Integer):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INT:
            return value
    elif _is_time(column):
        if isinstance(value, str) and len(value) <= 40:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is not None:
                return moment
    elif isinstance(value, str) and len(value) <= MAX_TEXT_KEY:
        return value
    raise InvalidCursor(value)


def decode_cursor(token: str, sort: str, columns: tuple) -> list:
    """The key values a cursor names, checked against the sort's columns (else InvalidCursor)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor(token) from None
    if not isinstance(data, list) or len(data) != len(columns) + 1 or data[0] != sort:
        raise InvalidCursor(token)
    return [_checked(column, value) for column, value in zip(columns, data[1:], strict=True)]


@dataclass
class KeysetPage:
    items: list
    sort: str
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def keyset_page(
    stmt: Select,
    sorts: dict,
    sort: str,
    *,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PER_PAGE,
    key=lambda row: row,
) -> KeysetPage:
    """One page of ``stmt`` in the order ``sort`` names: the rows after the cursor ``after``, or
    the rows before ``before`` (the previous page). ``key`` gives the model row of a result row.
    One query, ``per_page + 1`` rows: the extra row only says whether there is more.

    Raises InvalidCursor for a cursor this portal did not give."""
    columns, descending = sorts[sort]
    backwards = before is not None and after is None
    cursor = before if backwards else after
    if cursor:
        values = decode_cursor(cursor, sort, columns)
        # Forwards on a descending order, or backwards on an ascending one: smaller keys.
        smaller = descending != backwards
        # Typed literals, so a time is bound the way its column stores it (naive UTC on SQLite).
        given = tuple_(*(literal(v, c.type) for c, v in zip(columns, values, strict=True)))
        keys = tuple_(*columns)
        stmt = stmt.where(keys < given if smaller else keys > given)
    reverse = descending != backwards
    stmt = stmt.order_by(*(c.desc() if reverse else c.asc() for c in columns))
    rows = list(db.session.execute(stmt.limit(per_page + 1)).unique().all())
    more = len(rows) > per_page
    rows = [r[0] if len(r) == 1 else r for r in rows[:per_page]]
    if backwards:
        rows.reverse()

    def cursor_of(row) -> str:
        model = key(row)
        return encode_cursor(sort, [getattr(model, c.key) for c in columns])

    if not rows:
        return KeysetPage([], sort, None, None)
    has_next = more if not backwards else True
    has_prev = more if backwards else bool(cursor)
    return KeysetPage(
        rows,
        sort,
        cursor_of(rows[-1]) if has_next else None,
        cursor_of(rows[0]) if has_prev else None,
    )
