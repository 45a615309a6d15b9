"""OAuth 2 clients, authorization codes and tokens (the portal as authorisation server), and
each organisation's OpenID Connect provider for sign-in. Secrets and tokens are stored hashed;
the provider's client secret, which we must send, is stored encrypted."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.db import Base, TenantOwned
from portal.identity.models import Organization, User
from portal.identity.tokens import hash_token
from portal.workflow import Workflow


class ClientStatus(StrEnum):
    active = "active"
    disabled = "disabled"


class OAuthClient(TenantOwned, Base):
    """An API client of one organisation. A confidential client with a ``service_role`` may use
    ``client_credentials`` and then acts as its organisation with that role; a client with
    redirect URIs may use ``authorization_code`` (PKCE S256 always) for the users of its
    organisation.

    Active until an admin disables it (its tokens are revoked then, and stay dead if it is
    enabled again); a disabled client gets no tokens.
    """

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    scopes: Mapped[str] = mapped_column(String(500))
    confidential: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    service_role: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(
        String(20), default=ClientStatus.active, server_default="active"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    secret_rotated_at: Mapped[datetime | None]

    org: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)

    # Re-enabling is audited as ``api_client.enabled`` (the caller names it), as it always was.
    workflow = Workflow(
        name="api_client",
        noun=_l("API client"),
        statuses=ClientStatus,
        moves={"active": {"disabled"}, "disabled": {"active"}},
        audit_fields=("name", "redirect_uris", "scopes", "confidential", "service_role"),
        labels={"active": _l("enabled"), "disabled": _l("disabled")},
    )

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        # Credentials of one organisation: vendor staff do not see other organisations' either.
        return cls.org_id == principal.org_id

    # authlib's ClientMixin

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        """What a token gets: the scopes asked for (a scope the client lacks was refused
        before, ``server.ClientScopesOnly``), or every scope of the client when none is asked
        for (RFC 6749 §3.3's default)."""
        allowed = self.scopes.split()
        requested = set((scope or "").split())
        return " ".join(s for s in allowed if s in requested or not requested)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match, never a prefix

    def check_client_secret(self, client_secret: str) -> bool:
        import hmac

        return bool(self.secret_hash) and hmac.compare_digest(
            self.secret_hash, hash_token(client_secret)
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.status != ClientStatus.active:
            return False
        if self.confidential:
            return method in ("client_secret_basic", "client_secret_post")
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and bool(self.redirect_uris)

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials":
            return self.confidential and self.service_role is not None
        if grant_type in ("authorization_code", "refresh_token"):
            return bool(self.redirect_uris)
        return False

    @property
    def grant_types(self) -> list[str]:
        kinds = ["client_credentials", "authorization_code", "refresh_token"]
        return [g for g in kinds if self.check_grant_type(g)]


class OAuthAuthorizationCode(TenantOwned, Base):
    __tablename__ = "oauth_authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(500))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    client: Mapped[OAuthClient] = relationship()
    user: Mapped[User] = relationship()

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        # Credentials of one organisation: vendor staff do not see other organisations' either.
        return cls.org_id == principal.org_id

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_auth_time(self) -> int:
        return int(self.created_at.timestamp())

    def get_nonce(self) -> None:
        return None


class OAuthToken(TenantOwned, Base):
    """An access token, and its refresh token if it has one, stored as hashes."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    client: Mapped[OAuthClient] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User | None] = relationship()

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        # Credentials of one organisation: vendor staff do not see other organisations' either.
        return cls.org_id == principal.org_id

    # authlib's TokenMixin

    def check_client(self, client: OAuthClient) -> bool:
        return self.client_pk == client.id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.client.status != ClientStatus.active

    def is_refresh_token_active(self) -> bool:
        return (
            self.refresh_token_hash is not None
            and self.revoked_at is None
            and self.client.status == ClientStatus.active
            and (self.refresh_expires_at is None or self.refresh_expires_at > utcnow())
        )

    def get_user(self) -> User | None:
        return self.user

    def get_client(self) -> OAuthClient:
        return self.client


class IdentityProvider(TenantOwned, Base):
    """One organisation's OpenID Connect provider for sign-in."""

    __tablename__ = "identity_providers"
    __table_args__ = (UniqueConstraint("org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    client_secret_encrypted: Mapped[str] = mapped_column(Text)
    allowed_domains: Mapped[list] = mapped_column(JSON, default=list)
    default_role: Mapped[str] = mapped_column(String(30))
    password_login_allowed: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    # The provider's discovery document as fetched and checked on save.
    metadata_document: Mapped[dict] = mapped_column(JSON, default=dict)
    config_version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        # Credentials of one organisation: vendor staff do not see other organisations' either.
        return cls.org_id == principal.org_id


class ExternalIdentity(TenantOwned, Base):
    """A user's identity at its organisation's provider: (issuer, subject), never the email."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        return cls.org_id == principal.org_id


class IdempotencyRecord(TenantOwned, Base):
    """The first response to a POST with an ``Idempotency-Key``, per organisation and client."""

    __tablename__ = "api_idempotency_records"
    __table_args__ = (UniqueConstraint("org_id", "client_pk", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        return cls.org_id == principal.org_id
