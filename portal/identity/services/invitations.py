"""Invitations: an organisation's admin invites someone by email; the invitee accepts by the
link and becomes a member with the role given; an admin may revoke an open invitation.

States (``Invitation.workflow``): pending -> accepted | revoked (by an admin, or replaced by a
newer invitation to the same address) | expired (the ``expire_invitations`` tick)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal import access, audit, i18n, people
from portal.clock import utcnow
from portal.db import db, read_across, unscoped
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity import passwords, tokens
from portal.identity.models import Invitation, InvitationStatus, Organization, User
from portal.identity.services.common import (
    USER_AUDIT_FIELDS,
    check_password_rules,
    normalise_email,
)
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition


def check_may_manage_members(org: Organization, actor: Principal) -> None:
    """An organisation's admins manage its members; vendor admins manage every organisation's."""
    if not actor.can("users.manage") or (org.id != actor.org_id and not actor.can("orgs.manage")):
        raise Forbidden(_("You may not manage the members of %(org)s.", org=org.name))


def invite_user(
    org: Organization, *, email: str, name: str, role: str, actor: Principal
) -> Invitation:
    """Invite a person to ``org`` with ``role``; emails them a link to set their password."""
    email = normalise_email(email)
    check_may_manage_members(org, actor)
    if role not in {r.name for r in access.roles_for(org.kind)}:
        raise InvalidInput(_("That role does not exist for this organisation."), field="role")
    if not name.strip():
        raise InvalidInput(_("Give the person's name."), field="name")
    with read_across() as reader:  # an address has one account across the whole portal
        taken = reader.scalar(select(func.count()).select_from(User).where(User.email == email))
    if taken:
        raise InvalidInput(_("%(email)s already has an account.", email=email), field="email")
    now = utcnow()
    replaced = db.session.scalars(  # a new invitation replaces any pending one for the address
        select(Invitation).where(
            Invitation.org_id == org.id,
            Invitation.email == email,
            Invitation.status == InvitationStatus.pending,
        )
    ).all()
    for old in replaced:
        transition(old, InvitationStatus.revoked, actor=actor, at=now, data={"replaced": True})
    raw, digest = tokens.new_token()
    days = current_app.config["INVITATION_DAYS"]
    invitation = Invitation(
        org_id=org.id,
        email=email,
        name=name.strip(),
        role=role,
        token_hash=digest,
        invited_by_id=actor.user_id,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        "invitation.created", invitation, actor=actor, after={"email": email, "role": role}
    )
    # No account, so no language of its own yet: the page's, in which the inviter presumably
    # writes to the invitee (``portal.i18n.writing_to``).
    with i18n.writing_to(None):
        notify.queue_email(
            org_id=org.id,
            to=email,
            kind="account.invitation",
            subject=_(
                "You are invited to %(org)s on %(portal)s",
                org=org.name,
                portal=current_app.config["VENDOR_NAME"],
            ),
            body=_(
                "Hello %(name)s,\n\nYou have been invited to join %(org)s. To accept, choose your "
                "password within %(days)d days at:\n\n%(url)s",
                name=invitation.name,
                org=org.name,
                days=days,
                url=notify.absolute_url(notify.link("identity.accept_invitation", token=raw)),
            ),
        )
    return invitation


@dataclass(frozen=True)
class OpenInvitation:
    """An open invitation as plain values, for the invitee's page (they are not signed in)."""

    id: int
    email: str
    name: str
    role: str
    org_id: int
    org_name: str
    org_kind: str


def invitation_for_token(raw: str) -> OpenInvitation | None:
    """The open invitation for this token, or None (unknown, used, revoked or expired)."""
    with read_across() as reader:  # the invitee is not signed in: the token is the capability
        invitation = reader.scalar(
            select(Invitation)
            .options(joinedload(Invitation.org))  # its page names the organisation
            .where(Invitation.token_hash == tokens.hash_token(raw))
        )
        if invitation is None or not invitation.is_open:
            return None
        return OpenInvitation(
            id=invitation.id,
            email=invitation.email,
            name=invitation.name,
            role=invitation.role,
            org_id=invitation.org_id,
            org_name=invitation.org.name,
            org_kind=invitation.org.kind,
        )


def accept_invitation(raw: str, *, name: str, password: str, ip_address: str | None = None) -> User:
    """The invitee chooses a name and password and becomes a member with the invited role; the
    organisation's admins are told. Single use, even if two tabs submit at once. ``ip_address``
    is the client's (no one is signed in to carry it)."""
    found = invitation_for_token(raw)
    if found is None:
        raise InvalidInput(
            _(
                "This invitation has expired or was already used. Ask your "
                "administrator for a new one."
            )
        )
    check_password_rules(password, found.email)
    with read_across() as reader:  # an address has one account across the whole portal
        taken = reader.scalar(select(User.id).where(User.email == found.email))
    if taken:
        raise InvalidInput(
            _(
                "%(email)s already has an account. Sign in, or reset its password.",
                email=found.email,
            )
        )
    # The invitee, who has no account yet: the organisation and role they are joining with.
    invitee = Principal(
        org_id=found.org_id,
        org_kind=found.org_kind,
        role=found.role,
        user_id=None,
        ip_address=ip_address,
    )
    with unscoped():  # reason: no one is signed in; the token is the capability to join
        invitation = db.session.get(Invitation, found.id)
        if invitation.status != InvitationStatus.pending or not transition(
            invitation, InvitationStatus.accepted, actor=invitee, claim=True
        ):
            raise InvalidInput(_("This invitation was already used."))
        user = User(
            org_id=found.org_id,
            email=found.email,
            name=name.strip() or found.name,
            role=found.role,
            password_hash=passwords.hash_password(password),
            password_changed_at=utcnow(),
        )
        db.session.add(user)
        db.session.flush()
        audit.record(
            "user.joined",
            user,
            actor=Principal.for_user(user, ip_address),
            after=audit.snapshot(user, USER_AUDIT_FIELDS),
        )
    admins = [p for p in people.who_may("users.manage", user.org_id) if p.id != user.id]
    notify.notify(
        admins,
        "admin.member_joined",
        _l("%(name)s joined %(org)s", name=user.name, org=found.org_name),
        link=notify.link("identity.user_detail", user_id=user.id),
    )
    return user


def revoke_invitation(invitation: Invitation, *, actor: Principal) -> None:
    if not invitation.is_open:
        raise InvalidTransition(_("Only a pending invitation can be revoked."))
    transition(invitation, InvitationStatus.revoked, actor=actor)


def expire_invitations() -> int:
    """Tick: pending invitations past their expiry become expired (safe to run twice, or at
    once: each move is claimed)."""
    due = db.session.scalars(
        select(Invitation).where(
            Invitation.status == InvitationStatus.pending, Invitation.expires_at <= utcnow()
        )
    ).all()
    return sum(
        transition(invitation, InvitationStatus.expired, actor=None, claim=True)
        for invitation in due
    )
