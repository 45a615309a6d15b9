"""Sign-in through each organisation's OpenID Connect provider (authlib's Flask client).

An organisation's admin configures its provider; the sign-in page finds the organisation by the
email's domain and sends the user there (authorization code, PKCE S256, state and nonce). On
return the ID token's signature, ``iss`` (pinned to that organisation's issuer), ``aud``,
``nonce`` and expiry are checked, and the user is identified by (issuer, subject) inside that
organisation only: an identity from provider X can never enter organisation Y.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import requests
from authlib.integrations.flask_client import OAuth, OAuthError
from flask import current_app, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit
from portal.clock import utcnow
from portal.db import db, read_across, unscoped
from portal.identity.models import Organization, User
from portal.oauth.models import ExternalIdentity, IdentityProvider
from portal.oauth.sso_settings import DISCOVERY_TIMEOUT, SignInRefused, decrypt_secret

oauth = OAuth()
PENDING = "sso_pending"


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
