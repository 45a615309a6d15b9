"""A person's second factor: a TOTP authenticator (its secret encrypted at rest, the last time
step used, so a code is not accepted twice) and single-use recovery codes (argon2 hashes); and an
organisation's sign-in rule (a second factor required of its members)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.db import Base, TenantOwned


class SecondFactor(TenantOwned, Base):
    """One person's authenticator app. Pending (``confirmed_at`` None) from the moment the QR
    code is shown until the person types a first code from it; only a confirmed one is asked
    for at sign-in."""

    __tablename__ = "second_factors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    # Fernet with a key derived from SECRET_KEY (portal.sealed); shown once.
    secret_encrypted: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    # The 30-second step of the last code accepted: that code and older ones are refused.
    last_used_step: Mapped[int | None] = mapped_column(Integer)

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        return cls.user_id == principal.user_id


class RecoveryCode(TenantOwned, Base):
    """One of the ten codes shown once at enrolment, each good for one sign-in."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        return cls.user_id == principal.user_id


class SignInRule(TenantOwned, Base):
    """An organisation's sign-in rules, set by its admin: whether every member who signs in with
    a password must use a second factor. A table of its own (one row per organisation, none
    until first set) rather than a column of ``organizations``, whose rows only vendor staff
    write (row-level security, migration 0002)."""

    __tablename__ = "sign_in_rules"
    __table_args__ = (UniqueConstraint("org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    require_second_factor: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Passkey(TenantOwned, Base):
    """One of a person's passkeys (WebAuthn credentials), named by them, asked for after the
    password like the authenticator app. The credential id is unique across the portal (an
    authenticator makes a fresh one per registration)."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # base64url of the raw credential id, as the browser's assertion names it.
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE key
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[str] = mapped_column(String(200), default="")  # comma-separated
    user_handle: Mapped[str] = mapped_column(String(100))  # base64url, the same for all of theirs
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        return cls.user_id == principal.user_id


__all__ = ["Passkey", "RecoveryCode", "SecondFactor", "SignInRule"]
