"""Read side of identity: what list pages show, through the tenant wall."""

from __future__ import annotations

from sqlalchemy import Select, select

from portal import access
from portal.clock import utcnow
from portal.db import db, read_across
from portal.identity.models import Invitation, InvitationStatus, Organization, User
from portal.web import choices


def users_of(org_id: int) -> Select:
    return select(User).where(User.org_id == org_id).order_by(User.name)


def pending_invitations_of(org_id: int) -> list[Invitation]:
    """The open invitations of an organisation (pending, and not past their expiry)."""
    return db.session.scalars(
        select(Invitation)
        .where(
            Invitation.org_id == org_id,
            Invitation.status == InvitationStatus.pending,
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc())
    ).all()


def organizations(kind: str | None = None, search: str | None = None) -> Select:
    stmt = select(Organization).order_by(Organization.kind, Organization.name)
    if kind:
        stmt = stmt.where(Organization.kind == kind)
    if search:
        stmt = stmt.where(Organization.name.ilike(f"%{search.strip()}%"))
    return stmt


def partner_choices() -> list:
    partners = db.session.scalars(
        select(Organization)
        .where(Organization.kind.in_(access.PARTNER_KINDS), Organization.active.is_(True))
        .order_by(Organization.name)
    )
    return choices([("", "—")] + [(str(o.id), o.name) for o in partners])


def serving_partner_name(org: Organization) -> str | None:
    """The name of the partner that manages a customer. A customer may read that name and nothing
    else of the partner's organisation, whose row its visibility rule (and RLS) keeps hidden:
    a reviewed exception to the wall, for one column."""
    if org.managed_by_id is None:
        return None
    with read_across() as reader:
        return reader.scalar(select(Organization.name).where(Organization.id == org.managed_by_id))
