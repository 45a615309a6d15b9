"""A small, real OpenID Connect provider on loopback, for tests.

Built from Authlib's server classes (``AuthorizationServer``, ``AuthorizationCodeGrant``,
``OpenIDCode``, ``CodeChallenge``) with in-memory storage. Each instance listens on its own free
port of 127.0.0.1 and signs ID tokens (RS256) with its own RSA key, made when it starts, so two
instances can stand for two organisations at once.

Usage::

    with TestProvider() as idp:
        idp.add_client("portal", "s3cret", ["http://localhost/auth/callback"])
        idp.next_user = {"sub": "u1", "email": "ann@a.test", "email_verified": True,
                         "name": "Ann"}
        ...  # point the portal at idp.issuer

What it does, as a real provider would:

* ``/authorize`` signs in whoever ``next_user`` names (no login page) and answers with a 302 to
  ``redirect_uri?code=...&state=...``. With ``next_user = None`` the user "refuses": the 302
  carries ``error=access_denied``. Request errors that can go back to the client (bad scope,
  missing or non-S256 PKCE, missing nonce) also come back as a 302 with ``error=...``.
* PKCE is required, with ``code_challenge_method=S256`` only (``plain`` or no method is
  ``invalid_request``). A ``nonce`` is required unless ``require_nonce=False``.
* ``/token`` takes ``grant_type=authorization_code`` with ``client_secret_basic`` or
  ``client_secret_post``. Codes are single-use (a replay is ``invalid_grant``) and live
  ``code_lifetime`` seconds.
* ID tokens carry iss, aud (the client_id, a string), sub, iat, exp (``id_token_lifetime``),
  auth_time, nonce, at_hash, plus the user's claims that the granted scopes cover (``email`` ->
  email, email_verified; ``profile`` -> name and the other profile claims). Claims of
  ``next_user`` that belong to no standard scope (say ``groups``) are always included.
* ``tamper`` spoils the next ID token only (then goes back to ``None`` by itself):
  ``"wrong_iss"`` (iss is ``WRONG_ISSUER``), ``"wrong_aud"`` (aud is ``WRONG_AUDIENCE``),
  ``"bad_signature"`` (signed by another key under the advertised kid), ``"expired"`` (exp
  ``EXPIRED_BY`` seconds ago, beyond Authlib's default 120 s leeway).
* Times come from ``time.time()``, so ``time_machine`` moves them.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, scope_to_list
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Blueprint, Flask, jsonify, request
from joserfc.jwk import RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server

__all__ = ["TAMPER_MODES", "TestProvider"]

#: Values of ``TestProvider.tamper``.
TAMPER_MODES = ("wrong_iss", "wrong_aud", "bad_signature", "expired")

#: What the tamper modes put in the token.
WRONG_ISSUER = "https://wrong-issuer.invalid"
WRONG_AUDIENCE = "someone-else"
#: How far in the past "expired" puts exp: beyond Authlib's default 120 s leeway.
EXPIRED_BY = 600

SCOPES = ["openid", "email", "profile"]
_SCOPED_CLAIMS = {c for claims in UserInfo.SCOPES_CLAIMS_MAPPING.values() for c in claims}


# --- in-memory models ---------------------------------------------------------------------------


@dataclass
class _Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None  # OpenID Connect requires redirect_uri in every request

    def get_allowed_scope(self, scope):
        if not scope:
            return ""
        return " ".join(s for s in scope_to_list(scope) if s in SCOPES)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return client_secret == self.client_secret

    def check_endpoint_auth_method(self, method, endpoint):
        if endpoint == "token":
            return method in self.auth_methods
        return True

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class _AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict[str, Any]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time


@dataclass
class _AccessToken:
    client_id: str
    scope: str
    user: dict[str, Any]
    expires_at: float
    extra: dict[str, Any] = field(default_factory=dict)


# --- Authlib grant and extensions ----------------------------------------------------------------


class _Server(AuthorizationServer):
    provider: TestProvider


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @property
    def provider(self) -> TestProvider:
        return self.server.provider

    def save_authorization_code(self, code, request):
        data = request.payload.data
        now = time.time()
        item = _AuthorizationCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            user=copy.deepcopy(request.user),
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=int(now),
            expires_at=now + self.provider.code_lifetime,
        )
        with self.provider._lock:
            self.provider._codes[code] = item
            if item.nonce:
                self.provider._nonces.add((item.client_id, item.nonce))

    def query_authorization_code(self, code, client):
        item = self.provider._codes.get(code)
        if item is None or item.client_id != client.get_client_id():
            return None
        if time.time() >= item.expires_at:
            return None
        return item

    def delete_authorization_code(self, authorization_code):
        self.provider._codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return authorization_code.user


class _S256Only(CodeChallenge):
    """PKCE required for every client, S256 only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


class _OpenIDCode(OpenIDCode):
    def __init__(self, provider: TestProvider, require_nonce: bool):
        super().__init__(require_nonce=require_nonce)
        self.provider = provider
        self._mode: str | None = None  # the mode of the token being encoded

    def exists_nonce(self, nonce, request):
        return (request.payload.client_id, nonce) in self.provider._nonces

    def generate_user_info(self, user, scope):
        return self.provider._claims_for(user, scope)

    def encode_id_token(self, token, request):
        # The token endpoint runs under the provider's lock, so one token at a time.
        self._mode = self.provider._take_tamper()
        try:
            return super().encode_id_token(token, request)
        finally:
            self._mode = None

    def get_client_algorithm(self, client):
        return "RS256"

    def get_encode_header(self, client):
        return {"alg": "RS256", "kid": self.provider.kid}

    def resolve_client_private_key(self, client):
        if self._mode == "bad_signature":
            return self.provider._rogue_key()
        return self.provider.signing_key

    def get_client_claims(self, client):
        now = int(time.time())
        claims = {
            "iss": self.provider.issuer,
            "aud": client.get_client_id(),
            "iat": now,
            "exp": now + self.provider.id_token_lifetime,
        }
        if self._mode == "wrong_iss":
            claims["iss"] = WRONG_ISSUER
        elif self._mode == "wrong_aud":
            claims["aud"] = WRONG_AUDIENCE
        elif self._mode == "expired":
            claims["iat"] = now - EXPIRED_BY - self.provider.id_token_lifetime
            claims["exp"] = now - EXPIRED_BY
        return claims


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


# --- the provider -------------------------------------------------------------------------------


class TestProvider:
    """A real OpenID Connect provider on 127.0.0.1, one per organisation.

    :param path: a path the issuer ends with, such as ``"/realms/a"``; the endpoints live under it.
    :param require_nonce: refuse authorization requests without a ``nonce``.
    :param id_token_lifetime: seconds from iat to exp of ID tokens.
    :param code_lifetime: seconds an authorization code can be redeemed.
    :param access_token_lifetime: ``expires_in`` of access tokens.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        path: str = "",
        *,
        require_nonce: bool = True,
        id_token_lifetime: int = 300,
        code_lifetime: int = 60,
        access_token_lifetime: int = 300,
    ) -> None:
        if path and (not path.startswith("/") or path.endswith("/")):
            raise ValueError("path must start with '/' and not end with '/'")
        self.path = path
        self.require_nonce = require_nonce
        self.id_token_lifetime = id_token_lifetime
        self.code_lifetime = code_lifetime
        self.access_token_lifetime = access_token_lifetime

        #: Who signs in at the next (and every later) /authorize; ``None`` refuses consent.
        self.next_user: dict[str, Any] | None = None
        self._tamper: str | None = None
        #: The query parameters of every /authorize request, oldest first.
        self.authorization_requests: list[dict[str, str]] = []
        #: Every /token request: ``{"form": {...} (client_secret masked), "auth": "basic"|"post"
        #: |"none", "status": <int>}``, oldest first.
        self.token_requests: list[dict[str, Any]] = []

        self.issuer: str = ""
        self.port: int = 0
        self.signing_key: RSAKey | None = None
        self.kid: str = ""

        self._lock = threading.RLock()
        self._clients: dict[str, _Client] = {}
        self._codes: dict[str, _AuthorizationCode] = {}
        self._tokens: dict[str, _AccessToken] = {}
        self._nonces: set[tuple[str, str]] = set()
        self._rogue: RSAKey | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self.app = self._make_app()

    # lifecycle

    def start(self) -> TestProvider:
        if self._server is not None:
            raise RuntimeError("provider already started")
        self.signing_key = RSAKey.generate_key(
            2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True
        )
        self.kid = self.signing_key.kid
        self._rogue = None
        self._server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self.issuer = f"http://127.0.0.1:{self.port}{self.path}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"oidc-provider-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> TestProvider:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # set-up

    def add_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str] | str,
        *,
        auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post"),
    ) -> None:
        """Register a confidential client. ``auth_methods`` narrows how it may authenticate at
        the token endpoint."""
        if isinstance(redirect_uris, str):
            redirect_uris = [redirect_uris]
        with self._lock:
            self._clients[client_id] = _Client(
                client_id, client_secret, list(redirect_uris), tuple(auth_methods)
            )

    def url(self, endpoint: str) -> str:
        """The absolute URL of an endpoint path, such as ``url("/token")``."""
        return self.issuer + endpoint

    @property
    def metadata(self) -> dict[str, Any]:
        """The discovery document."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "jwks_uri": self.url("/jwks"),
            "userinfo_endpoint": self.url("/userinfo"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "scopes_supported": list(SCOPES),
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "claims_supported": ["iss", "aud", "sub", "iat", "exp", "auth_time", "nonce"]
            + sorted(_SCOPED_CLAIMS),
        }

    def jwks(self) -> dict[str, Any]:
        """The public key set served at /jwks."""
        if self.signing_key is None:
            raise RuntimeError("provider not started")
        return {"keys": [self.signing_key.as_dict(private=False)]}

    # internals

    @property
    def tamper(self) -> str | None:
        """Misbehaviour for the next ID token only, one of ``TAMPER_MODES`` or ``None``. The
        provider resets it to ``None`` as soon as a token uses it."""
        return self._tamper

    @tamper.setter
    def tamper(self, mode: str | None) -> None:
        if mode is not None and mode not in TAMPER_MODES:
            raise ValueError(f"unknown tamper mode {mode!r}; use one of {TAMPER_MODES}")
        self._tamper = mode

    def _take_tamper(self) -> str | None:
        with self._lock:
            mode, self._tamper = self._tamper, None
        return mode

    def _rogue_key(self) -> RSAKey:
        """Another private key that claims the advertised kid."""
        if self._rogue is None:
            self._rogue = RSAKey.generate_key(
                2048, parameters={"use": "sig", "alg": "RS256", "kid": self.kid}
            )
        return self._rogue

    def _claims_for(self, user: dict[str, Any], scope: str) -> UserInfo:
        granted = UserInfo(user).filter(scope)
        extra = {k: v for k, v in user.items() if k not in _SCOPED_CLAIMS}
        return UserInfo({**extra, **granted, "sub": str(user["sub"])})

    def _save_token(self, token, req) -> None:
        with self._lock:
            self._tokens[token["access_token"]] = _AccessToken(
                client_id=req.client.get_client_id(),
                scope=token.get("scope", ""),
                user=copy.deepcopy(req.user),
                expires_at=time.time() + token.get("expires_in", self.access_token_lifetime),
            )

    def _make_app(self) -> Flask:
        app = Flask(__name__)
        app.config.update(
            OAUTH2_SCOPES_SUPPORTED=SCOPES,
            OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": self.access_token_lifetime},
        )
        server = _Server(app, query_client=self._clients.get, save_token=self._save_token)
        server.provider = self
        server.register_grant(
            _CodeGrant,
            [_S256Only(required=True), _OpenIDCode(self, require_nonce=self.require_nonce)],
        )
        bp = Blueprint("oidc", __name__, url_prefix=self.path or None)

        @bp.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(self.metadata)

        @bp.get("/jwks")
        def jwks():
            return jsonify(self.jwks())

        @bp.route("/authorize", methods=["GET", "POST"])
        def authorize():
            self.authorization_requests.append(request.values.to_dict())
            user = copy.deepcopy(self.next_user)
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return server.handle_error_response(request, error)
            return server.create_authorization_response(grant=grant, grant_user=user)

        @bp.post("/token")
        def token():
            form = request.form.to_dict()
            if "client_secret" in form:
                form["client_secret"] = "***"
            if request.authorization is not None:
                auth = "basic"
            elif "client_secret" in form:
                auth = "post"
            else:
                auth = "none"
            with self._lock:  # one token request at a time: codes stay single-use
                response = server.create_token_response()
                self.token_requests.append(
                    {"form": form, "auth": auth, "status": response.status_code}
                )
            return response

        @bp.route("/userinfo", methods=["GET", "POST"])
        def userinfo():
            header = request.headers.get("Authorization", "")
            scheme, _, value = header.partition(" ")
            item = self._tokens.get(value) if scheme.lower() == "bearer" else None
            if item is None or time.time() >= item.expires_at:
                body = jsonify(error="invalid_token")
                return body, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            return jsonify(self._claims_for(item.user, item.scope))

        app.register_blueprint(bp)
        return app
