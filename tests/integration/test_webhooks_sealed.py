"""Webhook signing secrets are stored sealed (``portal.sealed``): the admin is shown the secret
once, the database holds only its token, deliveries are signed with the secret itself; when
SECRET_KEY changes, the secret cannot be read and nothing is signed with anything else; rotating
gives a working secret again. A run is queued once per transaction, however many events."""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select
from standardwebhooks import Webhook

from partners.deals.models import DealStatus
from portal import jobs, sealed
from portal.db import db as portal_db
from portal.webhooks import delivery, services
from portal.webhooks.models import WebhookSubscription
from tests import factories
from tests.integration import test_webhooks as hooks
from tests.integration.test_webhooks import (
    START,
    acting_as,
    attempts,
    move,
    stored_deliveries,
    subscribe,
    tick,
)

# The fixtures of the webhook tests, shared.
allow_loopback, receiver, world = hooks.allow_loopback, hooks.receiver, hooks.world


def stored_secrets(db, subscription_id: int) -> tuple[str, str | None]:
    db.expire_all()
    db.connection().info.pop("tenant_scope", None)
    row = db.execute(
        select(WebhookSubscription.secret, WebhookSubscription.previous_secret).where(
            WebhookSubscription.id == subscription_id
        )
    ).one()
    return row.secret, row.previous_secret


def rotate(app, user, subscription_id: int) -> str:
    with acting_as(app, user) as actor:
        subscription = portal_db.session.get(WebhookSubscription, subscription_id)
        secret = services.rotate_secret(subscription, actor=actor)
        portal_db.session.commit()
        return secret


@pytest.mark.usefixtures("allow_loopback")
def test_the_secret_is_shown_once_and_stored_only_sealed(app, db, world, receiver):
    admin = world["partner_admin"]
    subscription_id, secret = subscribe(app, admin, receiver.url())
    stored, previous = stored_secrets(db, subscription_id)
    assert secret.startswith("whsec_") and secret not in stored and previous is None
    with app.app_context():
        assert sealed.unseal(services.SEALED_AS, stored) == secret
    new = rotate(app, admin, subscription_id)
    stored, previous = stored_secrets(db, subscription_id)
    assert new not in stored and secret not in previous
    with app.app_context():
        assert sealed.unseal(services.SEALED_AS, stored) == new
        assert sealed.unseal(services.SEALED_AS, previous) == secret
        subscription = db.get(WebhookSubscription, subscription_id)
        assert services.signing_secrets(subscription) == [new, secret]


@pytest.mark.usefixtures("allow_loopback")
def test_the_api_shows_the_secret_it_signs_with(app, client, db, world, receiver):
    from tests.integration.test_webhooks_api import token

    headers = token(client, db, world["partner"], "partner_admin")
    created = client.post(
        "/api/v1/webhooks", json={"url": receiver.url(), "events": ["deal.*"]}, headers=headers
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    stored, _ = stored_secrets(db, body["id"])
    assert body["secret"] not in stored
    with app.app_context():
        assert services.signing_secrets(db.get(WebhookSubscription, body["id"])) == [body["secret"]]


@pytest.mark.usefixtures("allow_loopback")
def test_a_secret_sealed_under_another_key_is_refused_for_signing(
    app, db, world, receiver, monkeypatch
):
    subscription_id, _ = subscribe(app, world["partner_admin"], receiver.url())
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret-key")
    with app.app_context():
        subscription = db.get(WebhookSubscription, subscription_id)
        with pytest.raises(services.SecretUnreadable, match="SECRET_KEY changed"):
            services.signing_secrets(subscription)


@pytest.mark.usefixtures("allow_loopback")
def test_after_the_key_changed_a_rotation_signs_again_with_the_new_secret_only(
    app, db, world, receiver, monkeypatch
):
    deal = factories.make_deal(db, world["partner"], status="submitted")
    with time_machine.travel(START, tick=False):
        subscription_id, _ = subscribe(app, world["partner_admin"], receiver.url())
        monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret-key")
        new = rotate(app, world["partner_admin"], subscription_id)
        move(app, world["manager"], deal.id, DealStatus.rejected)
        tick(app)
        (got,) = receiver.received
        # The old secret, unreadable now, is left out rather than failing the delivery.
        assert len(got["headers"]["webhook-signature"].split(" ")) == 1
        Webhook(new).verify(got["body"], got["headers"])
    (stored,) = stored_deliveries(db, subscription_id)
    assert stored.status == "delivered"


@pytest.mark.usefixtures("allow_loopback")
def test_a_secret_that_cannot_be_read_fails_the_attempt_with_a_clear_error(
    app, db, world, receiver, monkeypatch
):
    deal = factories.make_deal(db, world["partner"], status="submitted")
    with time_machine.travel(START, tick=False):
        subscription_id, _ = subscribe(app, world["partner_admin"], receiver.url())
        monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret-key")
        move(app, world["manager"], deal.id, DealStatus.rejected)
        tick(app)
    assert receiver.received == []  # nothing unsigned, nothing signed with a wrong key
    (stored,) = stored_deliveries(db, subscription_id)
    assert stored.status == "pending" and stored.attempts == 1
    (attempt,) = attempts(db, stored.id)
    assert attempt.status_code is None and "SECRET_KEY changed" in attempt.error


def test_a_run_is_queued_once_per_transaction_and_again_after_a_rollback(app, db):
    def runs(session) -> list:
        return [args for path, args, _ in session.info.get("jobs_pending", [])]

    with app.test_request_context():
        from portal.db import unscoped

        with unscoped(portal_db.session) as session:
            session.connection()  # as the write that queues a run would, begin the transaction
            delivery.queue_run(7)
            delivery.queue_run(7)
            delivery.queue_run(8)
            assert runs(session) == [(7,), (8,)]
            session.rollback()
            assert runs(session) == []
            session.connection()
            delivery.queue_run(7)  # a new transaction queues its own run
            assert runs(session) == [(7,)]
            session.rollback()
            session.connection()
            try:
                with session.begin_nested():
                    delivery.queue_run(9)
                    raise RuntimeError("undo this savepoint")
            except RuntimeError:
                pass
            delivery.queue_run(9)  # the savepoint's run was dropped with it: queued again
            assert runs(session) == [(9,)]
            assert jobs.enqueue_once(delivery.deliver_subscription, 9) is False
            session.rollback()
