"""Who is asking, for which organisation.

A ``Principal`` is resolved from the authenticated identity only (the signed-in user's server-side
session, or later an OAuth token) and never from a URL, form field or header. The session-level
tenant wall in ``portal.db`` reads it to scope every query.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal import access


@dataclass(frozen=True)
class Principal:
    org_id: int
    org_kind: str
    role: str
    user_id: int | None
    # For OAuth tokens: the granted scopes. None means a browser session (the role alone decides).
    scopes: frozenset[str] | None = None
    # The client's address as the request gave it (behind TRUSTED_PROXIES, the forwarded one):
    # it travels with the actor into audit events, so services need no request.
    ip_address: str | None = None

    @property
    def wall_key(self) -> tuple:
        """What the tenant wall's rules may read (not the address): ``portal.db`` builds the
        loader criteria once per key and reuses them."""
        return (self.org_id, self.org_kind, self.role, self.user_id, self.scopes)

    @property
    def audience(self) -> str:
        return access.audience_of(self.org_kind)

    @property
    def is_vendor_staff(self) -> bool:
        return self.org_kind == access.VENDOR

    @property
    def is_partner(self) -> bool:
        return self.org_kind in access.PARTNER_KINDS

    @property
    def is_customer(self) -> bool:
        return self.org_kind == access.CUSTOMER

    def can(self, action: str) -> bool:
        """The role allows ``action`` (and the kind of organisation: ``access.allows``), and for a
        token, a granted scope covers it too."""
        if not access.allows(self.role, self.org_kind, action):
            return False
        if self.scopes is None:
            return True
        needed = access.scope_for(action)
        return needed is not None and needed in self.scopes

    @classmethod
    def for_user(cls, user, ip_address: str | None = None) -> Principal:
        return cls(
            org_id=user.org_id,
            org_kind=user.org_kind,
            role=user.role,
            user_id=user.id,
            ip_address=ip_address,
        )
