"""Organisations (the tenants), users, their server-side sign-in sessions and invitations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, or_, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from portal import access
from portal.clock import utcnow
from portal.db import Base, TenantOwned, global_table
from portal.search import FullTextIndex
from portal.workflow import Workflow

# The tiers the programme starts with (migration 0004). The programme (partners.program) keeps
# them in its own table, where vendor admins add, rename and order them: it registers how to read
# them (``register_tier_source``), and ``tier_options`` is what identity offers and accepts.
TIERS = ("registered", "silver", "gold", "platinum")
_tier_source: list = []


def register_tier_source(source) -> None:
    """``source() -> [(code, name), ...]``, from the lowest tier to the highest."""
    _tier_source[:] = [source]


def tier_options() -> list[tuple[str, str]]:
    """The partner tiers as (code, name), lowest first: the programme's, else ``TIERS``."""
    if _tier_source:
        return list(_tier_source[0]())
    return [(code, code.capitalize()) for code in TIERS]


# The kinds of relationship a vendor keeps with a supplier, from the loosest to the closest.
SUPPLIER_RELATIONSHIPS = (
    "buy_the_market",
    "ongoing_relationship",
    "partnership",
    "strategic_alliance",
    "backward_integration",
)


@global_table("the tenant itself; its visibility rule is on its own id")
class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(
            "kind in ('vendor', 'reseller', 'distributor', 'supplier', 'customer')", name="kind"
        ),
        # Exactly one vendor: a partial unique index over a constant.
        Index(
            "uq_organizations_one_vendor",
            "kind",
            unique=True,
            sqlite_where=text("kind = 'vendor'"),
            postgresql_where=text("kind = 'vendor'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str | None] = mapped_column(String(20))
    managed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # The vendor user who looks after this organisation ("dedicated personal assistance"),
    # assigned by vendor staff (portal.identity.services.assign_account_manager).
    account_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", use_alter=True), index=True
    )

    # A supplier's relationship with the vendor (SUPPLIER_RELATIONSHIPS); None for other kinds.
    supplier_relationship: Mapped[str | None] = mapped_column(String(30))

    managed_by: Mapped[Organization | None] = relationship(remote_side=[id])
    # Through the wall: only vendor staff load it (others read the manager with
    # portal.identity.queries.account_manager_of, across the wall).
    account_manager: Mapped[User | None] = relationship(foreign_keys=[account_manager_id])

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """Vendor staff see every organisation; others see their own and the vendor; a partner
        also sees the customers it manages."""
        if principal.is_vendor_staff:
            return true()
        rule = or_(cls.id == principal.org_id, cls.kind == access.VENDOR)
        if principal.is_partner:
            rule = or_(rule, cls.managed_by_id == principal.org_id)
        return rule

    @property
    def audience(self) -> str:
        return access.audience_of(self.kind)

    @property
    def kind_label(self):
        return access.ORG_KIND_LABELS[self.kind]

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.kind} {self.name!r}>"


class User(TenantOwned, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased; one account per address across the whole portal, so sign-in by email
    # finds exactly one organisation.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The IANA zone pages show times in; None until the browser reports one or the person
    # picks one (pages then show UTC).
    timezone: Mapped[str | None] = mapped_column(String(64))
    # The language the person chose ("en", "de"; portal.i18n.LANGUAGES); None: the browser's.
    # Emails and quote PDFs to them are written in it.
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # When the person was anonymised (portal.identity.personal_data.erase_person, 0038).
    erased_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    org: Mapped[Organization] = relationship(
        lazy="joined", innerjoin=True, foreign_keys="User.org_id"
    )

    __mapper_args__ = {"version_id_col": version}

    # Flask-Login protocol. The id it stores is the server-side session token, not the user id, so
    # revoking the session row ends the sign-in even if an old cookie is replayed.
    session_token = None  # str, set on the instance by the session loader

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active and self.org.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def org_kind(self) -> str:
        return self.org.kind

    @property
    def role_label(self):
        return access.ROLES[self.role].label

    @property
    def is_admin(self) -> bool:
        return access.ROLES[self.role].is_admin

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserSession(TenantOwned, Base):
    """One signed-in browser. The cookie holds a random token; the row holds its hash."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # Written at most once a minute, after the answer (portal.identity.security.sessions).
    last_seen_at: Mapped[datetime | None]
    # How the sign-in was proven: password, totp, recovery_code or sso (migration 0037).
    signed_in_with: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[User] = relationship()

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        return cls.user_id == principal.user_id


class InvitationStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    revoked = "revoked"
    expired = "expired"


class Invitation(TenantOwned, Base):
    """An emailed, expiring, single-use invitation to join an organisation with a role.

    Pending until it is accepted, revoked (by an admin, or replaced by a newer invitation to the
    same address) or expired (the ``expire_invitations`` tick, after ``expires_at``). A pending
    invitation past ``expires_at`` is already closed (``is_open``) before the tick marks it.
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(
        String(10), default=InvitationStatus.pending, server_default="pending"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    org: Mapped[Organization] = relationship()
    invited_by: Mapped[User | None] = relationship()

    workflow = Workflow(
        name="invitation",
        noun=_l("invitation"),
        statuses=InvitationStatus,
        moves={"pending": {"accepted", "revoked", "expired"}},
        audit_fields=("email", "role", "expires_at"),
        stamps={"accepted": ("accepted_at", None), "revoked": ("revoked_at", None)},
    )

    @property
    def is_open(self) -> bool:
        """Pending and not past its expiry: its link still works."""
        return self.status == InvitationStatus.pending and self.expires_at > utcnow()


# The portal-wide search (portal.search; the indexes are migration 0016's).
ORGANIZATION_INDEX = FullTextIndex(Organization, ("name",))
USER_INDEX = FullTextIndex(User, ("name", "email"))


__all__ = [
    "SUPPLIER_RELATIONSHIPS",
    "TIERS",
    "Invitation",
    "InvitationStatus",
    "Organization",
    "User",
    "UserSession",
    "register_tier_source",
    "tier_options",
]
