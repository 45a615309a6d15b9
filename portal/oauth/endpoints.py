"""OAuth 2 endpoints: token, revocation, introspection, the consent page, and the server's
metadata (RFC 8414)."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import access
from portal.db import db, unscoped
from portal.extensions import csrf, limiter
from portal.identity.forms import ConfirmForm
from portal.oauth.server import authorization_server

bp = Blueprint("oauth", __name__)


def _server_endpoint(respond):
    # Clients authenticate with their own credentials here, not with a user session: the
    # lookups of clients, codes and tokens see every organisation, and tokens are written.
    with unscoped():  # reason: no one is signed in; the client's credentials are the capability
        response = respond()
    db.session.commit()
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/oauth/token")
@csrf.exempt
@limiter.limit("60 per minute", scope="oauth-token")
def token():
    return _server_endpoint(authorization_server.create_token_response)


@bp.post("/oauth/revoke")
@csrf.exempt
def revoke():
    return _server_endpoint(lambda: authorization_server.create_endpoint_response("revocation"))


@bp.post("/oauth/introspect")
@csrf.exempt
def introspect():
    return _server_endpoint(lambda: authorization_server.create_endpoint_response("introspection"))


@bp.route("/oauth/authorize", methods=["GET", "POST"])
@login_required
def authorize():
    """Consent: a signed-in user lets one of its own organisation's clients act for it."""
    try:
        grant = authorization_server.get_consent_grant(end_user=current_user)
    except OAuth2Error as error:
        return render_template("oauth/authorize_error.html", error=error), 400
    client = grant.client
    if client.org_id != g.principal.org_id:  # vendor staff can see other organisations' clients
        return render_template(
            "oauth/authorize_error.html",
            error=OAuth2Error(description=_("This application belongs to another organisation.")),
        ), 400
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        approved = request.form.get("decision") == "approve"
        response = authorization_server.create_authorization_response(
            grant_user=current_user if approved else None
        )
        db.session.commit()
        return response
    scopes = client.get_allowed_scope(grant.request.payload.scope).split()  # what it would get
    return render_template("oauth/authorize.html", client=client, scopes=scopes, form=form)


@bp.get("/.well-known/oauth-authorization-server")
def metadata():
    base = current_app.config["BASE_URL"]
    return {
        "issuer": base,
        "authorization_endpoint": base + url_for("oauth.authorize"),
        "token_endpoint": base + url_for("oauth.token"),
        "revocation_endpoint": base + url_for("oauth.revoke"),
        "introspection_endpoint": base + url_for("oauth.introspect"),
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "scopes_supported": list(access.SCOPES),
        "service_documentation": base + url_for("api.reference"),
    }
