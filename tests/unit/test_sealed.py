"""``portal.sealed``: one way to keep secrets encrypted at rest. A token opens for its purpose
under the SECRET_KEY it was sealed with, and for nothing else (None, not an exception); what the
provider settings and the second factor sealed before ``portal.sealed`` existed still opens."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask

from portal import sealed

SECRET = "whsec_" + base64.b64encode(b"\x01" * 32).decode()


@pytest.fixture
def app_key():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "the-app-key"
    with app.app_context():
        yield app


def _sealed_as_before(info: bytes, secret_key: str, plain: str) -> str:
    """How sso_settings and second_factor each sealed before (their own ``_fernet``)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key)).encrypt(plain.encode()).decode()


def test_a_sealed_secret_opens_for_its_purpose_under_the_same_key(app_key):
    token = sealed.seal("webhook-secrets", SECRET)
    assert SECRET not in token and len(token) == 164  # what webhook_subscriptions must hold
    assert sealed.unseal("webhook-secrets", token) == SECRET
    assert sealed.seal("webhook-secrets", SECRET) != token  # a fresh IV each time
    assert sealed.unseal("webhook-secrets", token, secret_key="the-app-key") == SECRET


def test_it_does_not_open_under_another_key_or_purpose_or_when_altered(app_key):
    token = sealed.seal("webhook-secrets", SECRET)
    assert sealed.unseal("webhook-secrets", token, secret_key="a-new-key") is None
    assert sealed.unseal("totp-secrets", token) is None
    altered = token[:-8] + ("A" if token[-8] != "A" else "B") + token[-7:]
    assert sealed.unseal("webhook-secrets", altered) is None
    assert sealed.unseal("webhook-secrets", "") is None
    assert sealed.unseal("webhook-secrets", "whsec_not-a-token") is None


def test_app_key_changed_means_unreadable(app_key):
    token = sealed.seal("totp-secrets", "JBSWY3DPEHPK3PXP")
    app_key.config["SECRET_KEY"] = "rotated"
    assert sealed.unseal("totp-secrets", token) is None


@pytest.mark.parametrize(
    ("purpose", "info"),
    [
        ("sso-client-secrets", b"portal/sso-client-secrets"),
        ("totp-secrets", b"portal/totp-secrets"),
    ],
)
def test_what_was_sealed_before_still_opens(app_key, purpose, info):
    stored = _sealed_as_before(info, "the-app-key", "stored before")
    assert sealed.unseal(purpose, stored) == "stored before"
