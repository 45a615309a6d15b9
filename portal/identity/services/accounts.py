"""Sign-in, sessions and passwords: signing in and out, changing a password, and resetting a
forgotten one by an emailed link."""

from __future__ import annotations

import hmac
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal import audit, i18n, jobs
from portal.clock import utcnow
from portal.db import db, read_across, unscoped
from portal.errors import InvalidInput
from portal.identity import passwords, tokens
from portal.identity.models import User, UserSession
from portal.identity.security.models import SignInRule
from portal.identity.services.common import check_password_rules, normalise_email
from portal.notify import services as notify
from portal.tenancy import Principal

# Sign-in and sessions. These run before anyone is signed in (or to find who is), so they look up
# accounts and write their sessions unscoped: the only such places in the application, reviewed.


def account_for_sign_in(email: str) -> User | None:
    """The user this address names, active or not, or None: the one read of a password sign-in.
    The caller ends the transaction before ``check_password``."""
    with unscoped():  # reason: no one is signed in yet; the user found becomes the principal
        return db.session.scalar(
            select(User)
            .options(joinedload(User.org))  # read now, for is_active: not in check_password
            .where(User.email == normalise_email(email))
        )


def check_password(user: User | None, password: str) -> bool:
    """Whether ``user`` is active and ``password`` is theirs: one argon2 check, as long for an
    unknown address (None), a wrong password and a deactivated account. It reads nothing from
    the database, so the caller runs it outside any transaction (it takes tens of milliseconds on
    purpose). A hash made with older parameters is renewed, in the transaction that follows."""
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not (ok and user and user.is_active):
        return False
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)  # written with the session
    return True


def start_session(
    user: User, ip_address: str | None, user_agent: str | None, signed_in_with: str | None = None
) -> str:
    """Open a server-side session for ``user``; returns the token the cookie will carry.
    ``signed_in_with``: how the sign-in was proven (password, totp, recovery_code, sso)."""
    raw, digest = tokens.new_token()
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    with unscoped():  # reason: signing in, before the session has a principal
        db.session.add(
            UserSession(
                org_id=user.org_id,
                user_id=user.id,
                token_hash=digest,
                expires_at=utcnow() + lifetime,
                ip_address=ip_address,
                user_agent=(user_agent or "")[:300],
                signed_in_with=signed_in_with,
                last_seen_at=utcnow(),  # signing in is being seen
            )
        )
        # Not through the versioned row: a sign-in is no edit of the account, and two sign-ins
        # of one account at once (or one during an admin's edit) must not fail as stale.
        now = utcnow()
        db.session.execute(update(User).where(User.id == user.id).values(last_login_at=now))
        set_committed_value(user, "last_login_at", now)
        db.session.flush()
    return raw


@cache
def _session_lookup():
    """The statement of every signed-in request, built once (its values are bound per call):
    the live session row with its user, and in the same statement whether the organisation asks
    for a second factor (checked on every page of a password sign-in, portal.identity.security)
    and the person's unread notifications (the navigation's badge)."""
    org_rule = (
        select(SignInRule.require_second_factor)
        .where(SignInRule.org_id == UserSession.org_id)
        .scalar_subquery()
    )
    return (
        select(UserSession, org_rule, notify.unread_count_of(UserSession.user_id))
        .options(joinedload(UserSession.user))
        .where(
            UserSession.token_hash == bindparam("token_hash"),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > bindparam("now"),
        )
    )


def user_for_session(raw_token: str) -> User | None:
    """The active user of a live session token, or None (revoked, expired, deactivated)."""
    with unscoped():  # reason: finding who is signed in, before there is a principal
        found = db.session.execute(
            _session_lookup(), {"token_hash": tokens.hash_token(raw_token), "now": utcnow()}
        ).first()
        row, org_requires_second_factor, unread = found if found is not None else (None,) * 3
        if row is None or not row.user.is_active:
            return None
        row.user.session_token = raw_token
        # For the sessions page's "last seen" and the second-factor check (identity.security).
        row.user.session_id = row.id
        row.user.session_last_seen_at = row.last_seen_at
        row.user.signed_in_with = row.signed_in_with
        row.user.org_requires_second_factor = bool(org_requires_second_factor)
        # The navigation's badge, read here rather than by a statement of its own on every page.
        row.user.unread_notifications = unread
        return row.user


def end_session(raw_token: str) -> None:
    with unscoped():  # reason: signing out; the token, not the principal, names the session
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
    with unscoped():  # reason: an admin ends another user's sessions, visible to that user only
        db.session.execute(stmt.values(revoked_at=utcnow()))


# Passwords.


def change_password(
    user: User, current: str, new: str, *, keep_token: str | None, actor: Principal | None = None
) -> None:
    """``actor``: the signed-in user as the request resolved them (with their address)."""
    if not passwords.verify_password(user.password_hash, current):
        raise InvalidInput(_("Your current password is not correct."), field="current_password")
    _set_password(user, new)
    end_all_sessions(user.id, keep_token=keep_token)
    audit.record("user.password_changed", user, actor=actor or Principal.for_user(user))
    notify.notify(
        [user],
        "account.security",
        _l("Your password was changed"),
        _l("If you did not change it, reset it now and tell your administrator."),
    )


def _set_password(user: User, new: str) -> None:
    check_password_rules(new, user.email)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()


def request_password_reset(email: str) -> None:
    """Queue the reset email for this address. The request does the same work whether an account
    has the address or not (it looks nothing up): the job does (``send_password_reset``), so
    neither the answer nor the time it takes tells which addresses have accounts."""
    jobs.enqueue(send_password_reset, normalise_email(email))


@jobs.after_answer  # how long it takes tells whether the address has an account
def send_password_reset(email: str) -> None:
    """Job: email a reset link if an active account with a password has this address; tell an
    account without one (it signs in through its organisation's provider) that it has none;
    nothing otherwise."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active:
        return
    with i18n.writing_to(user):  # the account's language, not that of whoever asked
        if user.password_hash is None:
            _security_email(
                user,
                _("Your account has no password"),
                _(
                    "Someone asked to reset the password of your account. It has no password: "
                    "you sign in through your organisation's single sign-on. If that does not "
                    "work, ask your organisation's administrator.\n\nIf it was not you, ignore "
                    "this email."
                ),
            )
            return
        hours = current_app.config["PASSWORD_RESET_HOURS"]
        _security_email(
            user,
            _("Reset your password"),
            _(
                "Someone asked to reset the password of your account. To choose a new "
                "password, open this link within %(hours)d hours:\n\n%(url)s\n\n"
                "If it was not you, ignore this email.",
                hours=hours,
                url=notify.absolute_url(
                    notify.link("identity.reset_password", token=tokens.make_reset_token(user))
                ),
            ),
        )


def _security_email(user: User, subject: str, body: str) -> None:
    notify.queue_email(
        org_id=user.org_id,
        user_id=user.id,
        to=user.email,
        kind="account.security",
        subject=subject,
        body=body,
    )


def _reset_payload(token: str) -> dict | None:
    return tokens.read_reset_token(token, current_app.config["PASSWORD_RESET_HOURS"] * 3600)


def _resets(user: User | None, payload: dict) -> bool:
    """Whether the reset link's ``payload`` still resets ``user``'s password: an active account
    with a password that has not changed since the link was made (a used link is spent). An
    account without a password never resets: its fingerprint would be made of its id alone, so
    anyone holding ``SECRET_KEY`` could sign a link for it."""
    return (
        user is not None
        and user.is_active
        and user.password_hash is not None
        and hmac.compare_digest(tokens.password_fingerprint(user), str(payload.get("f", "")))
    )


def reset_token_is_valid(token: str) -> bool:
    """Whether ``token`` still resets an active account's password (not expired, not used)."""
    payload = _reset_payload(token)
    if payload is None:
        return False
    with read_across() as reader:  # no one is signed in: the token names the account
        return _resets(reader.scalar(select(User).where(User.id == payload.get("u"))), payload)


def reset_password(token: str, new: str, *, ip_address: str | None = None) -> User:
    """Set a new password by an emailed link; ``ip_address`` is the client's (no one is signed
    in to carry it)."""
    payload = _reset_payload(token)
    with unscoped():  # reason: no one is signed in; the token is the capability
        user = None
        if payload is not None:
            user = db.session.scalar(select(User).where(User.id == payload.get("u")))
        if payload is None or not _resets(user, payload):
            raise InvalidInput(
                _("This reset link has expired or was already used. Ask for a new one.")
            )
        _set_password(user, new)
        end_all_sessions(user.id)
        audit.record("user.password_reset", user, actor=Principal.for_user(user, ip_address))
    return user
