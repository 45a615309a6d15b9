"""Organisations, managed by vendor admins: created, edited, deactivated and reactivated, and
given an account manager."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from portal import access, audit, people
from portal.clock import utcnow
from portal.db import db, unscoped
from portal.errors import Forbidden, InvalidInput
from portal.identity.models import SUPPLIER_RELATIONSHIPS, Organization, UserSession, tier_options
from portal.identity.services.common import ORG_AUDIT_FIELDS
from portal.identity.services.invitations import invite_user
from portal.tenancy import Principal


def _check_org_fields(
    *,
    name: str,
    kind: str,
    tier: str | None,
    managed_by_id: int | None,
    org_id: int | None = None,
    supplier_relationship: str | None = None,
) -> None:
    if not name.strip():
        raise InvalidInput(_("Give the organisation's name."), field="name")
    if kind not in access.ORG_KINDS or kind == access.VENDOR:
        raise InvalidInput(_("Choose reseller, distributor, supplier or customer."), field="kind")
    if tier and (tier not in dict(tier_options()) or kind not in access.PARTNER_KINDS):
        raise InvalidInput(_("Only partners have a tier."), field="tier")
    if managed_by_id is not None:
        manager = db.session.get(Organization, managed_by_id)
        # A customer by the partner that sold to it; a reseller by its distributor (two tiers).
        allowed = manager is not None and (
            (kind == access.CUSTOMER and manager.kind in access.PARTNER_KINDS)
            or (kind == "reseller" and manager.kind in access.DISTRIBUTOR_KINDS)
        )
        if not allowed:
            raise InvalidInput(
                _("Only a customer can be managed, by a partner, or a reseller, by a distributor."),
                field="managed_by_id",
            )
    if supplier_relationship and (
        supplier_relationship not in SUPPLIER_RELATIONSHIPS or kind not in access.SUPPLIER_KINDS
    ):
        raise InvalidInput(
            _("Only a supplier has a supplier relationship."), field="supplier_relationship"
        )
    clash = db.session.scalar(
        select(Organization.id).where(
            func.lower(Organization.name) == name.strip().lower(), Organization.id != (org_id or 0)
        )
    )
    if clash:
        raise InvalidInput(_("An organisation with this name exists."), field="name")


def create_organization(
    *,
    name: str,
    kind: str,
    tier: str | None,
    managed_by_id: int | None,
    admin_name: str,
    admin_email: str,
    actor: Principal,
    supplier_relationship: str | None = None,
) -> Organization:
    """Create a partner or customer organisation and invite its first admin. A supplier may be
    given its relationship with the vendor (``SUPPLIER_RELATIONSHIPS``)."""
    if not actor.can("orgs.manage"):
        raise Forbidden(_("Only vendor admins create organisations."))
    _check_org_fields(
        name=name,
        kind=kind,
        tier=tier,
        managed_by_id=managed_by_id,
        supplier_relationship=supplier_relationship,
    )
    org = Organization(
        name=name.strip(),
        kind=kind,
        tier=tier or None,
        managed_by_id=managed_by_id,
        supplier_relationship=supplier_relationship or None,
    )
    db.session.add(org)
    db.session.flush()
    audit.record(
        "organization.created", org, actor=actor, after=audit.snapshot(org, ORG_AUDIT_FIELDS)
    )
    invite_user(
        org, email=admin_email, name=admin_name, role=access.admin_role_for(kind).name, actor=actor
    )
    return org


def update_organization(
    org: Organization,
    *,
    name: str,
    tier: str | None,
    managed_by_id: int | None,
    actor: Principal,
    supplier_relationship: str | None = None,
) -> None:
    if not actor.can("orgs.manage"):
        raise Forbidden(_("Only vendor admins change organisations."))
    if org.kind == access.VENDOR:
        raise Forbidden(_("The vendor organisation is not edited here."))
    _check_org_fields(
        name=name,
        kind=org.kind,
        tier=tier,
        managed_by_id=managed_by_id,
        org_id=org.id,
        supplier_relationship=supplier_relationship,
    )
    before = audit.snapshot(org, ORG_AUDIT_FIELDS)
    org.name, org.tier, org.managed_by_id = name.strip(), tier or None, managed_by_id
    org.supplier_relationship = supplier_relationship or None
    audit.record(
        "organization.updated",
        org,
        actor=actor,
        before=before,
        after=audit.snapshot(org, ORG_AUDIT_FIELDS),
    )


def set_organization_active(org: Organization, active: bool, *, actor: Principal) -> None:
    """Deactivating an organisation signs all its users out and keeps them out."""
    if not actor.can("orgs.manage") or org.kind == access.VENDOR:
        raise Forbidden(_("You may not deactivate this organisation."))
    if org.active == active:
        return
    before = audit.snapshot(org, ORG_AUDIT_FIELDS)
    org.active = active
    if not active:
        with unscoped():  # reason: sessions are visible to their own user only
            db.session.execute(
                update(UserSession)
                .where(UserSession.org_id == org.id, UserSession.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
    audit.record(
        "organization.activated" if active else "organization.deactivated",
        org,
        actor=actor,
        before=before,
        after=audit.snapshot(org, ORG_AUDIT_FIELDS),
    )


# Who may look after an organisation: the vendor's commercial staff, those who work deals with
# customers themselves (an action, so no role is named here).
ACCOUNT_MANAGER_ACTION = "direct_deals.manage"


def account_manager_candidates() -> list:
    """The active vendor staff who may be an account manager, as ``portal.people.Person``."""
    return people.vendor_staff_who_may(ACCOUNT_MANAGER_ACTION)


def assign_account_manager(org: Organization, user_id: int | None, *, actor: Principal) -> None:
    """Make the vendor user ``user_id`` the account manager of ``org`` (None: nobody).

    Raises Forbidden unless the actor manages organisations, InvalidInput for someone who is not
    an active vendor user allowed to manage accounts. Audited as ``organization.account_manager``.
    """
    if not actor.can("orgs.manage"):
        raise Forbidden(_("Only vendor admins assign account managers."))
    if org.kind == access.VENDOR:
        raise Forbidden(_("The vendor organisation has no account manager."))
    if user_id is not None and user_id not in {p.id for p in account_manager_candidates()}:
        raise InvalidInput(
            _("Choose an active member of the vendor's sales staff."), field="account_manager_id"
        )
    if org.account_manager_id == user_id:
        return
    before = {"account_manager_id": org.account_manager_id}
    org.account_manager_id = user_id
    audit.record(
        "organization.account_manager",
        org,
        actor=actor,
        before=before,
        after={"account_manager_id": user_id},
    )
