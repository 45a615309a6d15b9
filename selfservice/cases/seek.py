"""Keyset ("seek") pagination for the case lists: the rows after a cursor, in the list's order,
one query of ``per_page + 1`` rows; no count and no OFFSET, so a page costs the same at 200,000
cases as at 200, at any depth."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, literal, tuple_

from portal.db import UTCDateTime, db

MAX_INT = 2**63 - 1


@dataclass
class SeekPage:
    items: list
    next_cursor: str | None
    is_first: bool

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def encode(values: list) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, columns: tuple) -> list | None:
    """The key values of a cursor this portal gave, or None for anything else (first page)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(data, list) or len(data) != len(columns):
        return None
    values = []
    for column, value in zip(columns, data, strict=True):
        if isinstance(column.type, UTCDateTime):
            try:
                value = datetime.fromisoformat(value)
            except (TypeError, ValueError):
                return None
            if value.tzinfo is None:
                return None
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INT:
            return None
        values.append(value)
    return values


def seek_page(
    stmt: Select, columns: tuple, *, descending: bool, after: str | None, per_page: int = 25
) -> SeekPage:
    values = decode(after, columns) if after else None
    if values is not None:
        keys = tuple_(*columns)
        given = tuple_(*(literal(v, c.type) for c, v in zip(columns, values, strict=True)))
        stmt = stmt.where(keys < given if descending else keys > given)
    stmt = stmt.order_by(None).order_by(*(c.desc() if descending else c.asc() for c in columns))
    rows = list(db.session.scalars(stmt.limit(per_page + 1)).unique())
    more = len(rows) > per_page
    rows = rows[:per_page]
    cursor = encode([getattr(rows[-1], c.key) for c in columns]) if more and rows else None
    return SeekPage(rows, cursor, values is None)
