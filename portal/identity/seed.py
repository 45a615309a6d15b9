"""The demo's account managers: the sales rep looks after the customers, the channel manager
after the partners (only where nobody is assigned yet, so a second seed adds nothing)."""

from __future__ import annotations

from sqlalchemy import select

from portal import access
from portal.identity.models import User

SALES = "sales@northwind.example"
CHANNEL = "channel@northwind.example"


def seed_account_managers(session, orgs: dict) -> int:
    managers = dict(
        session.execute(select(User.email, User.id).where(User.email.in_([SALES, CHANNEL]))).all()
    )
    added = 0
    for org in orgs.values():
        if org.kind == access.VENDOR or org.account_manager_id is not None:
            continue
        manager = managers.get(SALES if org.kind == access.CUSTOMER else CHANNEL)
        if manager is not None:
            org.account_manager_id = manager
            added += 1
    return added
