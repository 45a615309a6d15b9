"""Append-only audit events: who, for which organisation, did what to which record, with the
values before and after."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import JSON, ForeignKey, String, event, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.db import Base, TenantOwned, db, unscoped


class AuditEvent(TenantOwned, Base):
    """``org_id`` is the organisation the changed record belongs to, so its admins can read it."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[int | None]
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip_address: Mapped[str | None] = mapped_column(String(45))

    actor = relationship("User", foreign_keys=[actor_user_id])

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """Vendor staff see all (the page itself is for vendor admins); an organisation's admins
        see the history of their own organisation's records."""
        from portal import access

        if principal.is_vendor_staff:
            return true()
        if access.ROLES[principal.role].is_admin:
            return cls.org_id == principal.org_id
        return cls.actor_user_id == principal.user_id

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        # Anyone who changes a record it can see records the event in that record's organisation
        # (a vendor admin deactivating a partner's user writes into the partner's history).
        return True


class AppendOnly(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise AppendOnly("audit events are append-only")


_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def plain(value: Any) -> Any:
    """A value as JSON can hold it (times as ISO 8601, money as a string)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def shown(value: Any) -> str:
    """A recorded value as a person reads it in a history: times in their time zone, lists and
    mappings as words, nothing as a dash (the stored JSON stays exact)."""
    from flask_babel import format_datetime

    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        try:
            return format_datetime(datetime.fromisoformat(value), "short")
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {shown(v)}" for k, v in value.items() if v not in (None, ""))
    return str(value)


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """The named attributes of ``obj`` as JSON-ready values, for ``before`` and ``after``."""
    return {f: plain(getattr(obj, f)) for f in fields}


def record(
    action: str,
    obj: Any,
    *,
    actor,
    org_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    session: Session | None = None,
) -> AuditEvent:
    """Add an audit event to the current session (committed with the change it describes).

    ``actor`` is a ``Principal`` or None for the system (jobs, tick); the client address it
    carries is recorded. ``org_id`` defaults to the record's own organisation. ``session``
    defaults to the shared one (the request's, or the job's that ``portal.jobs`` bound).
    """
    session = session if session is not None else db.session
    if obj.id is None:
        session.flush()
    owner = org_id if org_id is not None else getattr(obj, "org_id", None) or obj.id
    event_row = AuditEvent(
        org_id=owner,
        actor_user_id=actor.user_id if actor else None,
        actor_org_id=actor.org_id if actor else None,
        action=action,
        object_type=type(obj).__name__,
        object_id=obj.id,
        before=before,
        after=after,
        ip_address=getattr(actor, "ip_address", None),
    )
    # Written whatever the caller's scope: an event may belong to another organisation (a
    # partner's submit flags a conflict in the vendor's history), and PostgreSQL would refuse
    # the INSERT's RETURNING row under the partner's read policy.
    with unscoped(session):  # reason: the event may belong to another organisation
        session.add(event_row)
    return event_row


def history_for(obj: Any, limit: int = 50) -> list[AuditEvent]:
    """The audit trail of one record, newest first, as the current principal may see it."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == type(obj).__name__, AuditEvent.object_id == obj.id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )
