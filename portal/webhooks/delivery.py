"""Delivering events to webhook endpoints: at least once, in order per endpoint, retried with
back-off for about a day.

1. ``queue_deliveries`` subscribes to every domain event. In the transaction of the change
   that caused it, it writes one ``WebhookDelivery`` per subscription whose patterns
   match (an outbox: nothing is lost if the process dies after the commit) and queues a run
   for each endpoint (``portal.jobs``; inline it runs after the answer has been sent).
2. ``deliver_subscription`` (the job) claims the endpoint with a lease (a conditional UPDATE of
   ``claimed_until``), so one run at a time sends its events, oldest first. For each: the body
   is built once, under the *subscribing* organisation's principal behind the wall
   (``catalogue.record_data``); an event it may not see is dropped without a trace. The POST is
   signed with every valid secret. A failure schedules the next attempt (``BACKOFF``) and stops
   the run, so later events wait behind it: order is kept.
3. ``retry_webhooks`` (the tick) starts a run for every endpoint with an attempt due and no
   live lease (a run whose worker died is taken over once its lease has ended).

An endpoint whose attempts have failed for ``DISABLE_AFTER`` is disabled and its admins told.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, insert, or_, select, update

from portal import events, jobs
from portal.clock import utcnow
from portal.db import db, read_across, set_principal
from portal.identity.models import Organization
from portal.notify.services import link, tell
from portal.webhooks import catalogue, services, transport
from portal.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from portal.workflow import transition

log = logging.getLogger(__name__)

# After the first attempt fails, the next ones come after these waits (about 27 hours in all).
BACKOFF = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
DISABLE_AFTER = timedelta(days=1)
LEASE = timedelta(minutes=5)


def queue_deliveries(event: events.DomainEvent) -> None:
    """Subscriber of every event: one delivery per matching subscription, written with the
    change. A disabled endpoint keeps its events too: enabled again, it gets them in order.
    Whether the subscriber may see the record is decided when its body is built."""
    prefix = event.type.partition(".")[0]
    if prefix in catalogue.INTERNAL_RECORDS:
        return
    with read_across() as reader:  # every organisation's endpoints: which ones listen
        subscriptions = reader.execute(
            select(WebhookSubscription.id, WebhookSubscription.org_id, WebhookSubscription.events)
        ).all()
    matching = [
        (i, o) for i, o, patterns in subscriptions if catalogue.matches(patterns, event.type)
    ]
    if not matching:
        return
    event_id = services.new_event_id()
    now = utcnow()
    # Reviewed write past the wall: each row belongs to its subscriber's organisation, whoever
    # made the change (a tick has no principal at all). It is written as a plain INSERT, which
    # PostgreSQL's policy on webhook_deliveries accepts from anyone (read, update and delete
    # stay with the subscriber), not read back, and says only what the event says.
    db.session.execute(
        insert(WebhookDelivery),
        [
            {
                "org_id": org_id,
                "subscription_id": subscription_id,
                "event_id": event_id,
                "event_type": event.type,
                "record_type": event.record_type,
                "record_id": event.record_id,
                "occurred_at": event.at,
                "before": event.before,
                "after": event.after,
                "status": DeliveryStatus.pending.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for subscription_id, org_id in matching
        ],
    )
    for subscription_id, _ in matching:
        queue_run(subscription_id)


def queue_run(subscription_id: int) -> None:
    """Queue a delivery run for the endpoint, once per transaction (one run sends every event
    due, so the transaction's other events for it need none of their own)."""
    jobs.enqueue_once(deliver_subscription, subscription_id)


@jobs.after_answer
def deliver_subscription(subscription_id: int) -> int:
    """Job: send the endpoint's due events, oldest first, until one fails or none is due.
    Returns how many were delivered."""
    started = utcnow()
    lease_until = started + LEASE
    claimed = (
        db.session.execute(
            update(WebhookSubscription)
            .where(
                WebhookSubscription.id == subscription_id,
                WebhookSubscription.active.is_(True),
                _lease_ended(started),
            )
            .values(claimed_until=lease_until)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    db.session.commit()  # the claim stands before the slow sends
    if not claimed:
        log.info("webhook run for subscription %s left to the run that holds it", subscription_id)
        return 0
    # Stop while a whole attempt still fits in the lease: after it, another run may begin.
    deadline = lease_until - timedelta(seconds=transport.TIMEOUT_SECONDS + 5)
    delivered = 0
    try:
        while utcnow() < deadline:
            subscription = db.session.get(
                WebhookSubscription, subscription_id, populate_existing=True
            )
            if subscription is None or not subscription.active:
                break
            head = db.session.scalars(
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.subscription_id == subscription_id,
                    WebhookDelivery.status == DeliveryStatus.pending,
                )
                .order_by(WebhookDelivery.id)
                .limit(1)
            ).first()
            if head is None or head.next_attempt_at > utcnow():
                log.debug("webhook run for subscription %s: nothing due", subscription_id)
                break
            if head.payload is None and not _build(head, subscription):
                continue
            if not _attempt(head, subscription):
                break
            delivered += 1
    finally:
        db.session.rollback()
        db.session.execute(
            update(WebhookSubscription)
            .where(
                WebhookSubscription.id == subscription_id,
                WebhookSubscription.claimed_until == lease_until,
            )
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return delivered


def _lease_ended(now):
    return or_(
        WebhookSubscription.claimed_until.is_(None), WebhookSubscription.claimed_until <= now
    )


def _build(delivery: WebhookDelivery, subscription: WebhookSubscription) -> bool:
    """Write the delivery's body as its subscriber may see it; drop it (False) if it may not."""
    kind = db.session.scalar(
        select(Organization.kind).where(Organization.id == subscription.org_id)
    )
    # The body is read on a session of its own: on SQLite it needs the write lock this
    # session's transaction holds (everything outside a request begins IMMEDIATE).
    db.session.commit()
    payload = build_payload(delivery, subscription.org_id, kind) if kind else None
    if payload is None:
        log.info(
            "webhook event %s (%s %s) not for subscription %s: its organisation may not see it",
            delivery.event_id,
            delivery.record_type,
            delivery.record_id,
            subscription.id,
        )
        db.session.delete(delivery)
    else:
        delivery.payload = payload
    db.session.commit()
    return payload is not None


def build_payload(delivery: WebhookDelivery, org_id: int, org_kind: str) -> str | None:
    """The body, read on a session of its own bound to the subscribing organisation's principal
    (the same wall and, on PostgreSQL, the same row-level security as its API requests)."""
    principal = catalogue.subscriber_principal(org_id, org_kind)
    session = db.new_session()
    try:
        set_principal(session, principal)
        with jobs.system_session(session):
            data = catalogue.record_data(
                session, delivery.record_type, delivery.record_id, principal
            )
        session.rollback()  # it only read
    finally:
        session.close()
    if data is None:
        return None
    return catalogue.body(
        delivery.event_id,
        delivery.event_type,
        delivery.occurred_at,
        delivery.record_type,
        delivery.before,
        delivery.after,
        data,
    )


def _attempt(delivery: WebhookDelivery, subscription: WebhookSubscription) -> bool:
    """POST the delivery once and record the outcome (committed at once)."""
    now = utcnow()
    try:
        headers = transport.headers_for(
            services.signing_secrets(subscription), delivery.event_id, now, delivery.payload
        )
    except services.SecretUnreadable as unreadable:  # nothing is sent: an admin must rotate
        answer = transport.Answer(None, 0, "", str(unreadable))
    else:
        answer = transport.post(subscription.url, delivery.payload, headers)
    db.session.add(
        WebhookAttempt(
            org_id=delivery.org_id,
            delivery_id=delivery.id,
            at=now,
            status_code=answer.status_code,
            latency_ms=answer.latency_ms,
            response_excerpt=answer.excerpt,
            error=answer.error[:300],
        )
    )
    delivery.attempts += 1
    if answer.succeeded:
        transition(delivery, DeliveryStatus.delivered, actor=None)
        subscription.failing_since = None
        db.session.commit()
        return True
    log.info(
        "webhook %s to subscription %s failed (attempt %s): %s",
        delivery.event_id,
        subscription.id,
        delivery.attempts,
        answer.status_code or answer.error,
    )
    if subscription.failing_since is None:
        subscription.failing_since = now
    if delivery.attempts > len(BACKOFF):
        transition(delivery, DeliveryStatus.failed, actor=None)
    else:
        delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
    if now - subscription.failing_since >= DISABLE_AFTER:
        _disable(subscription)
    db.session.commit()
    return False


def _disable(subscription: WebhookSubscription) -> None:
    subscription.active = False
    subscription.disabled_reason = "Every delivery failed for a day."
    tell(
        "webhooks.manage",
        subscription.org_id,
        "webhooks.disabled",
        _l("Webhook endpoint disabled: %(url)s", url=subscription.url),
        _l(
            "Every delivery to this endpoint failed for a day, so the portal stopped sending to "
            "it. Its events are kept: enable the endpoint again once it answers, and they are "
            "delivered in order."
        ),
        link=link("webhooks.detail", webhook_id=subscription.id),
    )


def retry_webhooks() -> int:
    """Tick: start a run for each active endpoint with an attempt due and no live lease.
    Returns how many runs were queued."""
    now = utcnow()
    due = db.session.scalars(
        select(WebhookSubscription.id).where(
            WebhookSubscription.active.is_(True),
            _lease_ended(now),
            exists().where(
                WebhookDelivery.subscription_id == WebhookSubscription.id,
                WebhookDelivery.status == DeliveryStatus.pending,
                WebhookDelivery.next_attempt_at <= now,
            ),
        )
    ).all()
    for subscription_id in due:
        queue_run(subscription_id)
    return len(due)
