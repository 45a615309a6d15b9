"""Helpers for the OAuth server and API tests: API clients, the token endpoint spoken over real
HTTP (Basic auth, form posts), the authorisation-code dance with PKCE S256, and bearer headers.

Not a test module: the tests in ``test_oauth_server.py``, ``test_api.py`` and
``test_api_clients.py`` import it.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from portal.identity.tokens import hash_token
from portal.oauth.models import OAuthClient

REDIRECT_URI = "https://app.example.test/callback"
PROBLEM_JSON = "application/problem+json"


@dataclass
class ApiClient:
    row: OAuthClient
    client_id: str
    secret: str | None

    @property
    def basic(self) -> dict:
        return basic_auth(self.client_id, self.secret)


def basic_auth(client_id: str, secret: str | None) -> dict:
    """client_secret_basic (RFC 6749 2.3.1: both parts form-encoded, then Base64)."""
    pair = f"{quote(client_id, safe='')}:{quote(secret or '', safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def bearer(access_token: str) -> dict:
    return {"Authorization": f"Bearer {access_token}"}


def make_api_client(
    db,
    org,
    *,
    scopes: str = "organizations:read users:read",
    service_role: str | None = None,
    redirect_uris: list[str] | None = None,
    confidential: bool = True,
    name: str | None = None,
) -> ApiClient:
    """An API client row of ``org`` with a known secret (stored hashed, as the service does)."""
    client_id = "test-" + secrets.token_urlsafe(12)
    secret = secrets.token_urlsafe(32) if confidential else None
    row = OAuthClient(
        org_id=org.id,
        client_id=client_id,
        name=name or f"Client of {org.name}",
        secret_hash=hash_token(secret) if secret else None,
        redirect_uris=list(redirect_uris or []),
        scopes=scopes,
        confidential=confidential,
        service_role=service_role,
    )
    db.add(row)
    db.flush()
    return ApiClient(row, client_id, secret)


def token_request(http, api_client: ApiClient | None, data: dict, headers: dict | None = None):
    """POST a form to /oauth/token, authenticating ``api_client`` with client_secret_basic (or
    with its client_id in the form when it is a public client)."""
    data = dict(data)
    headers = dict(headers or {})
    if api_client is not None:
        if api_client.secret is None:
            data.setdefault("client_id", api_client.client_id)
        else:
            headers.update(api_client.basic)
    return http.post("/oauth/token", data=data, headers=headers)


def client_credentials(http, api_client: ApiClient, scope: str | None = None):
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return token_request(http, api_client, data)


def cc_token(http, api_client: ApiClient, scope: str) -> dict:
    """A client-credentials token (the JSON answer), asserting it was issued."""
    response = client_credentials(http, api_client, scope)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@dataclass
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        return cls(verifier, create_s256_code_challenge(verifier))


def authorize_url(
    api_client: ApiClient,
    *,
    scope: str = "organizations:read users:read",
    state: str = "state-xyz",
    pkce: Pkce | None = None,
    redirect_uri: str = REDIRECT_URI,
    method: str | None = "S256",
    omit: tuple[str, ...] = (),
) -> str:
    params = {
        "response_type": "code",
        "client_id": api_client.client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": (pkce or Pkce.new()).challenge,
        "code_challenge_method": method,
    }
    params = {k: v for k, v in params.items() if v is not None and k not in omit}
    return "/oauth/authorize?" + urlencode(params)


def redirect_params(response) -> tuple[str, dict]:
    """The redirect's target without its query, and the query's parameters (single values)."""
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True))
    location = response.headers["Location"]
    parts = urlsplit(location)
    target = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return target, {k: v[0] for k, v in parse_qs(parts.query).items()}


def obtain_code(http, api_client: ApiClient, pkce: Pkce, **url_args) -> str:
    """The signed-in user of ``http`` sees the consent page and approves; returns the code."""
    url = authorize_url(api_client, pkce=pkce, **url_args)
    page = http.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    response = http.post(url, data={"decision": "approve"})
    target, params = redirect_params(response)
    assert target == url_args.get("redirect_uri", REDIRECT_URI)
    assert params["state"] == url_args.get("state", "state-xyz")
    return params["code"]


def exchange_code(
    http, api_client: ApiClient, code: str, verifier: str | None, redirect_uri: str = REDIRECT_URI
):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    return token_request(http, api_client, data)


def user_tokens(http, api_client: ApiClient, **url_args) -> dict:
    """The whole dance for the signed-in user of ``http``: consent, code, token (JSON answer)."""
    pkce = Pkce.new()
    code = obtain_code(http, api_client, pkce, **url_args)
    response = exchange_code(http, api_client, code, pkce.verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def refresh(http, api_client: ApiClient, refresh_token: str):
    return token_request(
        http, api_client, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def revoke(http, api_client: ApiClient, token: str, hint: str | None = None):
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    headers = api_client.basic if api_client.secret else {}
    if api_client.secret is None:
        data["client_id"] = api_client.client_id
    return http.post("/oauth/revoke", data=data, headers=headers)


def introspect(http, api_client: ApiClient, token: str, hint: str | None = None):
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    return http.post("/oauth/introspect", data=data, headers=api_client.basic)


def api_get(http, path: str, access_token: str | None, **headers):
    if access_token is not None:
        headers.update(bearer(access_token))
    return http.get(path, headers=headers)


def assert_problem(response, status: int) -> dict:
    """An RFC 9457 problem document with the given status."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM_JSON, response.mimetype
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"] and body["title"]
    return body


def shown_client(page: str) -> tuple[str, str | None]:
    """The client id and (if the page shows it) the secret on an API client's detail page."""
    client_id = re.search(r'data-testid="client-id">([^<]+)<', page)
    assert client_id, page[:2000]
    secret = re.search(r'data-testid="client-secret">.*?<code>([^<]+)</code>', page, re.S)
    return client_id.group(1), secret.group(1) if secret else None
