"""In-app notifications, per-kind email preferences and the email outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.db import Base, TenantOwned
from portal.workflow import Workflow


class _PerUser:
    """Rows that only their own user sees, whatever the role (vendor admins included)."""

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        return cls.user_id == principal.user_id


class Notification(_PerUser, TenantOwned, Base):
    """``org_id`` is the recipient's organisation. Anyone may notify anyone (a partner's action
    tells vendor staff); only the recipient reads it."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return True


class NotificationPreference(_PerUser, TenantOwned, Base):
    """Absent row = email on (the default); a row records the user's choice for one kind."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class OutboxStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class OutboxMessage(TenantOwned, Base):
    """An email written in the same transaction as the change that causes it, delivered after.

    ``org_id`` is the recipient's organisation (or, for an invitation, the inviting one). A
    delivery claims it (pending → sending) with a lease that ends at ``claimed_until``, then it
    is sent, back to pending for a retry, or failed after the last attempt. A message still in
    sending when its lease has ended (its worker died) is freed for a retry by the tick.
    ``attempts`` counts the claims, and so names the current one.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(60))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    # The record the mail is about, when replies to it may come back by email ("case-12",
    # "idea-7"): its thread's Message-ID and, for the recipient, a tokened Reply-To
    # (portal.notify.mail, portal.mailin.tokens).
    thread: Mapped[str | None] = mapped_column(String(40))

    workflow = Workflow(
        name="outbox_message",
        statuses=OutboxStatus,
        moves={
            "pending": {"sending"},
            "sending": {"sent", "pending", "failed"},
        },
        stamps={"sent": ("sent_at", None)},
        audited=False,
        unaudited_reason=(
            "delivery state that no person changes: the mail job's claims, retries and "
            "outcomes (the change that wrote the mail is audited)"
        ),
    )

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return True

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        # Mail may hold secrets (reset links, invitation links): only the delivery job, which is
        # unscoped, ever reads the outbox.
        return cls.id.is_(None)
