"""Webhook subscriptions of an organisation, the deliveries queued for them and each attempt.

A subscription is an organisation's credential (its signing secret): like an API client, only
its own organisation sees it, vendor staff included. Its deliveries and their attempts are
seen by the same organisation only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.db import Base, TenantOwned
from portal.workflow import Workflow


class _OwnOrganisation:
    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        # Credentials and what was sent with them: vendor staff do not see other
        # organisations' either.
        return cls.org_id == principal.org_id


class WebhookSubscription(_OwnOrganisation, TenantOwned, Base):
    """An endpoint (``url``) that receives the events matching ``events`` (patterns such as
    ``deal.*``), signed with ``secret``. After a rotation the previous secret still signs until
    ``previous_secret_until``. Both secrets are stored sealed (``portal.sealed``, purpose
    ``webhook-secrets``); ``services.signing_secrets`` unseals them. ``failing_since``: the
    first failed attempt of the current run of failures (None while deliveries succeed).
    ``claimed_until``: the lease of the delivery run that holds the subscription, so one run at
    a time delivers its events, in order."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(300))  # sealed: a token of 164 characters
    previous_secret: Mapped[str | None] = mapped_column(String(300))  # sealed
    previous_secret_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    disabled_reason: Mapped[str] = mapped_column(String(300), default="")
    failing_since: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return org_id == principal.org_id


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


STATUS_LABELS = {
    DeliveryStatus.pending: _l("Waiting"),
    DeliveryStatus.delivered: _l("Delivered"),
    DeliveryStatus.failed: _l("Gave up"),
}


class WebhookDelivery(_OwnOrganisation, TenantOwned, Base):
    """One event for one subscription, written in the transaction of the change that caused
    it (so it is delivered at least once), delivered after, in the order of ``id`` per
    subscription. ``org_id`` is the subscriber's. ``payload`` is the body, built at the first
    attempt under the subscriber's principal and sent unchanged by every retry; an event the
    subscriber may not see gets no payload and is removed. ``event_id`` is the
    ``webhook-id`` header, the same for a redelivery."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_subscription_status", "subscription_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(80))
    record_type: Mapped[str] = mapped_column(String(80))
    record_id: Mapped[int]
    occurred_at: Mapped[datetime]
    before: Mapped[str | None] = mapped_column(String(40))
    after: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    workflow = Workflow(
        name="webhook_delivery",
        statuses=DeliveryStatus,
        moves={"pending": {"delivered", "failed"}},
        stamps={"delivered": ("delivered_at", None)},
        labels=STATUS_LABELS,
        audited=False,
        unaudited_reason=(
            "delivery state that no person changes: the delivery job's outcomes (the change "
            "that caused the event, and every redelivery, are audited)"
        ),
    )

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return True  # any change, in any organisation, queues events for its subscribers


class WebhookAttempt(_OwnOrganisation, TenantOwned, Base):
    """One POST of a delivery: when, the answer's status code (None: no answer), how long it
    took, the answer's first kilobyte or the error."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    latency_ms: Mapped[int] = mapped_column(default=0)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(String(300), default="")

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
