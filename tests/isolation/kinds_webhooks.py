"""Webhook endpoints and their deliveries in the isolation matrix.

An endpoint is its organisation's credential (its signing secret): like an API client, another
organisation's (vendor staff included) is a 404, and so are its deliveries. Each organisation
has an endpoint with one delivered event; the foreign ones' URLs and bodies are private
markers: never on anyone else's page.
"""

from __future__ import annotations

from portal.clock import utcnow
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.isolation.world import World, record_kind


def add_webhook(db, org, marker: str) -> WebhookSubscription:
    subscription = WebhookSubscription(
        org_id=org.id,
        url=f"https://hooks.example/{marker}",
        events=["deal.*"],
        description=marker,
        secret="whsec_" + "A" * 44,
    )
    db.add(subscription)
    db.flush()
    delivery = WebhookDelivery(
        org_id=org.id,
        subscription_id=subscription.id,
        event_id=f"msg_{marker}"[:40],
        event_type="deal.approved",
        record_type="DealRegistration",
        record_id=1,
        occurred_at=utcnow(),
        payload=f'{{"data": "{marker}-body"}}',
        status="delivered",
        attempts=1,
    )
    db.add(delivery)
    db.flush()
    db.add(
        WebhookAttempt(
            org_id=org.id, delivery_id=delivery.id, status_code=200, response_excerpt=marker
        )
    )
    db.flush()
    return subscription


def _seed(db, w: World) -> None:
    for org in [*w.foreign, *w.home.values()]:
        marker = f"webhook-zzqw-{org.id}"
        add_webhook(db, org, marker)
        if org in w.foreign:
            w.private_markers.append(marker)


def _foreign_subscriptions(db, w: World, role):
    home = w.home[role.audience].id
    return db.query(WebhookSubscription).filter(WebhookSubscription.org_id != home)


def _own_subscription(db, w: World, role):
    home = w.home[role.audience].id
    return db.query(WebhookSubscription).filter_by(org_id=home).order_by("id").first()


record_kind(
    "webhook_id",
    foreign=lambda db, w, role: [s.id for s in _foreign_subscriptions(db, w, role)],
    own=lambda db, w, role: _own_subscription(db, w, role).id,
    seed=_seed,
)
record_kind(
    "delivery_id",
    foreign=lambda db, w, role: [
        d.id
        for d in db.query(WebhookDelivery).filter(
            WebhookDelivery.org_id != w.home[role.audience].id
        )
    ],
    own=lambda db, w, role: (
        db.query(WebhookDelivery)
        .filter_by(subscription_id=_own_subscription(db, w, role).id)
        .first()
        .id
    ),
)
