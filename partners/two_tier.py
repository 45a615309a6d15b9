"""Two-tier distribution: a distributor sees what its resellers own, read-only.

A reseller is attached to a distributor by ``Organization.managed_by_id`` (the organisation form
allows a reseller managed by a distributor only). This is the one place that rule is written for
the models: the visibility rules of registrations, lead offers (and so their leads) and quotes
call ``owned_or_resold``. Migration 0025 writes the same condition into the PostgreSQL read
policies of those tables (its ``RESOLD``): the organisation's own rows, or rows whose
organisation is a reseller managed by it. Only reading widens: every write policy, and every
service that changes such a record, still asks for the owner itself.
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.sql.elements import ColumnElement

from portal import access
from portal.identity.models import Organization

RESELLER = "reseller"


def resellers_of(org_id: int) -> Select:
    """The ids of the resellers attached to the organisation ``org_id`` (a subquery)."""
    return select(Organization.id).where(
        Organization.managed_by_id == org_id, Organization.kind == RESELLER
    )


def owned_or_resold(org_column, principal) -> ColumnElement[bool]:
    """``org_column`` is the principal's organisation, or, for a distributor, one of its
    resellers. Only a distributor has resellers (``_check_org_fields``), so for every other
    kind the subquery is left out: it would find nothing."""
    own = org_column == principal.org_id
    if principal.org_kind not in access.DISTRIBUTOR_KINDS:
        return own
    return or_(own, org_column.in_(resellers_of(principal.org_id)))
