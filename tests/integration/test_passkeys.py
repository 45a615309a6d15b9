"""Passkeys as a second factor, driven with a software authenticator written here (attestation
"none", EC P-256 assertions): registration verified and stored, a sign-in completed by a valid
assertion, and a wrong signature, a wrong or replayed challenge, a lower signature counter refused
with nothing changed; another person's passkey is a 404; removing one needs the password or a
code; a passkey alone counts as a second factor."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from urllib.parse import urlsplit

import cbor2
import pytest
import time_machine
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from portal.identity.models import UserSession
from portal.identity.security.models import Passkey
from tests.factories import PASSWORD
from tests.unchanged import fresh, unchanged

START = "2026-03-02 09:00:10 +0000"


class SoftAuthenticator:
    """A passkey in software: one EC P-256 key, a credential id and a signature counter."""

    def __init__(self, base_url: str) -> None:
        self.rp_id = urlsplit(base_url).hostname
        self.origin = base_url.rstrip("/")
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.count = 0

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        ).encode()

    def create(self, options: dict) -> str:
        assert options["rp"]["id"] == self.rp_id
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([0x01 | 0x04 | 0x40])  # user present, verified, credential data
            + self.count.to_bytes(4, "big")
            + bytes(16)  # AAGUID
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self._cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": bytes_to_base64url(
                        self._client_data("webauthn.create", options["challenge"])
                    ),
                    "attestationObject": bytes_to_base64url(attestation),
                    "transports": ["internal", "hybrid"],
                },
            }
        )

    def get(self, options: dict, *, count: int | None = None, tamper: bool = False) -> str:
        assert self.id in [c["id"] for c in options["allowCredentials"]]
        self.count = self.count + 1 if count is None else count
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([0x01 | 0x04])
            + self.count.to_bytes(4, "big")
        )
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        if tamper:
            signature = ec.generate_private_key(ec.SECP256R1()).sign(
                auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
            )
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": bytes_to_base64url(client_data),
                    "authenticatorData": bytes_to_base64url(auth_data),
                    "signature": bytes_to_base64url(signature),
                },
            }
        )


def options_on(page: str, kind: str) -> dict:
    found = re.search(rf'data-passkey-form="{kind}" data-options="([^"]+)"', page)
    assert found, page[:3000]
    return json.loads(html.unescape(found.group(1)))


def add_passkey(app, client, name: str = "Laptop") -> SoftAuthenticator:
    page = client.get("/account/security").get_data(as_text=True)
    options = options_on(page, "create")
    key = SoftAuthenticator(app.config["BASE_URL"])
    response = client.post(
        "/account/security/passkeys", data={"name": name, "credential": key.create(options)}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/account/security"
    return key


def password_step(client, user) -> dict:
    """The password, then the code page: returns the passkey sign-in options shown there."""
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/login/code"
    return options_on(client.get("/login/code").get_data(as_text=True), "get")


@pytest.fixture
def member(org_factory, user_factory):
    return user_factory(org_factory("reseller"), "partner_user")


def test_register_a_passkey_and_sign_in_with_it(app, client_as, member, db):
    with time_machine.travel(START, tick=False) as clock:
        client = client_as(member)
        page = client.get("/account/security").get_data(as_text=True)
        assert 'data-testid="no-passkeys"' in page and "js/passkeys.js" in page
        options = options_on(page, "create")
        assert options["rp"]["id"] == "portal.test"
        assert options["authenticatorSelection"]["userVerification"] == "preferred"
        key = add_passkey(app, client, "Laptop")
        second = add_passkey(app, client, "Phone")  # several allowed
        stored = fresh(db).scalars(select(Passkey).where(Passkey.user_id == member.id)).all()
        assert [p.name for p in stored] == ["Laptop", "Phone"]
        first = stored[0]
        assert first.credential_id == key.id and first.sign_count == 0
        assert first.transports == "internal,hybrid" and first.org_id == member.org_id
        assert first.user_handle == stored[1].user_handle  # one handle per person
        assert base64url_to_bytes(first.user_handle) == base64url_to_bytes(options["user"]["id"])
        page = client.get("/account/security").get_data(as_text=True)
        assert "Laptop" in page and "Phone" in page and "Never" in page
        # The second registration's options excluded the first passkey.
        assert key.id in [c["id"] for c in options_on(page, "create")["excludeCredentials"]]

        clock.shift(60)
        browser = app.test_client()
        options = password_step(browser, member)
        assert {c["id"] for c in options["allowCredentials"]} == {key.id, second.id}
        page = browser.get("/login/code").get_data(as_text=True)
        assert "Use a passkey" in page and 'name="code"' not in page  # no app: no code form
        options = options_on(page, "get")
        response = browser.post("/login/code/passkey", data={"credential": key.get(options)})
        assert response.status_code == 302 and response.headers["Location"] == "/home"
        assert browser.get("/home").status_code == 200
        row = fresh(db).get(Passkey, first.id)
        assert row.sign_count == 1 and row.last_used_at is not None
        how = fresh(db).scalars(
            select(UserSession.signed_in_with).where(UserSession.user_id == member.id)
        )
        assert "passkey" in how.all()


def test_refused_assertions_change_nothing(app, client_as, member, db):
    with time_machine.travel(START, tick=False):
        key = add_passkey(app, client_as(member))
        browser = app.test_client()
        options = password_step(browser, member)
        # Signs in once, so that the counter is above zero.
        assert (
            browser.post("/login/code/passkey", data={"credential": key.get(options)}).status_code
            == 302
        )
        passkey = fresh(db).scalar(select(Passkey).where(Passkey.user_id == member.id))
        assert passkey.sign_count == 1

        browser = app.test_client()
        options = password_step(browser, member)
        with unchanged(db, passkey, counted=[UserSession, Passkey]):
            # A signature by another key.
            response = browser.post(
                "/login/code/passkey", data={"credential": key.get(options, tamper=True)}
            )
            assert response.status_code == 422
            assert "The passkey was not accepted" in response.get_data(as_text=True)
            # The challenge above is used up: the same options again are a replay.
            response = browser.post("/login/code/passkey", data={"credential": key.get(options)})
            assert response.status_code == 422
            # Another challenge than the one given.
            options = options_on(browser.get("/login/code").get_data(as_text=True), "get")
            wrong = dict(options, challenge=bytes_to_base64url(os.urandom(32)))
            assert (
                browser.post("/login/code/passkey", data={"credential": key.get(wrong)}).status_code
                == 422
            )
            # A counter that did not go up (a cloned authenticator).
            options = options_on(browser.get("/login/code").get_data(as_text=True), "get")
            assert (
                browser.post(
                    "/login/code/passkey", data={"credential": key.get(options, count=1)}
                ).status_code
                == 422
            )
            # No challenge at all (none given since the last refusal's page was not read).
            browser.get("/login/code")
            browser.post("/login/code/passkey", data={"credential": "{}"})
        assert browser.get("/home").status_code == 302


def test_a_registration_with_a_wrong_challenge_or_origin_is_refused(app, client_as, member, db):
    client = client_as(member)
    page = client.get("/account/security").get_data(as_text=True)
    options = options_on(page, "create")
    key = SoftAuthenticator(app.config["BASE_URL"])
    with unchanged(db, member, counted=[Passkey]):
        wrong = dict(options, challenge=bytes_to_base64url(os.urandom(32)))
        client.post(
            "/account/security/passkeys", data={"name": "X", "credential": key.create(wrong)}
        )
        client.get("/account/security")
        other = SoftAuthenticator("https://evil.example")
        other.rp_id = key.rp_id
        options = options_on(client.get("/account/security").get_data(as_text=True), "create")
        client.post(
            "/account/security/passkeys", data={"name": "X", "credential": other.create(options)}
        )
        # Replayed: the registration challenge is used once.
        client.post(
            "/account/security/passkeys", data={"name": "X", "credential": key.create(options)}
        )


def test_another_persons_passkey_is_a_404(app, client_as, org_factory, user_factory, db):
    org = org_factory("reseller")
    member = user_factory(org, "partner_user")
    add_passkey(app, client_as(member))
    passkey = db.scalar(select(Passkey).where(Passkey.user_id == member.id))
    colleague = user_factory(org, "partner_user")
    with unchanged(db, passkey, counted=[Passkey]):
        response = client_as(colleague).post(
            f"/account/security/passkeys/{passkey.id}/remove",
            data={f"passkey{passkey.id}-proof": PASSWORD},
        )
        assert response.status_code == 404


def test_removing_a_passkey_needs_the_password(app, client_as, member, db):
    client = client_as(member)
    add_passkey(app, client)
    passkey = db.scalar(select(Passkey).where(Passkey.user_id == member.id))
    field = f"passkey{passkey.id}-proof"
    with unchanged(db, passkey, counted=[Passkey]):
        client.post(f"/account/security/passkeys/{passkey.id}/remove", data={field: "wrong"})
        client.post(f"/account/security/passkeys/{passkey.id}/remove", data={})
    response = client.post(
        f"/account/security/passkeys/{passkey.id}/remove", data={field: PASSWORD}
    )
    assert response.status_code == 302
    assert fresh(db).scalar(select(func.count()).select_from(Passkey)) == 0
    # Signing in asks for the password alone again.
    response = app.test_client().post("/login", data={"email": member.email, "password": PASSWORD})
    assert response.headers["Location"] == "/home"


def test_a_passkey_alone_meets_the_organisations_rule(
    app, client_as, org_factory, user_factory, db
):
    org = org_factory("customer")
    admin, member = user_factory(org, "customer_admin"), user_factory(org, "customer_user")
    assert (
        client_as(admin)
        .post("/admin/second-factor", data={"require_second_factor": "y"})
        .status_code
        == 302
    )
    browser = client_as(member)
    assert browser.get("/home").headers["Location"] == "/account/security"
    add_passkey(app, browser)
    assert browser.get("/home").status_code == 200
    fresh_browser = app.test_client()
    password_step(fresh_browser, member)
    assert fresh_browser.get("/home").status_code == 302  # half signed in only


def test_passkey_attempts_are_limited(app, client_as, member, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS", "3 per 15 minutes")
    key = add_passkey(app, client_as(member))
    browser = app.test_client()
    password_step(browser, member)
    for _ in range(3):
        options = options_on(browser.get("/login/code").get_data(as_text=True), "get")
        assert (
            browser.post(
                "/login/code/passkey", data={"credential": key.get(options, tamper=True)}
            ).status_code
            == 422
        )
    options = options_on(browser.get("/login/code").get_data(as_text=True), "get")
    assert (
        browser.post("/login/code/passkey", data={"credential": key.get(options)}).status_code
        == 429
    )
    assert browser.get("/home").status_code == 302
