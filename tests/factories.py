"""Builders of organisations, users and records for tests. Each takes the arranging session
(which sees every organisation) and flushes, so the rows exist for the requests that follow."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from portal import access
from portal.identity.models import Organization, User
from portal.identity.passwords import hash_password

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run
_sequence = itertools.count(1)


def make_org(session: Session, kind: str = "reseller", **fields) -> Organization:
    n = next(_sequence)
    fields.setdefault("name", f"{kind.capitalize()} Org {n}")
    org = Organization(kind=kind, **fields)
    session.add(org)
    session.flush()
    return org


def make_user(session: Session, org: Organization, role: str | None = None, **fields) -> User:
    n = next(_sequence)
    role = role or access.admin_role_for(org.kind).name
    fields.setdefault("email", f"user{n}@{org.kind}{org.id}.test")
    fields.setdefault("name", f"Person {n} of {org.name}")
    user = User(org_id=org.id, role=role, password_hash=_PASSWORD_HASH, **fields)
    session.add(user)
    session.flush()
    return user


def vendor_org(session: Session) -> Organization:
    """The one vendor organisation (created on first use in a test's transaction)."""
    from sqlalchemy import select

    org = session.scalar(select(Organization).where(Organization.kind == access.VENDOR))
    return org or make_org(session, access.VENDOR, name="Vendor Inc")
