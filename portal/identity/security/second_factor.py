"""The second factor: enrol an authenticator app (TOTP, RFC 6238) with ten recovery codes, check a
code at sign-in, turn it off; and who must have one.

Services take plain values and a ``Principal`` as ``actor``, flush, and never commit. During the
half-signed-in step of a sign-in (password right, code not yet typed) the view binds the request's
session to the pending person's principal, so what is read and written here stays behind the
tenant wall (a person sees only their own factor and codes).
"""

from __future__ import annotations

import hmac
import secrets
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from portal import access, audit, sealed
from portal.clock import utcnow
from portal.db import db
from portal.errors import Forbidden, InvalidInput
from portal.identity import passwords, tokens
from portal.identity.models import User, UserSession
from portal.identity.security.models import RecoveryCode, SecondFactor, SignInRule
from portal.notify import services as notify
from portal.tenancy import Principal

STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
# How a session's sign-in was proven (user_sessions.signed_in_with).
PASSWORD, TOTP, RECOVERY_CODE, SSO = "password", "totp", "recovery_code", "sso"
PASSKEY = "passkey"  # portal.identity.security.passkeys
PROVEN = frozenset({TOTP, RECOVERY_CODE, SSO, PASSKEY})
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
# Recovery codes are argon2id hashes like passwords, with OWASP's minimum parameters (19 MiB,
# two passes): a code is 49 random bits, not a person's choice, and sign-in may check all ten.
_code_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
SEALED_AS = "totp-secrets"  # the authenticator's secret, encrypted at rest (portal.sealed)


def code_matches(code_hash: str, raw: str) -> bool:
    try:
        return _code_hasher.verify(code_hash, raw)
    except (VerificationError, InvalidHashError):
        return False


def _secret_of(factor: SecondFactor) -> str | None:
    # None: SECRET_KEY changed, the person enrols again (or uses a recovery code).
    return sealed.unseal(SEALED_AS, factor.secret_encrypted)


def factor_of(user_id: int) -> SecondFactor | None:
    """The person's authenticator, confirmed or pending (read through the wall: their own)."""
    return db.session.scalar(select(SecondFactor).where(SecondFactor.user_id == user_id))


def has_authenticator_app(user_id: int) -> bool:
    factor = factor_of(user_id)
    return factor is not None and factor.confirmed_at is not None


def has_second_factor(user_id: int) -> bool:
    """A confirmed authenticator app, or at least one passkey."""
    from portal.identity.security import passkeys

    return has_authenticator_app(user_id) or passkeys.has_passkey(user_id)


def recovery_codes_left(user_id: int) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def second_factor_required(user: User) -> bool:
    """Whether ``user`` must have a second factor to sign in with a password: their organisation's
    admin asks it of every member, or they are vendor staff and ``SECOND_FACTOR_FOR_VENDOR_STAFF``
    (on in production) asks it.
    (People who sign in through their organisation's identity provider are exempt: the provider
    decides how they prove who they are.)"""
    if current_app.config["SECOND_FACTOR_FOR_VENDOR_STAFF"] and user.org_kind == access.VENDOR:
        return True
    known = getattr(user, "org_requires_second_factor", None)  # read with the session row
    return known if known is not None else org_requires_second_factor(user.org_id)


def org_requires_second_factor(org_id: int) -> bool:
    """The organisation's admin asks a second factor of every member (``SignInRule``)."""
    return bool(
        db.session.scalar(
            select(SignInRule.require_second_factor).where(SignInRule.org_id == org_id)
        )
    )


def needs_enrolment(user: User) -> bool:
    """A signed-in person who must have a second factor, has none, and did not sign in through a
    provider: they may do nothing but enrol (or sign out)."""
    how = getattr(user, "signed_in_with", None)
    if how in PROVEN or not second_factor_required(user):
        return False
    return not has_second_factor(user.id)


# Enrolment.


def begin_enrolment(user: User, *, actor: Principal) -> None:
    """A new pending authenticator with a fresh secret (a pending one before it is replaced).
    Refused while a confirmed one exists: it is turned off first."""
    _check_self(user, actor)
    factor = factor_of(user.id)
    if factor is not None and factor.confirmed_at is not None:
        raise InvalidInput(_("You already have an authenticator app. Turn it off first."))
    if factor is not None:
        db.session.delete(factor)
        db.session.flush()
    secret = pyotp.random_base32()
    db.session.add(
        SecondFactor(
            org_id=user.org_id,
            user_id=user.id,
            secret_encrypted=sealed.seal(SEALED_AS, secret),
        )
    )
    db.session.flush()


def pending_setup(user: User) -> dict | None:
    """What the enrolment page shows while the authenticator is pending: the secret (to type),
    the ``otpauth://`` URI and its QR code as an SVG data URI. None once confirmed (the secret is
    never shown again) or when there is nothing pending."""
    factor = factor_of(user.id)
    if factor is None or factor.confirmed_at is not None:
        return None
    secret = _secret_of(factor)
    if secret is None:
        return None
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["VENDOR_NAME"]
    )
    import segno  # only enrolment draws a QR code: other requests need not load it

    qr = segno.make(uri, error="m")
    return {
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": uri,
        "qr": qr.svg_data_uri(scale=5, dark="#000", light="#fff"),
    }


def confirm_enrolment(user: User, code: str, *, session_token: str | None, actor: Principal):
    """Turn the pending authenticator on with a first code from it; returns the ten recovery
    codes (shown once; only their hashes are kept). The current session counts as proven by
    it from now on."""
    _check_self(user, actor)
    factor = factor_of(user.id)
    if factor is None or factor.confirmed_at is not None:
        raise InvalidInput(_("Start the set-up again."))
    step = matching_step(factor, code)
    if step is None:
        raise InvalidInput(
            _("That code is not right. Type the code your app shows now."), field="code"
        )
    factor.confirmed_at = utcnow()
    factor.last_used_step = step
    codes = _new_recovery_codes(user)
    if session_token:
        _mark_session(session_token, TOTP)
    audit.record("user.second_factor_enabled", user, actor=actor)
    notify.notify(
        [user],
        "account.security",
        _l("A second factor was turned on for your account"),
        _l("If it was not you, reset your password now and tell your administrator."),
    )
    return codes


def new_recovery_codes(user: User, *, actor: Principal) -> list[str]:
    """Ten fresh recovery codes in place of the old ones (used or not)."""
    _check_self(user, actor)
    if not has_authenticator_app(user.id):
        raise InvalidInput(_("Set up an authenticator app first."))
    codes = _new_recovery_codes(user)
    audit.record("user.recovery_codes_renewed", user, actor=actor)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _n in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _i in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(
            RecoveryCode(org_id=user.org_id, user_id=user.id, code_hash=_code_hasher.hash(raw))
        )
    db.session.flush()
    return codes


def disable_second_factor(user: User, proof: str, *, actor: Principal) -> None:
    """Turn the authenticator off and drop the recovery codes. ``proof``: a current code from
    the app, or the account's password."""
    _check_self(user, actor)
    factor = factor_of(user.id)
    if factor is None or factor.confirmed_at is None:
        raise InvalidInput(_("You have no authenticator app to turn off."))
    step = matching_step(factor, proof)
    if step is None and not passwords.verify_password(user.password_hash, proof or ""):
        raise InvalidInput(_("Type a current code from your app, or your password."), field="proof")
    db.session.delete(factor)
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()
    audit.record("user.second_factor_disabled", user, actor=actor)
    notify.notify(
        [user],
        "account.security",
        _l("The second factor of your account was turned off"),
        _l("If it was not you, reset your password now and tell your administrator."),
    )


# Sign-in.


def check_sign_in_code(user: User, code: str, *, actor: Principal) -> str | None:
    """The second step of a password sign-in: ``code`` from the authenticator (each code once:
    a code of a step already used is refused) or an unused recovery code (used up by this).
    Returns how it was proven (``TOTP`` or ``RECOVERY_CODE``), or None for a wrong code."""
    code = (code or "").strip()
    factor = factor_of(user.id)
    if factor is None or factor.confirmed_at is None:
        return None
    digits = code.replace(" ", "")
    if digits.isdigit():
        step = matching_step(factor, digits)
        if step is None:
            return None
        # Only if no other request took this step (or a later one) meanwhile: one use per code.
        taken = db.session.execute(
            update(SecondFactor)
            .where(
                SecondFactor.id == factor.id,
                (SecondFactor.last_used_step.is_(None)) | (SecondFactor.last_used_step < step),
            )
            .values(last_used_step=step)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            return None
        db.session.refresh(factor)
        audit.record("user.signed_in_with_second_factor", user, actor=actor)
        return TOTP
    raw = code.lower().replace("-", "").replace(" ", "")
    if len(raw) != 10:
        return None
    for row in db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ):
        if code_matches(row.code_hash, raw):
            used = db.session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if used.rowcount != 1:
                return None
            audit.record("user.recovery_code_used", user, actor=actor)
            return RECOVERY_CODE
    return None


def matching_step(factor: SecondFactor, code: str | None) -> int | None:
    """The time step (now, or one either side for clocks a little apart) whose code from the
    authenticator ``factor`` is ``code`` and is later than the last one used; None otherwise
    (also when the factor's secret cannot be read). It records nothing: a caller that uses the
    code up stores the step in ``last_used_step``."""
    code = (code or "").replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    secret = _secret_of(factor)
    if secret is None:
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // STEP_SECONDS
    for step in (now - 1, now, now + 1):
        if factor.last_used_step is not None and step <= factor.last_used_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def mark_session(session_token: str, how: str) -> None:
    """Note how the session ``session_token`` was proven (``user_sessions.signed_in_with``)."""
    _mark_session(session_token, how)


def _mark_session(session_token: str, how: str) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == tokens.hash_token(session_token))
        .values(signed_in_with=how)
        .execution_options(synchronize_session=False)
    )


def _check_self(user: User, actor: Principal) -> None:
    # Each person looks after their own second factor; an admin cannot set one up for them.
    if actor.user_id != user.id:
        raise InvalidInput(_("Only you can change your second factor."))


# The organisation's demand.


def set_second_factor_required(org, required: bool, *, actor: Principal) -> None:
    """An organisation admin asks (or stops asking) every member who signs in with a password
    for a second factor. Members without one are sent to enrolment at their next page."""
    if not actor.can("sso.manage") or org.id != actor.org_id:
        raise Forbidden(_("Only an administrator of this organisation may change this."))
    rule = db.session.scalar(select(SignInRule).where(SignInRule.org_id == org.id))
    before = rule.require_second_factor if rule is not None else False
    if before == required:
        return
    if rule is None:
        rule = SignInRule(org_id=org.id)
        db.session.add(rule)
    rule.require_second_factor = required
    db.session.flush()
    audit.record(
        "organization.second_factor_rule_changed",
        org,
        actor=actor,
        before={"require_second_factor": before},
        after={"require_second_factor": required},
    )
