"""An organisation's sign-in provider, as its admin configures it: the discovery document fetched
and checked (public https only), the email domains it owns (each in one organisation only), and
the client secret kept encrypted with a key derived from ``SECRET_KEY``."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import access, audit, sealed
from portal.clock import utcnow
from portal.db import db, read_across
from portal.errors import DomainError, Forbidden, InvalidInput
from portal.identity.models import Organization, User
from portal.oauth.models import IdentityProvider
from portal.tenancy import Principal


class SignInRefused(DomainError):
    """Signing in through the provider cannot go on (its secret is unreadable, the identity
    belongs elsewhere): a 403 with the reason."""

    status_code = 403


DISCOVERY_TIMEOUT = 5
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
PROVIDER_AUDIT_FIELDS = [
    "issuer",
    "client_id",
    "allowed_domains",
    "default_role",
    "password_login_allowed",
    "config_version",
]


# Secrets we must send back to the provider are encrypted at rest (``portal.sealed``; rotating
# SECRET_KEY means re-entering provider secrets).
SEALED_AS = "sso-client-secrets"


def encrypt_secret(secret: str) -> str:
    return sealed.seal(SEALED_AS, secret)


def decrypt_secret(token: str) -> str:
    secret = sealed.unseal(SEALED_AS, token)
    if secret is None:
        raise SignInRefused(
            _("The sign-in provider's secret cannot be read; an admin must enter it again.")
        )
    return secret


# Configuration.


def _check_public_https(url: str, what: str) -> None:
    """Refuse what would let an admin make the server call into our own network (SSRF)."""
    config = current_app.config
    parts = urlsplit(url)
    insecure_ok = config["PORTAL_ENV"] in {"development", "testing"}
    if parts.scheme != "https" and not (parts.scheme == "http" and insecure_ok):
        raise InvalidInput(_("The %(what)s must be an https URL.", what=what), field="issuer")
    if not parts.hostname:
        raise InvalidInput(_("The %(what)s has no host.", what=what), field="issuer")
    if config.get("SSO_ALLOW_INSECURE_LOOPBACK"):
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, None)}
    except OSError:
        raise InvalidInput(
            _("The host of the %(what)s is not found.", what=what), field="issuer"
        ) from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise InvalidInput(
                _("The %(what)s points at a private, loopback or link-local address.", what=what),
                field="issuer",
            )


def fetch_discovery(issuer: str) -> dict:
    """The provider's discovery document, checked: same issuer, the endpoints we need."""
    _check_public_https(issuer, _("issuer URL"))
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=DISCOVERY_TIMEOUT, allow_redirects=False)
        document = response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        document = None
    if not isinstance(document, dict):
        raise InvalidInput(
            _("No OpenID Connect discovery document was found at %(url)s.", url=url), field="issuer"
        )
    if document.get("issuer") != issuer:
        raise InvalidInput(
            _(
                "The provider says its issuer is %(got)s, not %(want)s.",
                got=document.get("issuer"),
                want=issuer,
            ),
            field="issuer",
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise InvalidInput(_("The discovery document lacks %(key)s.", key=key), field="issuer")
    for key in ("token_endpoint", "jwks_uri"):  # the server calls these itself
        _check_public_https(document[key], key)
    methods = document.get("code_challenge_methods_supported")
    if methods is not None and "S256" not in methods:
        raise InvalidInput(_("The provider does not support PKCE S256."), field="issuer")
    return document


def _clean_domains(domains: list[str], org: Organization) -> list[str]:
    cleaned = sorted({d.strip().lower().lstrip("@") for d in domains if d.strip()})
    if not cleaned:
        raise InvalidInput(_("Give at least one email domain."), field="allowed_domains")
    for domain in cleaned:
        if not _DOMAIN.match(domain):
            raise InvalidInput(_("%(d)s is not a domain name.", d=domain), field="allowed_domains")
    with read_across() as reader:  # a domain belongs to one organisation: check all of them
        elsewhere = reader.scalars(
            select(IdentityProvider.allowed_domains).where(IdentityProvider.org_id != org.id)
        ).all()
        outsiders = {
            domain: reader.scalar(
                select(func.count())
                .select_from(User)
                .where(User.org_id != org.id, User.email.endswith("@" + domain))
            )
            for domain in cleaned
        }
    for allowed in elsewhere:
        taken = set(allowed) & set(cleaned)
        if taken:
            raise InvalidInput(
                _("%(d)s belongs to another organisation.", d=", ".join(sorted(taken))),
                field="allowed_domains",
            )
    for domain in cleaned:
        if outsiders[domain]:
            raise InvalidInput(
                _("People of another organisation use %(d)s.", d=domain),
                field="allowed_domains",
            )
    return cleaned


def configure_provider(
    org: Organization,
    *,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    allowed_domains: list[str],
    default_role: str,
    password_login_allowed: bool,
    actor: Principal,
) -> IdentityProvider:
    """Save the organisation's provider after fetching and checking its discovery document.
    A blank secret keeps the stored one. Every save is a new configuration version, so the
    next sign-in uses it at once."""
    if not actor.can("sso.manage") or org.id != actor.org_id:
        raise Forbidden(_("Only your organisation's admins configure its sign-in."))
    issuer = issuer.strip().rstrip("/")
    if default_role not in {r.name for r in access.roles_for(org.kind)}:
        raise InvalidInput(_("Choose one of your organisation's roles."), field="default_role")
    if not client_id.strip():
        raise InvalidInput(_("Give the client ID the provider issued."), field="client_id")
    domains = _clean_domains(allowed_domains, org)
    document = fetch_discovery(issuer)
    provider = db.session.scalar(select(IdentityProvider).where(IdentityProvider.org_id == org.id))
    before = audit.snapshot(provider, PROVIDER_AUDIT_FIELDS) if provider else None
    if provider is None:
        if not client_secret:
            raise InvalidInput(_("Give the client secret."), field="client_secret")
        provider = IdentityProvider(org_id=org.id, config_version=0)
        db.session.add(provider)
    if client_secret:
        provider.client_secret_encrypted = encrypt_secret(client_secret)
    provider.issuer, provider.client_id = issuer, client_id.strip()
    provider.allowed_domains, provider.default_role = domains, default_role
    provider.password_login_allowed = password_login_allowed
    provider.metadata_document = document
    provider.config_version = (provider.config_version or 0) + 1
    provider.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "sso.configured",
        provider,
        actor=actor,
        before=before,
        after=audit.snapshot(provider, PROVIDER_AUDIT_FIELDS),
    )
    return provider
