"""Random tokens whose hash is what we store, and signed password-reset tokens."""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


def new_token() -> tuple[str, str]:
    """A fresh random token and the hash to store (the token itself is never stored)."""
    raw = secrets.token_urlsafe(32)
    return raw, hash_token(raw)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def password_fingerprint(user) -> str:
    """Changes whenever the password changes, which makes a used reset link worthless. Made
    of the salted password hash, which the link's signer must know: an account without a
    password has no reset (``services.accounts._resets``)."""
    basis = f"{user.id}:{user.password_hash or ''}:{user.password_changed_at or ''}"
    return hashlib.sha256(basis.encode()).hexdigest()[:20]


def make_reset_token(user) -> str:
    return _reset_serializer().dumps({"u": user.id, "f": password_fingerprint(user)})


def read_reset_token(token: str, max_age_seconds: int) -> dict | None:
    """The token's payload, or None if it is forged, malformed or expired."""
    try:
        payload = _reset_serializer().loads(token, max_age=max_age_seconds)
    except (BadSignature, SignatureExpired):
        return None
    return payload if isinstance(payload, dict) else None
