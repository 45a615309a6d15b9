"""Load, then check, before the body: the order every API route with a record id follows.

A route marked ``@guarded(Model, "model_id", "action")`` has, before its body is read: the token
authenticated (401), the action checked against the token's scopes and role (403 whatever the
id, as the pages' coarse ``require`` does), and the record loaded through the tenant wall (404
for one that is not visible, as for one that does not exist). Only then is the content type
looked at (415), so an answer never depends on the body for a record the caller may not see.
The route finds its record in ``g.api_record``.
"""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from portal.api import auth
from portal.api.errors import ApiError
from portal.db import db

_GUARDED: dict[str, tuple[type, str, str]] = {}


def guarded(model: type, param: str, needed: str):
    """Mark an API view: its URL's ``param`` names a ``model`` row it needs ``needed`` on."""

    def mark(view):
        _GUARDED[f"api.{view.__name__}"] = (model, param, needed)
        view.required_action = needed  # what the isolation matrix reads, as ``action`` sets
        return view

    return mark


def check_record_first(endpoint: str | None, values: dict | None) -> None:
    """For a guarded endpoint: the action, then the record (into ``g.api_record``)."""
    spec = _GUARDED.get(endpoint or "")
    if spec is None or not values:
        return
    model, param, needed = spec
    auth.require_action(needed)
    object_id = values[param]
    row = db.session.scalars(select(model).where(model.id == object_id)).one_or_none()
    if row is None:
        name = model.__tablename__[:-1].replace("_", " ")
        raise ApiError(404, "Not Found", f"No {name} {object_id} here.")
    g.api_record = row
