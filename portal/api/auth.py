"""Who is asking the API: the principal comes from the bearer token alone.

A token of a user (authorization code) acts as that user; a token of a client (client
credentials) acts as the client's organisation with the role its admin chose. Either way its
rights are its scopes intersected with that role, and the same tenant wall scopes every query.
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2.requests import FlaskJsonRequest
from authlib.oauth2 import OAuth2Error
from flask import g, request

from portal import access
from portal.api.errors import ApiError
from portal.db import db, set_principal
from portal.oauth.models import OAuthToken
from portal.oauth.server import resource_protector
from portal.tenancy import Principal

_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="api"'}


def current_token() -> OAuthToken:
    """The request's valid access token (cached on ``g``), or a 401 problem."""
    if "api_token" not in g:
        try:
            g.api_token = resource_protector.validate_request(
                scopes=None, request=FlaskJsonRequest(request)
            )
        except OAuth2Error as error:
            headers = {"WWW-Authenticate": f'Bearer realm="api", error="{error.error}"'}
            raise ApiError(401, "Unauthorized", error.description or error.error, headers) from None
    return g.api_token


def principal_for(token: OAuthToken) -> Principal | None:
    """The principal a valid token acts as, or None if its user or client can no longer act.

    The token was read past the wall with its client, user and their organisations
    (``portal.oauth.server``), so nothing is loaded here."""
    scopes = frozenset(token.scope.split())
    client, user = token.client, token.user
    if user is not None:
        if not user.is_active or user.org_id != client.org_id:
            return None
        return Principal(
            user.org_id, user.org_kind, user.role, user.id, scopes, request.remote_addr
        )
    if not client.service_role or not client.org.active:
        return None
    return Principal(
        client.org_id, client.org.kind, client.service_role, None, scopes, request.remote_addr
    )


def authenticate() -> Principal:
    """Resolve and bind the principal of this API request (before any tenant query)."""
    token = current_token()
    principal = principal_for(token)
    if principal is None:
        raise ApiError(
            401, "Unauthorized", "The token's user or client is no longer active.", _UNAUTHORIZED
        )
    g.principal = principal
    set_principal(db.session, principal)
    return principal


def require_scope(scope: str) -> None:
    if scope not in (g.principal.scopes or ()):
        raise ApiError(
            403,
            "Forbidden",
            f"This token lacks the scope {scope}.",
            {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )


def require_action(action: str) -> None:
    """The role behind the token must allow ``action`` and a scope must cover it (else 403;
    when only the scope is missing, ``insufficient_scope`` names it, RFC 6750)."""
    principal = g.principal
    if not principal.can(action):
        needed = access.scope_for(action)
        if needed and access.allows(principal.role, principal.org_kind, action):
            require_scope(needed)
        raise ApiError(403, "Forbidden", "Neither this token's scopes nor its role allow this.")


def client_key() -> str:
    """Rate-limit key: the API client behind the token (unauthenticated calls share one)."""
    try:
        return "api-client:" + current_token().client.client_id
    except ApiError:
        return "api-anonymous:" + (request.remote_addr or "")
