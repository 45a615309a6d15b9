"""Passkeys (WebAuthn, with py_webauthn) as a second factor after the password, where the browser
offers them: register several, named; list and remove them; and the assertion that completes a
password sign-in like a correct code from the authenticator app.

The relying party is the portal's ``BASE_URL``: its host is the RP id, the URL's scheme, host and
port the expected origin. The challenge of each ceremony is kept server-side in the signed Flask
session (never trusted from the form), for one purpose and one person, used once, and for five
minutes. Services take plain values and a ``Principal`` as ``actor``, flush, never commit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import current_app, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal import audit
from portal.clock import utcnow
from portal.db import db
from portal.errors import InvalidInput
from portal.identity import passwords
from portal.identity.models import User
from portal.identity.security.models import Passkey
from portal.notify import services as notify
from portal.tenancy import Principal

if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

# py_webauthn (with pyOpenSSL and cbor2, some 14 MB) is imported by the ceremonies only, not by
# every web worker that never serves one.

log = logging.getLogger(__name__)

CHALLENGE_KEY = "passkey_challenge"
CHALLENGE_SECONDS = 5 * 60
REGISTER, SIGN_IN = "register", "sign_in"


def _to_base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _from_base64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def relying_party() -> tuple[str, str]:
    """The RP id (``BASE_URL``'s host) and the origin the browser must report."""
    parts = urlsplit(current_app.config["BASE_URL"])
    return parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}"


def passkeys_of(user_id: int) -> list[Passkey]:
    return list(
        db.session.scalars(select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id))
    )


def has_passkey(user_id: int) -> bool:
    return (
        db.session.scalar(select(Passkey.id).where(Passkey.user_id == user_id).limit(1)) is not None
    )


# The challenge: in the session, for one purpose and person, once, for five minutes.


def _remember(purpose: str, user_id: int, challenge: bytes) -> None:
    session[CHALLENGE_KEY] = {
        "p": purpose,
        "u": user_id,
        "c": _to_base64url(challenge),
        "t": int(time.time()) + CHALLENGE_SECONDS,
    }


def take_challenge(purpose: str, user_id: int) -> bytes | None:
    """The challenge last given to this person for this purpose, removed (single use); None when
    there is none, or it expired."""
    kept = session.pop(CHALLENGE_KEY, None)
    if (
        not isinstance(kept, dict)
        or kept.get("p") != purpose
        or kept.get("u") != user_id
        or kept.get("t", 0) < time.time()
    ):
        return None
    return _from_base64url(kept["c"])


def _descriptors(user_id: int) -> list[PublicKeyCredentialDescriptor]:
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    return [
        PublicKeyCredentialDescriptor(
            id=_from_base64url(p.credential_id),
            transports=[AuthenticatorTransport(t) for t in p.transports.split(",") if t],
        )
        for p in passkeys_of(user_id)
    ]


def _user_handle(user: User) -> bytes:
    """The person's WebAuthn user handle: no personal data, the same for all of theirs (the one
    kept with their passkeys; for a first one, derived from the user id with ``SECRET_KEY``, so
    the options and the registration agree without keeping it anywhere)."""
    kept = db.session.scalar(select(Passkey.user_handle).where(Passkey.user_id == user.id).limit(1))
    if kept:
        return _from_base64url(kept)
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"portal/passkey-user/{user.id}".encode(), hashlib.sha256).digest()


# Registration.


def registration_options(user: User) -> str:
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    """The options for ``navigator.credentials.create`` as JSON (the challenge remembered)."""
    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=current_app.config["VENDOR_NAME"],
        user_id=_user_handle(user),
        user_name=user.email,
        user_display_name=user.name or user.email,
        exclude_credentials=_descriptors(user.id),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    _remember(REGISTER, user.id, options.challenge)
    return options_to_json(options)


def register(
    user: User, name: str, credential: str, *, challenge: bytes | None, actor: Principal
) -> Passkey:
    """Keep the passkey the browser made, once the attestation checks out against the challenge
    given to this person."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import InvalidJSONStructure, InvalidRegistrationResponse
    from webauthn.helpers.structs import AuthenticatorTransport

    if actor.user_id != user.id:
        raise InvalidInput(_("Only you can change your second factor."))
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Give the passkey a name."), field="name")
    rp_id, origin = relying_party()
    if challenge is None:
        raise InvalidInput(_("The passkey was not added: try again."))
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
        transports = json.loads(credential).get("response", {}).get("transports") or []
    except (InvalidRegistrationResponse, InvalidJSONStructure, ValueError, TypeError, KeyError):
        log.warning("passkey registration refused for user %s", user.id, exc_info=True)
        raise InvalidInput(_("The passkey was not added: try again.")) from None
    known_transports = {t.value for t in AuthenticatorTransport}
    credential_id = _to_base64url(verified.credential_id)
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise InvalidInput(_("This passkey is added already."))
    passkey = Passkey(
        org_id=user.org_id,
        user_id=user.id,
        name=name[:100],
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=",".join(t for t in transports if t in known_transports),
        user_handle=_to_base64url(_user_handle(user)),
    )
    db.session.add(passkey)
    db.session.flush()
    audit.record("user.passkey_added", user, actor=actor, after={"passkey": passkey.name})
    notify.notify(
        [user],
        "account.security",
        _l("A passkey was added to your account"),
        _l("If it was not you, reset your password now and tell your administrator."),
    )
    return passkey


def remove(passkey: Passkey, user: User, proof: str, *, actor: Principal) -> None:
    """Remove one of one's passkeys; ``proof``: the password or a current code from the app."""
    from portal.identity.security import second_factor

    if actor.user_id != user.id or passkey.user_id != user.id:
        raise InvalidInput(_("Only you can change your second factor."))
    factor = second_factor.factor_of(user.id)
    by_code = (
        factor is not None
        and factor.confirmed_at is not None
        and second_factor.matching_step(factor, proof) is not None
    )
    if not by_code and not passwords.verify_password(user.password_hash, proof or ""):
        raise InvalidInput(_("Type your password or a current code from your app."), field="proof")
    name = passkey.name
    db.session.delete(passkey)
    db.session.flush()
    audit.record("user.passkey_removed", user, actor=actor, before={"passkey": name})
    notify.notify(
        [user],
        "account.security",
        _l("A passkey was removed from your account"),
        _l("If it was not you, reset your password now and tell your administrator."),
    )


# Sign-in.


def authentication_options(user: User) -> str:
    """The options for ``navigator.credentials.get``: the person's passkeys only."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=_descriptors(user.id),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _remember(SIGN_IN, user.id, options.challenge)
    return options_to_json(options)


def check_assertion(
    user: User, credential: str, *, challenge: bytes | None, actor: Principal
) -> bool:
    """The second step of a password sign-in with a passkey: the assertion is signed by one of
    the person's passkeys over the challenge given to them, and its signature counter went up
    (when the authenticator keeps one). True when it checks out; the counter is taken."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidJSONStructure

    if challenge is None:
        return False
    try:
        credential_id = json.loads(credential)["id"]
    except (ValueError, TypeError, KeyError):
        return False
    passkey = db.session.scalar(
        select(Passkey).where(Passkey.user_id == user.id, Passkey.credential_id == credential_id)
    )
    if passkey is None:
        return False
    rp_id, origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except (InvalidAuthenticationResponse, InvalidJSONStructure, ValueError, TypeError, KeyError):
        # A wrong signature, challenge or origin, or a counter that did not go up (a cloned
        # authenticator, perhaps): refused, and logged for whoever watches the logs.
        log.warning(
            "passkey sign-in refused for user %s, passkey %s", user.id, passkey.id, exc_info=True
        )
        return False
    # Only if no other request took this counter value meanwhile.
    taken = db.session.execute(
        update(Passkey)
        .where(Passkey.id == passkey.id, Passkey.sign_count == passkey.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return False
    audit.record("user.signed_in_with_passkey", user, actor=actor)
    return True
