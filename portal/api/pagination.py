"""Cursor pagination: a stable order by id, and an opaque cursor naming the last row seen, so
pages neither skip nor repeat rows while data changes, and cost the same at any depth."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, Field
from sqlalchemy import Select

from portal.api.errors import ApiError
from portal.db import db

MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL: a forged larger cursor is a 422, not a 500


class PageQuery(BaseModel):
    limit: int = Field(50, ge=1, le=100, description="How many items, 1 to 100.")
    cursor: str | None = Field(
        None, max_length=100, description="`next_cursor` of the page before."
    )


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        last_id = int(value)
        if kind != "id" or not 0 <= last_id <= MAX_ID:
            raise ValueError(raw)
        return last_id
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ApiError(
            422, "Unprocessable Content", "The cursor is not one this API gave."
        ) from None


def page_of(stmt: Select, model, query: PageQuery) -> tuple[list, str | None]:
    """Rows of ``stmt`` after the cursor, by ascending id, and the cursor of the next page."""
    if query.cursor:
        stmt = stmt.where(model.id > decode_cursor(query.cursor))
    rows = list(db.session.scalars(stmt.order_by(model.id).limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return rows, (encode_cursor(rows[-1].id) if more and rows else None)
