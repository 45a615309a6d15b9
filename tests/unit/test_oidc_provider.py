"""The loopback OpenID Connect provider of the tests, driven with plain ``requests``."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import time_machine
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from tests.oidc_provider import WRONG_AUDIENCE, WRONG_ISSUER, TestProvider

CLIENT_ID = "portal"
CLIENT_SECRET = "portal-secret"
REDIRECT_URI = "http://portal.test/auth/callback"
ANN = {"sub": "ann-1", "email": "ann@org-a.test", "email_verified": True, "name": "Ann Example"}


@pytest.fixture(scope="module")
def idp():
    with TestProvider() as provider:
        provider.add_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        yield provider


@pytest.fixture(autouse=True)
def _reset(idp):
    idp.next_user = dict(ANN)
    idp.tamper = None
    yield


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize(idp: TestProvider, **overrides) -> dict[str, str]:
    """Send the browser to /authorize, follow nothing, return the redirect's query and the
    request's secrets (state, nonce, code_verifier)."""
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    resp = requests.get(
        f"{idp.url('/authorize')}?{urlencode(params)}", allow_redirects=False, timeout=5
    )
    assert resp.status_code == 302, resp.text
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return {
        **query,
        "_state": params.get("state"),
        "_nonce": params.get("nonce"),
        "_verifier": verifier,
    }


def exchange(idp: TestProvider, code: str, verifier: str | None, auth: str = "post"):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    kwargs = {}
    if auth == "post":
        data.update(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    else:
        kwargs["auth"] = (CLIENT_ID, CLIENT_SECRET)
    return requests.post(idp.url("/token"), data=data, timeout=5, **kwargs)


def sign_in(idp: TestProvider, auth: str = "post") -> tuple[dict, dict]:
    got = authorize(idp)
    assert got["state"] == got["_state"]
    resp = exchange(idp, got["code"], got["_verifier"], auth=auth)
    assert resp.status_code == 200, resp.text
    return resp.json(), got


def verify(idp: TestProvider, token: dict, nonce: str, check_aud: bool = True) -> CodeIDToken:
    """Check an ID token as a relying party does (Authlib's ``parse_id_token`` plus aud)."""
    jwks = requests.get(idp.metadata["jwks_uri"], timeout=5).json()
    decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    options = {"iss": {"essential": True, "values": [idp.issuer]}}
    if check_aud:
        options["aud"] = {"essential": True, "values": [CLIENT_ID]}
    params = {"nonce": nonce, "client_id": CLIENT_ID, "access_token": token["access_token"]}
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    claims.validate(leeway=120)
    return claims


def test_discovery_document(idp):
    doc = requests.get(idp.url("/.well-known/openid-configuration"), timeout=5).json()
    assert doc["issuer"] == idp.issuer == f"http://127.0.0.1:{idp.port}"
    assert doc["authorization_endpoint"] == idp.issuer + "/authorize"
    assert doc["token_endpoint"] == idp.issuer + "/token"
    assert doc["jwks_uri"] == idp.issuer + "/jwks"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["subject_types_supported"] == ["public"]
    assert {"openid", "email", "profile"} <= set(doc["scopes_supported"])
    jwks = requests.get(doc["jwks_uri"], timeout=5).json()
    assert [k["kid"] for k in jwks["keys"]] == [idp.kid]
    assert "d" not in jwks["keys"][0]


@pytest.mark.parametrize("auth", ["post", "basic"])
def test_code_flow_with_pkce_gives_a_verifiable_id_token(idp, auth):
    token, got = sign_in(idp, auth=auth)
    assert token["token_type"].lower() == "bearer"
    claims = verify(idp, token, got["_nonce"])
    assert claims.header["alg"] == "RS256" and claims.header["kid"] == idp.kid
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == CLIENT_ID
    assert claims["nonce"] == got["_nonce"]
    assert claims["sub"] == "ann-1"
    assert claims["email"] == "ann@org-a.test" and claims["email_verified"] is True
    assert claims["name"] == "Ann Example"
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert idp.token_requests[-1]["auth"] == auth
    assert idp.token_requests[-1]["form"].get("client_secret") in (None, "***")

    info = requests.get(
        idp.url("/userinfo"),
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert info.json() == ANN


def test_a_replayed_code_is_refused(idp):
    got = authorize(idp)
    assert exchange(idp, got["code"], got["_verifier"]).status_code == 200
    again = exchange(idp, got["code"], got["_verifier"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_pkce_plain_and_missing_pkce_are_refused(idp):
    verifier, _ = pkce_pair()
    plain = authorize(idp, code_challenge=verifier, code_challenge_method="plain")
    assert plain["error"] == "invalid_request" and "code" not in plain
    assert plain["state"] == plain["_state"]

    no_method = authorize(idp, code_challenge=verifier, code_challenge_method=None)
    assert no_method["error"] == "invalid_request"

    missing = authorize(idp, code_challenge=None, code_challenge_method=None)
    assert missing["error"] == "invalid_request"


def test_a_wrong_or_missing_code_verifier_is_refused(idp):
    got = authorize(idp)
    wrong = exchange(idp, got["code"], pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    got = authorize(idp)
    missing = exchange(idp, got["code"], None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_nonce_is_required_and_no_user_means_access_denied(idp):
    assert authorize(idp, nonce=None)["error"] == "invalid_request"
    idp.next_user = None
    refused = authorize(idp)
    assert refused["error"] == "access_denied" and refused["state"] == refused["_state"]


def test_wrong_client_secret_is_refused(idp):
    got = authorize(idp)
    resp = requests.post(
        idp.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": got["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": got["_verifier"],
        },
        auth=(CLIENT_ID, "nope"),
        timeout=5,
    )
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("mode", "error", "claim"),
    [
        ("wrong_iss", InvalidClaimError, "iss"),
        ("wrong_aud", InvalidClaimError, "aud"),
        ("bad_signature", BadSignatureError, None),
        ("expired", ExpiredTokenError, "exp"),
    ],
)
def test_tamper_knobs_make_the_next_token_fail_verification(idp, mode, error, claim):
    idp.tamper = mode
    token, got = sign_in(idp)
    assert idp.tamper is None  # used up by this token
    with pytest.raises(error) as caught:
        verify(idp, token, got["_nonce"])
    if claim:
        assert caught.value.claim == claim

    payload = (
        jwt.decode(token["id_token"], KeySet.import_key_set(idp.jwks())).claims
        if mode != "bad_signature"
        else None
    )
    if mode == "wrong_iss":
        assert payload["iss"] == WRONG_ISSUER
    elif mode == "wrong_aud":
        assert payload["aud"] == WRONG_AUDIENCE
        # Authlib's parse_id_token checks no aud option; it refuses through the azp rule.
        with pytest.raises(MissingClaimError):
            verify(idp, token, got["_nonce"], check_aud=False)
    elif mode == "expired":
        assert payload["exp"] < datetime.now(UTC).timestamp() - 120

    # The knob is one-shot: the next sign-in is clean again.
    token, got = sign_in(idp)
    verify(idp, token, got["_nonce"])


def test_token_times_follow_time_machine(idp):
    with time_machine.travel(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC), tick=False):
        token, got = sign_in(idp)
        claims = verify(idp, token, got["_nonce"])
    assert claims["iat"] == int(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())


def test_a_code_expires(idp):
    got = authorize(idp)
    with time_machine.travel(datetime.now(UTC).timestamp() + idp.code_lifetime + 1):
        resp = exchange(idp, got["code"], got["_verifier"])
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_two_providers_run_side_by_side(idp):
    with TestProvider("/realms/b") as other:
        other.add_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        other.next_user = {"sub": "bob-1", "email": "bob@org-b.test", "email_verified": True}
        assert other.port != idp.port and other.kid != idp.kid
        doc = requests.get(other.url("/.well-known/openid-configuration"), timeout=5).json()
        assert doc["issuer"] == other.issuer == f"http://127.0.0.1:{other.port}/realms/b"

        token_b, got_b = sign_in(other)
        assert verify(other, token_b, got_b["_nonce"])["sub"] == "bob-1"
        token_a, got_a = sign_in(idp)
        assert verify(idp, token_a, got_a["_nonce"])["sub"] == "ann-1"
        # Neither accepts the other's tokens.
        with pytest.raises(InvalidKeyIdError):
            jwt.decode(token_b["id_token"], KeySet.import_key_set(idp.jwks()))


def test_an_unknown_tamper_mode_is_refused_at_once(idp):
    with pytest.raises(ValueError, match="unknown tamper mode"):
        idp.tamper = "wrong_kid"
    assert idp.tamper is None
