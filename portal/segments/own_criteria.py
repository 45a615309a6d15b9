"""The platform's own criteria: what the organisation row says (its kind, the partner that
manages it, a supplier's relationship with the vendor). The feature packages add theirs
(``segment_criteria`` modules)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import access
from portal.db import db
from portal.identity.models import Organization
from portal.identity.queries import SUPPLIER_RELATIONSHIP_LABELS
from portal.segments.registry import Criterion

KINDS = tuple(k for k in access.ORG_KINDS if k != access.VENDOR)


def _kinds():
    return [(k, access.ORG_KIND_LABELS[k]) for k in KINDS]


def _relationships():
    return list(SUPPLIER_RELATIONSHIP_LABELS.items())


def _partners():
    """Every partner organisation (active or not: a segment saved with one stays readable)."""
    return db.session.execute(
        select(Organization.id, Organization.name)
        .where(Organization.kind.in_(access.PARTNER_KINDS))
        .order_by(Organization.name)
    ).all()


CRITERIA = (
    Criterion(
        key="kind",
        label=_l("Kind"),
        input="many",
        choices=_kinds,
        condition=lambda kinds: Organization.kind.in_(kinds),
        order=10,
    ),
    Criterion(
        key="managed_by",
        label=_l("Managed by"),
        input="one",
        choices=_partners,
        condition=lambda org_id: Organization.managed_by_id == int(org_id),
        order=40,
        description=_l("The partner that serves the customer."),
    ),
    Criterion(
        key="supplier_relationship",
        label=_l("Supplier relationship"),
        input="many",
        choices=_relationships,
        condition=lambda codes: Organization.supplier_relationship.in_(codes),
        order=45,
        description=_l("Suppliers whose relationship with the vendor is one of these."),
    ),
)
