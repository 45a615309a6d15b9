"""Use cases of webhook subscriptions. Writers only flush; the caller commits once.

Delivery itself (queueing on events, the job, retries, the tick) is ``portal.webhooks.delivery``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import audit, sealed
from portal.clock import utcnow
from portal.db import db
from portal.errors import Conflict, InvalidInput
from portal.webhooks import catalogue, transport
from portal.webhooks.models import WebhookDelivery, WebhookSubscription

MAX_PATTERNS = 50
MAX_URL = 2000
MAX_SUBSCRIPTIONS_PER_ORG = 20
PREVIOUS_SECRET_VALID = timedelta(hours=24)
AUDITED = ("url", "events", "description", "active")
SEALED_AS = "webhook-secrets"  # signing secrets are stored sealed (portal.sealed)

log = logging.getLogger(__name__)


class SecretUnreadable(Exception):
    """The endpoint's signing secret cannot be read (``SECRET_KEY`` changed since it was made):
    nothing can be signed until an admin rotates it. The message is safe to show them."""

    def __init__(self) -> None:
        super().__init__(
            "The signing secret cannot be read (the portal's SECRET_KEY changed): rotate the "
            "secret and give the new one to the receiver."
        )


def clean_url(url: str) -> str:
    """A target the guard accepts (else ``InvalidInput`` on ``url``)."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise InvalidInput(f"Give a URL of at most {MAX_URL} characters.", field="url")
    try:
        transport.resolve(url)
    except transport.TargetRefused as refused:
        raise InvalidInput(str(refused), field="url") from None
    return url


def clean_events(patterns: list[str]) -> list[str]:
    """Known event patterns, each once (else ``InvalidInput`` on ``events``)."""
    cleaned = list(dict.fromkeys(p.strip() for p in patterns or [] if p and p.strip()))
    if not cleaned:
        raise InvalidInput("Choose at least one event type.", field="events")
    if len(cleaned) > MAX_PATTERNS:
        raise InvalidInput(f"At most {MAX_PATTERNS} event patterns.", field="events")
    unknown = catalogue.unknown_patterns(cleaned)
    if unknown:
        raise InvalidInput(
            "No event type matches " + ", ".join(unknown) + " (for example deal.* or case.solved).",
            field="events",
        )
    return cleaned


def _snapshot(subscription: WebhookSubscription) -> dict:
    return audit.snapshot(subscription, list(AUDITED))


def create_subscription(
    org_id: int, *, url: str, events: list[str], description: str = "", actor
) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url`` to the events matching ``events`` for organisation ``org_id``. Returns
    the subscription and its signing secret (shown once). Raises ``InvalidInput``."""
    events, url = clean_events(events), clean_url(url)
    count = db.session.scalar(
        select(func.count())
        .select_from(WebhookSubscription)
        .where(WebhookSubscription.org_id == org_id)
    )
    if count >= MAX_SUBSCRIPTIONS_PER_ORG:  # the state of the organisation, not the input
        raise Conflict(
            _(
                "An organisation has at most %(n)d webhook endpoints: remove one first.",
                n=MAX_SUBSCRIPTIONS_PER_ORG,
            )
        )
    secret = transport.new_secret()
    subscription = WebhookSubscription(
        org_id=org_id,
        url=url,
        events=events,
        description=(description or "").strip()[:200],
        secret=sealed.seal(SEALED_AS, secret),
        created_by_id=actor.user_id if actor else None,
    )
    db.session.add(subscription)
    db.session.flush()
    audit.record("webhook.created", subscription, actor=actor, after=_snapshot(subscription))
    return subscription, secret


def update_subscription(
    subscription: WebhookSubscription,
    *,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
    actor,
) -> WebhookSubscription:
    """Change what is given (None: unchanged). Enabling a disabled endpoint starts its
    deliveries again, where they stopped. Raises ``InvalidInput``."""
    before = _snapshot(subscription)
    changes = {}
    if url is not None:
        changes["url"] = clean_url(url)
    if events is not None:
        changes["events"] = clean_events(events)
    if description is not None:
        changes["description"] = description.strip()[:200]
    for name, value in changes.items():
        setattr(subscription, name, value)
    if active is not None and active != subscription.active:
        subscription.active = active
        subscription.disabled_reason = "" if active else "Disabled by an administrator."
        subscription.failing_since = None
    after = _snapshot(subscription)
    if after != before:
        db.session.flush()
        audit.record("webhook.updated", subscription, actor=actor, before=before, after=after)
        if subscription.active:
            from portal.webhooks import delivery

            delivery.queue_run(subscription.id)
    return subscription


def delete_subscription(subscription: WebhookSubscription, *, actor) -> None:
    """Remove the endpoint with its delivery log; nothing more is sent to it."""
    audit.record("webhook.deleted", subscription, actor=actor, before=_snapshot(subscription))
    db.session.delete(subscription)
    db.session.flush()


def rotate_secret(subscription: WebhookSubscription, *, actor) -> str:
    """A new signing secret; the one it replaces still signs (beside the new) for a day, so the
    receiver can switch without losing an event. Returns the new secret (shown once).
    Rotating is also the way out when the secret cannot be read (``SecretUnreadable``)."""
    secret = transport.new_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = utcnow() + PREVIOUS_SECRET_VALID
    subscription.secret = sealed.seal(SEALED_AS, secret)
    db.session.flush()
    audit.record(
        "webhook.secret_rotated",
        subscription,
        actor=actor,
        after={"previous_secret_until": subscription.previous_secret_until.isoformat()},
    )
    return secret


def signing_secrets(subscription: WebhookSubscription) -> list[str]:
    """The secrets a delivery is signed with now, unsealed: the current one, and the previous
    one while it is still valid (left out, with a log line, if it cannot be read). Raises
    ``SecretUnreadable`` when the current one cannot be read."""
    current = sealed.unseal(SEALED_AS, subscription.secret)
    if current is None:
        raise SecretUnreadable()
    valid = [current]
    until = subscription.previous_secret_until
    if subscription.previous_secret and until is not None and utcnow() < until:
        previous = sealed.unseal(SEALED_AS, subscription.previous_secret)
        if previous is None:
            log.warning(
                "webhook subscription %s: the previous secret cannot be read; signed with the "
                "current one only",
                subscription.id,
            )
        else:
            valid.append(previous)
    return valid


def redeliver(delivery: WebhookDelivery, *, actor) -> WebhookDelivery:
    """Send a delivery's event again, after what is queued for the endpoint (same
    ``webhook-id`` and body, so a receiver that keeps ids sees it is the same event)."""
    if delivery.payload is None:
        raise InvalidInput("This event has not been sent yet; it is still waiting.")
    copy = WebhookDelivery(
        org_id=delivery.org_id,
        subscription_id=delivery.subscription_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        record_type=delivery.record_type,
        record_id=delivery.record_id,
        occurred_at=delivery.occurred_at,
        before=delivery.before,
        after=delivery.after,
        payload=delivery.payload,
    )
    db.session.add(copy)
    db.session.flush()
    audit.record(
        "webhook.redelivered",
        copy,
        actor=actor,
        after={"event_id": delivery.event_id, "of_delivery": delivery.id},
    )
    from portal.webhooks import delivery as deliveries

    deliveries.queue_run(delivery.subscription_id)
    return copy


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"
