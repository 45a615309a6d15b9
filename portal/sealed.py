"""Secrets kept encrypted at rest: the one way to do it (provider client secrets, authenticator
secrets, webhook signing secrets).

``seal(purpose, plain)`` gives a Fernet token (AES-128-CBC with an HMAC-SHA256, base64 text)
under a key derived from ``SECRET_KEY`` with HKDF-SHA256 and ``info=b"portal/<purpose>"``: each
purpose has its own key, so a token sealed for one purpose does not open for another.
``unseal(purpose, token)`` gives the plain text back, or None when it cannot be read (above all:
``SECRET_KEY`` changed since it was sealed; what was sealed must then be entered again).

Purposes in use (the derivation must never change, or what is stored no longer opens):
``sso-client-secrets``, ``totp-secrets``, ``webhook-secrets``.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _fernet(purpose: str, secret_key: str | None) -> Fernet:
    if secret_key is None:
        secret_key = current_app.config["SECRET_KEY"]
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"portal/{purpose}".encode()
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(purpose: str, plain: str, *, secret_key: str | None = None) -> str:
    """``plain`` encrypted for ``purpose``: a token of 4/3 × (57 + ``len(plain)`` rounded up to
    16) characters or so (164 for a webhook secret's 50). ``secret_key``: the app's
    ``SECRET_KEY`` unless given (a migration gives it)."""
    return _fernet(purpose, secret_key).encrypt(plain.encode()).decode()


def unseal(purpose: str, token: str, *, secret_key: str | None = None) -> str | None:
    """What ``seal(purpose, …)`` sealed, or None when ``token`` cannot be read: sealed under
    another ``SECRET_KEY`` or for another purpose, altered, or not a token at all."""
    try:
        return _fernet(purpose, secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        return None
