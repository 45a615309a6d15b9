"""The read side of webhooks: an organisation's endpoints and an endpoint's delivery log."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Select, select

from portal.db import db
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


def subscriptions_of(org_id: int) -> Select:
    return (
        select(WebhookSubscription)
        .where(WebhookSubscription.org_id == org_id)
        .order_by(WebhookSubscription.id)
    )


def log_of(subscription_id: int) -> Select:
    """The endpoint's deliveries, newest first. A delivery whose body is not built yet is left
    out: until then nobody has checked that its organisation may see the event."""
    return (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.payload.is_not(None),
        )
        .order_by(WebhookDelivery.id.desc())
    )


def attempts_of(delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    """Each delivery's attempts, oldest first (one statement for a page of deliveries)."""
    found: dict[int, list[WebhookAttempt]] = defaultdict(list)
    if not delivery_ids:
        return found
    for attempt in db.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.id)
    ):
        found[attempt.delivery_id].append(attempt)
    return found
