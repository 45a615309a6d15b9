"""Who is who, for the people to tell: the one reviewed lookup of "who in organisation X may do
action A" (and "the vendor staff who may do A"), answered from ``portal.access.ROLES``.

Notifications are addressed by action and organisation through here, never by role names. The
lookup reads past the tenant wall (a partner's submit tells vendor staff) on a separate
short-lived session (``portal.db.read_across``) and answers plain values, so nothing read for
it stays in the request's identity map.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from portal import access
from portal.db import read_across
from portal.identity.models import Organization, User


@dataclass(frozen=True)
class Person:
    """A user as plain values: what notifications need to reach them."""

    id: int
    org_id: int
    email: str
    name: str
    role: str
    active: bool


def _people(where) -> list[Person]:
    with read_across() as session:
        rows = session.execute(
            select(User.id, User.org_id, User.email, User.name, User.role, User.active)
            .join(Organization, Organization.id == User.org_id)
            .where(User.active.is_(True), Organization.active.is_(True), *where)
            .order_by(User.id)
        ).all()
    return [Person(*row) for row in rows]


def roles_allowed(action: str) -> list[str]:
    """The names of the roles whose actions include ``action``."""
    if action not in access.ALL_ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    return [role.name for role in access.ROLES.values() if action in role.actions]


def who_may(action: str, org_id: int) -> list[Person]:
    """The active people of organisation ``org_id`` whose role allows ``action``."""
    return _people([User.org_id == org_id, User.role.in_(roles_allowed(action))])


def vendor_staff_who_may(action: str) -> list[Person]:
    """The active vendor staff whose role allows ``action``."""
    return _people([Organization.kind == access.VENDOR, User.role.in_(roles_allowed(action))])


def people(user_ids: Iterable[int | None]) -> list[Person]:
    """The active people among ``user_ids`` (Nones and unknown ids left out), in any
    organisation: the requester of a case, the partner user who registered a deal."""
    ids = sorted({i for i in user_ids if i is not None})
    return _people([User.id.in_(ids)]) if ids else []


def person(user_id: int | None) -> Person | None:
    found = people([user_id])
    return found[0] if found else None
