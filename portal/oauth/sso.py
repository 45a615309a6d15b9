"""Sign-in through each organisation's OpenID Connect provider (authlib's Flask client).

An organisation's admin configures its provider; the sign-in page finds the organisation by the
email's domain and sends the user there (authorization code, PKCE S256, state and nonce). On
return the ID token's signature, ``iss`` (pinned to that organisation's issuer), ``aud``,
``nonce`` and expiry are checked, and the user is identified by (issuer, subject) inside that
organisation only: an identity from provider X can never enter organisation Y.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from authlib.integrations.flask_client import OAuth, OAuthError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, session, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import access, audit
from portal.clock import utcnow
from portal.db import db, read_across, unscoped
from portal.errors import DomainError, Forbidden, InvalidInput
from portal.identity.models import Organization, User
from portal.oauth.models import ExternalIdentity, IdentityProvider
from portal.tenancy import Principal

oauth = OAuth()
PENDING = "sso_pending"
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


class SignInRefused(DomainError):
    status_code = 403


@dataclass(frozen=True)
class SignInProvider:
    """An organisation's provider as plain values, read past the wall for signing in (no one is
    signed in yet), so nothing read for it stays in the request's session."""

    org_id: int
    org_active: bool
    issuer: str
    client_id: str
    client_secret_encrypted: str
    allowed_domains: tuple[str, ...]
    default_role: str
    password_login_allowed: bool
    metadata_document: dict
    config_version: int


def _sign_in_providers(*where) -> list[SignInProvider]:
    with read_across() as reader:
        rows = reader.execute(
            select(
                IdentityProvider.org_id,
                Organization.active,
                IdentityProvider.issuer,
                IdentityProvider.client_id,
                IdentityProvider.client_secret_encrypted,
                IdentityProvider.allowed_domains,
                IdentityProvider.default_role,
                IdentityProvider.password_login_allowed,
                IdentityProvider.metadata_document,
                IdentityProvider.config_version,
            )
            .join(Organization, Organization.id == IdentityProvider.org_id)
            .where(*where)
            .order_by(IdentityProvider.id)
        ).all()
    return [
        SignInProvider(
            org_id=org_id,
            org_active=org_active,
            issuer=issuer,
            client_id=client_id,
            client_secret_encrypted=secret,
            allowed_domains=tuple(domains or ()),
            default_role=role,
            password_login_allowed=password_login_allowed,
            metadata_document=dict(document or {}),
            config_version=version,
        )
        for (
            org_id, org_active, issuer, client_id, secret, domains, role,
            password_login_allowed, document, version,
        ) in rows
    ]  # fmt: skip


# Secrets we must send back to the provider are encrypted at rest with a key derived from
# SECRET_KEY (rotating SECRET_KEY means re-entering provider secrets).


def _fernet() -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal/sso-client-secrets"
    ).derive(current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SignInRefused(
            _("The sign-in provider's secret cannot be read; an admin must enter it again.")
        ) from None


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


# Sign-in. Nobody is signed in yet, so these read providers past the wall (as plain values) and
# write the signed-in user's identity unscoped (reviewed).


def provider_for_email(email: str) -> SignInProvider | None:
    domain = email.strip().lower().rpartition("@")[2]
    if not domain:
        return None
    for provider in _sign_in_providers(Organization.active.is_(True)):
        if domain in provider.allowed_domains:
            return provider
    return None


def password_login_allowed(org_id: int) -> bool:
    provider = provider_of_org(org_id)
    return provider is None or provider.password_login_allowed


def provider_of_org(org_id: int) -> SignInProvider | None:
    found = _sign_in_providers(IdentityProvider.org_id == org_id)
    return found[0] if found else None


def _client(provider: SignInProvider):
    # authlib keeps a registered client forever under its name: the name carries the
    # configuration version, so a changed configuration is a new client at once.
    name = f"org{provider.org_id}-v{provider.config_version}"
    if name not in oauth._registry:
        metadata = {
            k: v
            for k, v in provider.metadata_document.items()
            if k
            in {
                "issuer",
                "authorization_endpoint",
                "token_endpoint",
                "jwks_uri",
                "id_token_signing_alg_values_supported",
                "userinfo_endpoint",
            }
        }
        oauth.register(
            name,
            client_id=provider.client_id,
            client_secret=decrypt_secret(provider.client_secret_encrypted),
            client_kwargs={
                "scope": "openid email profile",
                "code_challenge_method": "S256",
                "timeout": DISCOVERY_TIMEOUT,
            },
            **metadata,
        )
    return oauth.create_client(name)


def start_sign_in(provider: SignInProvider, next_url: str | None) -> str:
    """The provider's authorization URL for this browser (PKCE S256, state and nonce, kept in
    the browser's session together with the organisation and configuration version)."""
    session[PENDING] = {
        "org_id": provider.org_id,
        "version": provider.config_version,
        "next": next_url,
    }
    client = _client(provider)
    redirect_uri = url_for("sso.callback", _external=True)
    request = client.create_authorization_url(redirect_uri, nonce=secrets.token_urlsafe(32))
    client.save_authorize_data(redirect_uri=redirect_uri, **request)
    return request["url"]


def finish_sign_in() -> tuple[User, str | None]:
    """Check the provider's answer and find or create the user. Raises SignInRefused."""
    pending = session.pop(PENDING, None)
    if not pending:
        raise SignInRefused(_("This sign-in was not started here, or it was already used."))
    provider = provider_of_org(pending["org_id"])
    if provider is None or provider.config_version != pending["version"]:
        raise SignInRefused(_("The sign-in settings changed meanwhile. Sign in again."))
    if not provider.org_active:
        raise SignInRefused(_("This organisation cannot sign in."))
    try:
        token = _client(provider).authorize_access_token(
            claims_options={
                "iss": {"essential": True, "value": provider.issuer},
                "aud": {"essential": True, "value": provider.client_id},
                "sub": {"essential": True},
            }
        )
    except (OAuthError, requests.RequestException, ValueError, KeyError) as error:
        current_app.logger.warning("SSO sign-in refused for org %s: %s", provider.org_id, error)
        raise SignInRefused(_("Your identity provider's answer could not be verified.")) from None
    except Exception as error:  # joserfc raises its own errors for bad signatures and claims
        current_app.logger.warning("SSO token refused for org %s: %r", provider.org_id, error)
        raise SignInRefused(_("Your identity provider's answer could not be verified.")) from None
    claims = token.get("userinfo")
    if not claims:
        raise SignInRefused(_("Your identity provider sent no ID token."))
    return _user_for_claims(provider, claims), pending.get("next")


def _user_for_claims(provider: SignInProvider, claims: dict) -> User:
    issuer, subject = provider.issuer, str(claims["sub"])
    with unscoped():  # reason: signing in, before there is a principal; writes the user found
        identity = db.session.scalar(
            select(ExternalIdentity).where(
                ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject
            )
        )
        if identity is not None:
            if identity.org_id != provider.org_id or not identity.user.is_active:
                raise SignInRefused(_("This account cannot sign in here."))
            identity.last_login_at = utcnow()
            return identity.user
        email = str(claims.get("email") or "").strip().lower()
        if claims.get("email_verified") is not True:
            raise SignInRefused(_("Your identity provider has not verified your email address."))
        if email.rpartition("@")[2] not in provider.allowed_domains:
            raise SignInRefused(_("Your email domain is not one your organisation allows."))
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None and (user.org_id != provider.org_id or not user.is_active):
            raise SignInRefused(_("This email address belongs to an account elsewhere."))
        if user is not None and db.session.scalar(
            select(ExternalIdentity.id).where(
                ExternalIdentity.user_id == user.id, ExternalIdentity.issuer == issuer
            )
        ):
            # The address was handed on to someone else at the provider: the account stays
            # with the identity it was linked to.
            raise SignInRefused(
                _("This email address belongs to an account linked to another identity.")
            )
        if user is None:
            user = User(
                org=db.session.get(Organization, provider.org_id),
                email=email,
                role=provider.default_role,
                name=str(claims.get("name") or email.partition("@")[0])[:200],
            )
            db.session.add(user)
            db.session.flush()
            audit.record(
                "user.joined_by_sso", user, actor=None, after={"email": email, "issuer": issuer}
            )
        db.session.add(
            ExternalIdentity(
                org_id=provider.org_id,
                user_id=user.id,
                issuer=issuer,
                subject=subject,
                last_login_at=utcnow(),
            )
        )
        return user
