"""The portal as an OAuth 2 authorisation server for its API (authlib).

Grants: ``client_credentials`` (a client acts as its organisation's service identity),
``authorization_code`` with PKCE S256 required for every client, and ``refresh_token`` with
rotation (the old refresh token stops working). No implicit or password grant. Revocation
(RFC 7009) and introspection (RFC 7662) answer only about the calling client's own tokens.

The token endpoints run before anyone is signed in, so their lookups are unscoped: the views in
``portal.oauth.endpoints`` open that window, and only for authlib's calls.
"""

from __future__ import annotations

from datetime import timedelta

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from portal.clock import utcnow
from portal.db import db, read_across
from portal.identity.tokens import hash_token
from portal.oauth.models import ClientStatus, OAuthAuthorizationCode, OAuthClient, OAuthToken

ACCESS_TOKEN_SECONDS = 900
REFRESH_TOKEN_DAYS = 30
CODE_SECONDS = 120
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class S256Required(CodeChallenge):
    """PKCE for every client, confidential ones too, and only S256 (``plain`` is refused)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method", "S256") != "S256":
            raise InvalidRequestError("Only the S256 code_challenge_method is accepted.")
        return super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        return super().validate_code_verifier(grant, result)


class ClientScopesOnly:
    """A request for a scope the client was not given is refused with ``invalid_scope`` (RFC
    6749 §5.2), not silently narrowed: a client then learns what it lacks instead of failing
    later with 403s. A request without a scope gets all of the client's."""

    def validate_requested_scope(self):
        requested = set(scope_to_list(self.request.payload.scope) or ())
        lacking = requested - set(self.request.client.scopes.split())
        if lacking:
            raise InvalidScopeError(
                description="The client was not given the scope(s): " + " ".join(sorted(lacking))
            )


class AuthorizationCodeGrant(ClientScopesOnly, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*CLIENT_AUTH_METHODS, "none"]

    def save_authorization_code(self, code: str, request) -> OAuthAuthorizationCode:
        data = request.payload.data
        row = OAuthAuthorizationCode(
            org_id=request.client.org_id,
            code_hash=hash_token(code),
            client_pk=request.client.id,
            user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.payload.scope or "",
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method", "S256"),
            expires_at=utcnow() + timedelta(seconds=CODE_SECONDS),
        )
        db.session.add(row)
        db.session.flush()
        return row

    def query_authorization_code(self, code: str, client: OAuthClient):
        row = db.session.scalar(
            select(OAuthAuthorizationCode).where(
                OAuthAuthorizationCode.code_hash == hash_token(code),
                OAuthAuthorizationCode.client_pk == client.id,
            )
        )
        if row is None or row.used_at is not None or row.expires_at <= utcnow():
            if row is not None and row.used_at is not None:
                _revoke_tokens_of_code(row)  # a replayed code: revoke what it produced
            return None
        return row

    def delete_authorization_code(self, authorization_code: OAuthAuthorizationCode) -> None:
        authorization_code.used_at = utcnow()  # kept, so a replay is recognised as one

    def authenticate_user(self, authorization_code: OAuthAuthorizationCode):
        user = authorization_code.user
        return user if user.is_active else None


def _revoke_tokens_of_code(code: OAuthAuthorizationCode) -> None:
    for token in db.session.scalars(
        select(OAuthToken).where(
            OAuthToken.client_pk == code.client_pk,
            OAuthToken.user_id == code.user_id,
            OAuthToken.issued_at >= code.created_at,
            OAuthToken.revoked_at.is_(None),
        )
    ):
        token.revoked_at = utcnow()


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*CLIENT_AUTH_METHODS, "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str):
        token = db.session.scalar(
            select(OAuthToken).where(OAuthToken.refresh_token_hash == hash_token(refresh_token))
        )
        return token if token is not None and token.is_refresh_token_active() else None

    def authenticate_user(self, refresh_token: OAuthToken):
        user = refresh_token.user
        return user if user is not None and user.is_active else None

    def revoke_old_credential(self, refresh_token: OAuthToken) -> None:
        refresh_token.revoked_at = utcnow()


class ClientCredentialsGrant(ClientScopesOnly, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS


def _find_token(token_string: str, hint: str | None) -> OAuthToken | None:
    """The token, access or refresh, whatever the hint says (RFC 7009 and 7662: a wrong hint
    must not hide it)."""
    digest = hash_token(token_string)
    return db.session.scalar(
        select(OAuthToken).where(
            or_(OAuthToken.access_token_hash == digest, OAuthToken.refresh_token_hash == digest)
        )
    )


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = [*CLIENT_AUTH_METHODS, "none"]

    def query_token(self, token_string, token_type_hint):
        return _find_token(token_string, token_type_hint)

    def revoke_token(self, token: OAuthToken, request) -> None:
        token.revoked_at = utcnow()


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        # Agree with the API: a token whose user or organisation can no longer act is inactive.
        token = _find_token(token_string, token_type_hint)
        if token is None or not token.client.org.active:
            return None
        if token.user is not None and not token.user.is_active:
            return None
        return token

    def check_permission(self, token: OAuthToken, client: OAuthClient, request) -> bool:
        return token.check_client(client)  # anyone else's token is simply "active": false

    def introspect_token(self, token: OAuthToken) -> dict:
        return {
            "active": True,
            "client_id": token.client.client_id,
            "token_type": "Bearer",
            "scope": token.scope,
            "sub": str(token.user_id) if token.user_id else f"client:{token.client.client_id}",
            "org_id": token.org_id,
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.issued_at.timestamp()),
        }


def _query_client(client_id: str) -> OAuthClient | None:
    client = db.session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None or client.status != ClientStatus.active or not client.org.active:
        return None
    return client


def _save_token(token: dict, request) -> None:
    client: OAuthClient = request.client
    now = utcnow()
    refresh = token.get("refresh_token")
    db.session.add(
        OAuthToken(
            org_id=client.org_id,
            client_pk=client.id,
            user_id=request.user.id if request.user else None,
            access_token_hash=hash_token(token["access_token"]),
            refresh_token_hash=hash_token(refresh) if refresh else None,
            scope=token.get("scope", ""),
            issued_at=now,
            expires_at=now + timedelta(seconds=int(token["expires_in"])),
            refresh_expires_at=now + timedelta(days=REFRESH_TOKEN_DAYS) if refresh else None,
        )
    )
    db.session.flush()


authorization_server = AuthorizationServer()


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "OAUTH2_TOKEN_EXPIRES_IN",
        {
            "client_credentials": ACCESS_TOKEN_SECONDS,
            "authorization_code": ACCESS_TOKEN_SECONDS,
            "refresh_token": ACCESS_TOKEN_SECONDS,
        },
    )
    # client_credentials tokens get no refresh token: the client simply asks again.
    app.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", True)
    authorization_server.init_app(app, query_client=_query_client, save_token=_save_token)
    authorization_server.register_grant(AuthorizationCodeGrant, [S256Required(required=True)])
    authorization_server.register_grant(RefreshTokenGrant)
    authorization_server.register_grant(ClientCredentialsGrant)
    authorization_server.register_endpoint(Revocation)
    authorization_server.register_endpoint(Introspection)


class _Validator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> OAuthToken | None:
        """The token, read before anyone is known (the bearer token is what tells us who is
        asking) on a separate session: authlib needs the token object, so it comes out detached
        with its client, organisations and user loaded, and never enters the request's session.
        """
        with read_across() as reader:
            return reader.scalar(
                select(OAuthToken)
                .options(joinedload(OAuthToken.user))
                .where(OAuthToken.access_token_hash == hash_token(token_string))
            )


resource_protector = ResourceProtector()
resource_protector.register_token_validator(_Validator())
