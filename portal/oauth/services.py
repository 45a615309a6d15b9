"""Use cases of API clients: register, rotate the secret, disable and enable (moves of
``OAuthClient.workflow``). Writers only flush."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import update

from portal import access, audit
from portal.clock import utcnow
from portal.db import db
from portal.errors import Forbidden, InvalidInput
from portal.identity.models import Organization
from portal.identity.tokens import hash_token
from portal.oauth.models import ClientStatus, OAuthAuthorizationCode, OAuthClient, OAuthToken
from portal.tenancy import Principal
from portal.workflow import transition

CLIENT_AUDIT_FIELDS = ["name", "redirect_uris", "scopes", "confidential", "service_role", "status"]


def _check_may_manage(org: Organization, actor: Principal) -> None:
    if not actor.can("api_clients.manage") or org.id != actor.org_id:
        raise Forbidden(_("Only your organisation's admins manage its API clients."))


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme not in {"https", "http"} or not parts.netloc or parts.fragment:
        raise InvalidInput(
            _("%(uri)s is not an absolute URL without a fragment.", uri=uri), field="redirect_uris"
        )
    if parts.scheme == "http" and not loopback:
        raise InvalidInput(
            _("%(uri)s must use https (http only for 127.0.0.1).", uri=uri), field="redirect_uris"
        )


def _new_secret() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    return secret, hash_token(secret)


def register_client(
    org: Organization,
    *,
    name: str,
    redirect_uris: list[str],
    scopes: list[str],
    confidential: bool,
    service_role: str | None,
    actor: Principal,
    client_id: str | None = None,
    secret: str | None = None,
) -> tuple[OAuthClient, str | None]:
    """Register an API client for ``org``. Returns it and its secret, which is shown once and
    stored only as a hash (public clients have none). ``client_id``/``secret`` are for the demo
    seed only."""
    _check_may_manage(org, actor)
    if not name.strip():
        raise InvalidInput(_("Give the client a name."), field="name")
    unknown = set(scopes) - set(access.SCOPES)
    if not scopes or unknown:
        raise InvalidInput(_("Choose at least one scope from the list."), field="scopes")
    for uri in redirect_uris:
        _check_redirect_uri(uri)
    roles = {r.name for r in access.roles_for(org.kind)}
    if service_role and (service_role not in roles or not confidential):
        raise InvalidInput(
            _(
                "A service role must be one of your organisation's roles, and only "
                "a confidential client acts on its own."
            ),
            field="service_role",
        )
    if not redirect_uris and not service_role:
        raise InvalidInput(
            _(
                "Give redirect URIs (to act for users) or a service role (to act "
                "as your organisation), or both."
            ),
            field="redirect_uris",
        )
    secret_hash = None
    if confidential:
        secret, secret_hash = (secret, hash_token(secret)) if secret else _new_secret()
    else:
        secret = None
    client = OAuthClient(
        org_id=org.id,
        client_id=client_id or secrets.token_urlsafe(18),
        name=name.strip(),
        secret_hash=secret_hash,
        redirect_uris=redirect_uris,
        scopes=" ".join(sorted(scopes)),
        confidential=confidential,
        service_role=service_role or None,
        created_by_id=actor.user_id,
    )
    db.session.add(client)
    db.session.flush()
    audit.record(
        "api_client.registered",
        client,
        actor=actor,
        after=audit.snapshot(client, CLIENT_AUDIT_FIELDS),
    )
    return client, secret


def rotate_secret(client: OAuthClient, *, actor: Principal) -> str:
    """A new secret; the old one stops working at once, and so do the tokens the client holds
    (a secret is rotated because it may have leaked, and with it what it obtained)."""
    _check_may_manage(client.org, actor)
    if not client.confidential:
        raise InvalidInput(_("A public client has no secret."))
    secret, client.secret_hash = _new_secret()
    client.secret_rotated_at = utcnow()
    _revoke_tokens(client)
    audit.record("api_client.secret_rotated", client, actor=actor)
    return secret


def _revoke_tokens(client: OAuthClient) -> None:
    """Every token the client holds, access and refresh, stops working."""
    db.session.execute(
        update(OAuthToken)
        .where(OAuthToken.client_pk == client.id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_consent(client: OAuthClient, *, actor: Principal) -> int:
    """The signed-in person takes back what they let ``client`` do for them: every token it
    holds for them (access and refresh) stops working, and an authorisation code not yet
    exchanged is spent. Returns how many tokens were revoked."""
    now = utcnow()
    revoked = db.session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.client_pk == client.id,
            OAuthToken.user_id == actor.user_id,
            OAuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        update(OAuthAuthorizationCode)
        .where(
            OAuthAuthorizationCode.client_pk == client.id,
            OAuthAuthorizationCode.user_id == actor.user_id,
            OAuthAuthorizationCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record("api_client.consent_revoked", client, actor=actor)
    return revoked


def set_client_active(client: OAuthClient, active: bool, *, actor: Principal) -> None:
    """A disabled client gets no tokens, and the tokens it holds stop working."""
    _check_may_manage(client.org, actor)
    target = ClientStatus.active if active else ClientStatus.disabled
    if client.status == target:
        return
    # Enabling is audited as api_client.enabled, as before the client had a status.
    transition(client, target, actor=actor, event="api_client.enabled" if active else None)
    if not active:  # what it holds stays dead, even if it is enabled again
        _revoke_tokens(client)
