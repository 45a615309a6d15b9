"""Optimistic locking for edits made through forms.

A form shows a record as it was at one version; the page carries a signed snapshot of that
version and of the fields it shows. When the form comes back, the service compares: if someone
else saved in between, it raises ``EditConflict`` listing what changed (as it was when the person
opened the form, and as it is now), and nothing is overwritten. The page then shows those
changes beside the person's own input, with a fresh snapshot, so saving again is a conscious
choice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.errors import Conflict


class EditConflict(Conflict):
    def __init__(self, changes: list[tuple[str, Any, Any]]) -> None:
        super().__init__(
            _(
                "Someone else changed this while you were editing it. Check what "
                "changed below; your input is kept. Save again to apply it."
            )
        )
        self.changes = changes


def flush_or_conflict(
    conflict: Callable[[], Conflict],
    *,
    lost_race: Callable[[IntegrityError], bool] = lambda error: False,
) -> None:
    """Write now, so that a change that raced another person's is a clear conflict, not a server
    error: the row's version column moved (StaleDataError), or a unique constraint refused the
    write and ``lost_race`` says that constraint means a race. Raises ``conflict()`` then; any
    other integrity error propagates."""
    from portal.db import db

    try:
        db.session.flush()
    except StaleDataError:
        raise conflict() from None
    except IntegrityError as error:
        if not lost_race(error):
            raise
        raise conflict() from None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="edit-snapshot")


def snapshot(obj: Any, fields: list[str]) -> str:
    """The signed snapshot a form carries: the record's version and the shown fields."""
    return _serializer().dumps(
        {
            "type": type(obj).__name__,
            "id": obj.id,
            "version": obj.version,
            "fields": {f: _plain(getattr(obj, f)) for f in fields},
        }
    )


def check_unchanged(obj: Any, token: str | None, *, shown_only: bool = False) -> None:
    """Raise ``EditConflict`` if ``obj`` changed since the snapshot ``token`` was taken.

    ``shown_only``: a new version is a conflict only if one of the fields the form showed
    changed (a record whose version moves for other reasons, a reply on a case, is no conflict
    for a form that does not show them). A snapshot that names no field, a forged or missing
    one, is always a conflict."""
    try:
        seen = _serializer().loads(token or "")
    except BadSignature:
        raise EditConflict([]) from None
    if seen.get("type") != type(obj).__name__ or seen.get("id") != obj.id:
        raise EditConflict([])
    if seen.get("version") == obj.version:
        return
    changes = [
        (field, before, _plain(getattr(obj, field)))
        for field, before in seen.get("fields", {}).items()
        if _plain(getattr(obj, field)) != before
    ]
    if shown_only and seen.get("fields") and not changes:
        return
    raise EditConflict(changes)
