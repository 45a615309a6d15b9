"""A segment: a saved, named filter over organisations (``portal.segments.registry``).

Segments are the vendor's working tools: ``org_id`` is the vendor organisation, and only vendor
staff see them (the tenant wall here, PostgreSQL's policy of migration 0019 beneath it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.db import Base, TenantOwned, VendorOnly
from portal.identity.models import User


class Segment(VendorOnly, TenantOwned, Base):
    """``criteria``: criterion key -> stored value, checked against the registry when saved."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    criteria: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return principal.is_vendor_staff


__all__ = ["Segment"]
