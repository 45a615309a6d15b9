"""Identity use cases: sign-in sessions, passwords, invitations, organisations and their users.

Services take plain values and a ``Principal`` as ``actor``, change state, write audit events and
queue notifications, and only flush: the view or command that called them commits once. Errors are
``DomainError``s whose message is safe to show.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from portal import access, audit
from portal.clock import utcnow
from portal.db import db, unscoped
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity import passwords, tokens
from portal.identity.models import TIERS, Invitation, Organization, User, UserSession
from portal.notify import services as notify
from portal.tenancy import Principal

USER_AUDIT_FIELDS = ["email", "name", "role", "active"]
ORG_AUDIT_FIELDS = ["name", "kind", "tier", "managed_by_id", "active"]


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password_rules(password: str, email: str = "") -> None:
    if len(password or "") < passwords.MIN_LENGTH:
        raise InvalidInput(
            _("Use at least %(n)d characters.", n=passwords.MIN_LENGTH), field="password"
        )
    if email and password.strip().lower() == normalise_email(email):
        raise InvalidInput(_("Your password cannot be your email address."), field="password")


# Sign-in and sessions. These run before anyone is signed in, so they look up accounts unscoped:
# the only such places in the application, reviewed.


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same answer, same time, for an
    unknown address, a wrong password and a deactivated account)."""
    with unscoped():
        user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
        ok = passwords.verify_password(user.password_hash if user else None, password)
        if not (ok and user and user.is_active):
            return None
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        return user


def start_session(user: User, ip_address: str | None, user_agent: str | None) -> str:
    """Open a server-side session for ``user``; returns the token the cookie will carry."""
    raw, digest = tokens.new_token()
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    with unscoped():
        db.session.add(
            UserSession(
                org_id=user.org_id,
                user_id=user.id,
                token_hash=digest,
                expires_at=utcnow() + lifetime,
                ip_address=ip_address,
                user_agent=(user_agent or "")[:300],
            )
        )
        user.last_login_at = utcnow()
        db.session.flush()
    return raw


def user_for_session(raw_token: str) -> User | None:
    """The active user of a live session token, or None (revoked, expired, deactivated)."""
    with unscoped():
        row = db.session.scalar(
            select(UserSession)
            .options(joinedload(UserSession.user))
            .where(
                UserSession.token_hash == tokens.hash_token(raw_token),
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > utcnow(),
            )
        )
        if row is None or not row.user.is_active:
            return None
        row.user.session_token = raw_token
        return row.user


def end_session(raw_token: str) -> None:
    with unscoped():
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == tokens.hash_token(raw_token))
            .values(revoked_at=utcnow())
        )


def end_all_sessions(user_id: int, keep_token: str | None = None) -> None:
    """Revoke every session of a user (password change, deactivation), maybe but the current."""
    stmt = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep_token:
        stmt = stmt.where(UserSession.token_hash != tokens.hash_token(keep_token))
    with unscoped():
        db.session.execute(stmt.values(revoked_at=utcnow()))


# Passwords.


def change_password(user: User, current: str, new: str, *, keep_token: str | None) -> None:
    if not passwords.verify_password(user.password_hash, current):
        raise InvalidInput(_("Your current password is not correct."), field="current_password")
    _set_password(user, new)
    end_all_sessions(user.id, keep_token=keep_token)
    audit.record("user.password_changed", user, actor=Principal.for_user(user))
    notify.notify(
        [user],
        "account.security",
        _("Your password was changed"),
        _("If you did not change it, reset it now and tell your administrator."),
    )


def _set_password(user: User, new: str) -> None:
    check_password_rules(new, user.email)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()


def request_password_reset(email: str) -> None:
    """Email a reset link if an active account has this address. The caller shows the same
    message either way, so the form does not reveal which addresses have accounts."""
    with unscoped():
        user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None or not user.is_active:
            return
        hours = current_app.config["PASSWORD_RESET_HOURS"]
        link = url_for("identity.reset_password", token=tokens.make_reset_token(user))
        notify.queue_email(
            org_id=user.org_id,
            user_id=user.id,
            to=user.email,
            kind="account.security",
            subject=_("Reset your password"),
            body=_(
                "Someone asked to reset the password of your account. To choose a new "
                "password, open this link within %(hours)d hours:\n\n%(url)s\n\n"
                "If it was not you, ignore this email.",
                hours=hours,
                url=notify.absolute_url(link),
            ),
        )


def user_for_reset_token(token: str) -> User | None:
    payload = tokens.read_reset_token(token, current_app.config["PASSWORD_RESET_HOURS"] * 3600)
    if payload is None:
        return None
    with unscoped():
        user = db.session.scalar(select(User).where(User.id == payload.get("u")))
        if user is None or not user.is_active:
            return None
        if tokens.password_fingerprint(user) != payload.get("f"):
            return None  # already used: the password changed since the link was made
        return user


def reset_password(token: str, new: str) -> User:
    user = user_for_reset_token(token)
    if user is None:
        raise InvalidInput(_("This reset link has expired or was already used. Ask for a new one."))
    with unscoped():
        _set_password(user, new)
        end_all_sessions(user.id)
        audit.record("user.password_reset", user, actor=Principal.for_user(user))
    return user


# Invitations.


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
    with unscoped():
        taken = db.session.scalar(select(func.count()).select_from(User).where(User.email == email))
    if taken:
        raise InvalidInput(_("%(email)s already has an account.", email=email), field="email")
    now = utcnow()
    db.session.execute(  # a new invitation replaces any pending one for the same address
        update(Invitation)
        .where(
            Invitation.org_id == org.id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
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
            url=notify.absolute_url(url_for("identity.accept_invitation", token=raw)),
        ),
    )
    return invitation


def invitation_for_token(raw: str) -> Invitation | None:
    """A pending invitation for this token, or None (unknown, used, revoked or expired)."""
    with unscoped():  # the invitee is not signed in: the token is the capability
        invitation = db.session.scalar(
            select(Invitation)
            .options(joinedload(Invitation.org))  # its page names the organisation
            .where(Invitation.token_hash == tokens.hash_token(raw))
        )
    if invitation is None or invitation.status != "pending":
        return None
    return invitation


def accept_invitation(raw: str, *, name: str, password: str) -> User:
    invitation = invitation_for_token(raw)
    if invitation is None:
        raise InvalidInput(
            _(
                "This invitation has expired or was already used. Ask your "
                "administrator for a new one."
            )
        )
    with unscoped():
        check_password_rules(password, invitation.email)
        if db.session.scalar(select(User.id).where(User.email == invitation.email)):
            raise InvalidInput(
                _(
                    "%(email)s already has an account. Sign in, or reset its password.",
                    email=invitation.email,
                )
            )
        claimed = db.session.execute(  # single use, even if two tabs submit at once
            update(Invitation)
            .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
            .values(accepted_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise InvalidInput(_("This invitation was already used."))
        user = User(
            org_id=invitation.org_id,
            email=invitation.email,
            name=name.strip() or invitation.name,
            role=invitation.role,
            password_hash=passwords.hash_password(password),
            password_changed_at=utcnow(),
        )
        db.session.add(user)
        db.session.flush()
        audit.record(
            "user.joined",
            user,
            actor=Principal.for_user(user),
            after=audit.snapshot(user, USER_AUDIT_FIELDS),
        )
        admins = db.session.scalars(
            select(User).where(
                User.org_id == user.org_id,
                User.active.is_(True),
                User.id != user.id,
                User.role.in_([r.name for r in access.ROLES.values() if r.is_admin]),
            )
        ).all()
        notify.notify(
            admins,
            "admin.member_joined",
            _("%(name)s joined %(org)s", name=user.name, org=invitation.org.name),
            link=url_for("identity.user_detail", user_id=user.id),
        )
    return user


def revoke_invitation(invitation: Invitation, *, actor: Principal) -> None:
    if invitation.status != "pending":
        raise InvalidTransition(_("Only a pending invitation can be revoked."))
    invitation.revoked_at = utcnow()
    audit.record("invitation.revoked", invitation, actor=actor)


# Users.


def change_role(user: User, role: str, *, actor: Principal) -> None:
    if not access.may_manage_user(actor.role, actor.user_id, user.id):
        raise Forbidden(_("You cannot change your own role."))
    if role not in {r.name for r in access.roles_for(user.org_kind)}:
        raise InvalidInput(_("That role does not exist for this organisation."), field="role")
    before = audit.snapshot(user, USER_AUDIT_FIELDS)
    user.role = role
    end_all_sessions(user.id)  # rights changed: sign in again with the new ones
    audit.record(
        "user.role_changed",
        user,
        actor=actor,
        before=before,
        after=audit.snapshot(user, USER_AUDIT_FIELDS),
    )


def set_user_active(user: User, active: bool, *, actor: Principal) -> None:
    if not access.may_manage_user(actor.role, actor.user_id, user.id):
        raise Forbidden(_("You cannot deactivate your own account."))
    if user.active == active:
        return
    before = audit.snapshot(user, USER_AUDIT_FIELDS)
    user.active = active
    if not active:
        end_all_sessions(user.id)
    audit.record(
        "user.activated" if active else "user.deactivated",
        user,
        actor=actor,
        before=before,
        after=audit.snapshot(user, USER_AUDIT_FIELDS),
    )


def update_profile(user: User, *, name: str, timezone: str) -> None:
    from zoneinfo import available_timezones

    if not name.strip():
        raise InvalidInput(_("Give your name."), field="name")
    if timezone not in available_timezones():
        raise InvalidInput(_("Unknown time zone."), field="timezone")
    user.name, user.timezone = name.strip(), timezone


# Organisations (vendor admins).


def _check_org_fields(
    *, name: str, kind: str, tier: str | None, managed_by_id: int | None, org_id: int | None = None
) -> None:
    if not name.strip():
        raise InvalidInput(_("Give the organisation's name."), field="name")
    if kind not in access.ORG_KINDS or kind == access.VENDOR:
        raise InvalidInput(_("Choose reseller, distributor, supplier or customer."), field="kind")
    if tier and (tier not in TIERS or kind not in access.PARTNER_KINDS):
        raise InvalidInput(_("Only partners have a tier."), field="tier")
    if managed_by_id is not None:
        manager = db.session.get(Organization, managed_by_id)
        if kind != access.CUSTOMER or manager is None or manager.kind not in access.PARTNER_KINDS:
            raise InvalidInput(
                _("Only a customer can be managed, and only by a partner."), field="managed_by_id"
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
) -> Organization:
    """Create a partner or customer organisation and invite its first admin."""
    if not actor.can("orgs.manage"):
        raise Forbidden(_("Only vendor admins create organisations."))
    _check_org_fields(name=name, kind=kind, tier=tier, managed_by_id=managed_by_id)
    org = Organization(name=name.strip(), kind=kind, tier=tier or None, managed_by_id=managed_by_id)
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
    org: Organization, *, name: str, tier: str | None, managed_by_id: int | None, actor: Principal
) -> None:
    if not actor.can("orgs.manage"):
        raise Forbidden(_("Only vendor admins change organisations."))
    if org.kind == access.VENDOR:
        raise Forbidden(_("The vendor organisation is not edited here."))
    _check_org_fields(
        name=name, kind=org.kind, tier=tier, managed_by_id=managed_by_id, org_id=org.id
    )
    before = audit.snapshot(org, ORG_AUDIT_FIELDS)
    org.name, org.tier, org.managed_by_id = name.strip(), tier or None, managed_by_id
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
        with unscoped():
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
