"""Webhooks through a real HTTP receiver on loopback, with a frozen clock driving the tick: the
signature verifies with the Standard Webhooks library, a receiver answering 500 then 200 gets
the event once the back-off has passed, events arrive in order per endpoint, a delivery carries
only what the subscribing organisation may see, private targets are refused unless allowed,
a rotated secret still verifies for a day, and an endpoint failing for a day is disabled and
its admins told."""

from __future__ import annotations

import json
import statistics
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from sqlalchemy import func, select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from partners.deals.models import DealRegistration, DealStatus
from portal import jobs
from portal.clock import utcnow
from portal.db import db as portal_db
from portal.db import set_principal
from portal.errors import InvalidInput
from portal.notify.models import Notification
from portal.tenancy import Principal
from portal.webhooks import delivery, services, transport
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from portal.workflow import transition
from tests import factories
from tests.unchanged import unchanged

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Receiver:
    """An HTTP server on loopback that records each POST and answers the next status code of
    ``answers`` (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                with receiver.lock:
                    receiver.received.append(
                        {
                            "at": time.perf_counter(),
                            "path": self.path,
                            "headers": dict(self.headers.items()),
                            "body": body,
                        }
                    )
                    status = receiver.answers.pop(0) if receiver.answers else 200
                answer = b'{"ok": true}' if status < 300 else b"receiver is down " * 100
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def allow_loopback(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", True)


@contextmanager
def acting_as(app, user):
    with app.test_request_context():
        principal = Principal.for_user(user, "203.0.113.9")
        set_principal(portal_db.session, principal)
        yield principal


def subscribe(app, user, url: str, events=("deal.*",)) -> tuple[int, str]:
    with acting_as(app, user) as actor:
        subscription, secret = services.create_subscription(
            user.org_id, url=url, events=list(events), actor=actor
        )
        portal_db.session.commit()
        return subscription.id, secret


def move(app, user, deal_id: int, to: DealStatus) -> None:
    """A person changes a deal's status: the event is published and its deliveries written in
    the same transaction."""
    with acting_as(app, user) as actor:
        deal = portal_db.session.get(DealRegistration, deal_id)
        transition(deal, to, actor=actor)
        portal_db.session.commit()


def tick(app) -> dict:
    """``flask tick`` for webhooks, outside any request (its runs are jobs, run inline)."""
    with app.app_context():
        return jobs.run_periodic(["retry_webhooks"])


@pytest.fixture
def world(db, vendor):
    partner = factories.make_org(db, "reseller", name="Hook Reseller")
    other = factories.make_org(db, "reseller", name="Other Hook Reseller")
    customer = factories.make_org(db, "customer", name="Hook Customer", managed_by_id=other.id)
    return {
        "vendor": vendor,
        "partner": partner,
        "other": other,
        "customer": customer,
        "manager": factories.make_user(db, vendor, "channel_manager"),
        "vendor_admin": factories.make_user(db, vendor, "vendor_admin"),
        "partner_admin": factories.make_user(db, partner, "partner_admin"),
        "other_admin": factories.make_user(db, other, "partner_admin"),
        "customer_admin": factories.make_user(db, customer, "customer_admin"),
    }


def stored_deliveries(db, subscription_id: int) -> list[WebhookDelivery]:
    db.expire_all()
    return list(
        db.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.id)
        )
    )


def attempts(db, delivery_id: int) -> list[WebhookAttempt]:
    return list(
        db.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.id)
        )
    )


@pytest.mark.usefixtures("allow_loopback")
def test_a_delivery_is_signed_per_standard_webhooks_and_carries_the_record_as_the_api_shows_it(
    app, db, world, receiver
):
    deal = factories.make_deal(db, world["partner"], status="submitted")
    with time_machine.travel(START, tick=False):
        subscription_id, secret = subscribe(app, world["partner_admin"], receiver.url())
        assert secret.startswith("whsec_")
        move(app, world["manager"], deal.id, DealStatus.rejected)
        assert tick(app) == {"retry_webhooks": 1}
        (got,) = receiver.received
        payload = Webhook(secret).verify(got["body"], got["headers"])
    assert payload["type"] == "deal.rejected"
    assert payload["id"] == got["headers"]["webhook-id"]
    assert got["headers"]["webhook-timestamp"] == str(int(START.timestamp()))
    assert got["headers"]["webhook-signature"].startswith("v1,")
    data = payload["data"]
    assert (data["object"], data["id"], data["number"]) == ("deal", deal.id, deal.number)
    assert (data["previous_status"], data["status"]) == ("submitted", "rejected")
    assert data["under_conflict_review"] is False  # the API's own serialiser answered
    (stored,) = stored_deliveries(db, subscription_id)
    assert stored.status == "delivered" and stored.delivered_at == START
    (attempt,) = attempts(db, stored.id)
    assert attempt.status_code == 200 and attempt.latency_ms >= 0
    assert attempt.response_excerpt == '{"ok": true}'
    # A wrong secret does not verify.
    with time_machine.travel(START, tick=False), pytest.raises(WebhookVerificationError):
        Webhook(transport.new_secret()).verify(got["body"], got["headers"])


@pytest.mark.usefixtures("allow_loopback")
def test_a_receiver_answering_500_then_200_gets_the_event_once_the_back_off_has_passed(
    app, db, world, receiver
):
    deal = factories.make_deal(db, world["partner"], status="submitted")
    receiver.answers = [500]
    with time_machine.travel(START, tick=False) as clock:
        subscription_id, secret = subscribe(app, world["partner_admin"], receiver.url())
        move(app, world["manager"], deal.id, DealStatus.rejected)
        tick(app)
        (stored,) = stored_deliveries(db, subscription_id)
        assert stored.status == "pending" and stored.attempts == 1
        assert stored.next_attempt_at == START + timedelta(seconds=5)
        (failed,) = attempts(db, stored.id)
        assert failed.status_code == 500
        assert len(failed.response_excerpt) == transport.EXCERPT_BYTES  # the first kilobyte
        assert tick(app) == {"retry_webhooks": 0}  # not due yet: nothing sent
        assert len(receiver.received) == 1
        clock.shift(timedelta(seconds=6))
        tick(app)
        assert len(receiver.received) == 2
        first, second = receiver.received
        assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
        assert first["body"] == second["body"]  # the same body, signed anew
        Webhook(secret).verify(second["body"], second["headers"])
    (stored,) = stored_deliveries(db, subscription_id)
    assert stored.status == "delivered" and stored.attempts == 2
    assert [a.status_code for a in attempts(db, stored.id)] == [500, 200]
    db.expire_all()
    assert db.get(WebhookSubscription, subscription_id).failing_since is None


@pytest.mark.usefixtures("allow_loopback")
def test_events_arrive_in_order_per_endpoint_even_across_a_failure(app, db, world, receiver):
    deals = [factories.make_deal(db, world["partner"], status="submitted") for _ in range(3)]
    receiver.answers = [503]
    with time_machine.travel(START, tick=False) as clock:
        subscription_id, _ = subscribe(app, world["partner_admin"], receiver.url())
        for deal in deals:
            move(app, world["manager"], deal.id, DealStatus.rejected)
        tick(app)
        assert len(receiver.received) == 1  # the first failed: the others wait behind it
        assert [d.status for d in stored_deliveries(db, subscription_id)] == ["pending"] * 3
        clock.shift(timedelta(seconds=5))
        tick(app)
    ids = [b["data"]["id"] for b in receiver.bodies()]
    assert ids == [deals[0].id, deals[0].id, deals[1].id, deals[2].id]
    assert [d.status for d in stored_deliveries(db, subscription_id)] == ["delivered"] * 3


@pytest.mark.usefixtures("allow_loopback")
def test_a_delivery_carries_only_what_the_subscribing_organisation_may_see(app, db, world):
    """Every organisation's endpoint listens to everything: a partner's deal reaches its own
    endpoint and the vendor's, never another partner's nor a customer's."""
    receivers = {name: Receiver() for name in ("partner", "other", "customer", "vendor")}
    try:
        deal = factories.make_deal(db, world["partner"], status="submitted")
        with time_machine.travel(START, tick=False):
            subscriptions = {
                name: subscribe(app, world[admin], receivers[name].url(), events=["*"])[0]
                for name, admin in (
                    ("partner", "partner_admin"),
                    ("other", "other_admin"),
                    ("customer", "customer_admin"),
                    ("vendor", "vendor_admin"),
                )
            }
            move(app, world["manager"], deal.id, DealStatus.rejected)
            tick(app)
        assert [b["type"] for b in receivers["partner"].bodies()] == ["deal.rejected"]
        assert [b["type"] for b in receivers["vendor"].bodies()] == ["deal.rejected"]
        assert receivers["other"].received == []
        assert receivers["customer"].received == []
        # Nor does the foreign endpoint's log say anything happened.
        assert stored_deliveries(db, subscriptions["other"]) == []
        assert stored_deliveries(db, subscriptions["customer"]) == []
        # What the partner got is what its own API shows; the vendor's body is the vendor's.
        assert receivers["partner"].bodies()[0]["data"]["customer_name"] == deal.customer_name
    finally:
        for server in receivers.values():
            server.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost/hook",  # a host name that resolves to loopback
        "http://192.168.0.10/hook",
        "ftp://example.com/hook",
        "not a url",
    ],
)
def test_private_targets_and_bad_urls_are_refused_and_nothing_is_written(app, db, world, url):
    assert not app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
    admin = world["partner_admin"]
    with unchanged(db, counted=(WebhookSubscription,)), acting_as(app, admin) as actor:
        with pytest.raises(InvalidInput) as refused:
            services.create_subscription(admin.org_id, url=url, events=["deal.*"], actor=actor)
        portal_db.session.rollback()
    assert refused.value.field == "url"


def test_a_target_that_became_private_is_not_contacted(app, db, world, receiver, monkeypatch):
    """Allowed when subscribed, refused at delivery (DNS changed, the setting was turned off):
    the guard runs again before every connection, and the attempt says why."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", True)
    deal = factories.make_deal(db, world["partner"], status="submitted")
    with time_machine.travel(START, tick=False):
        subscription_id, _ = subscribe(app, world["partner_admin"], receiver.url())
        monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
        move(app, world["manager"], deal.id, DealStatus.rejected)
        tick(app)
    assert receiver.received == []
    (stored,) = stored_deliveries(db, subscription_id)
    (attempt,) = attempts(db, stored.id)
    assert attempt.status_code is None and "private" in attempt.error


def test_every_resolved_address_is_checked(app, monkeypatch):
    """A name that resolves to a public and a private address is refused."""
    import socket

    def both(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", both)
    with app.app_context(), pytest.raises(transport.TargetRefused):
        transport.resolve("https://mixed.example/hook")
    assert transport.refused_address("::ffff:127.0.0.1")
    assert not transport.refused_address("93.184.215.14")


@pytest.mark.usefixtures("allow_loopback")
def test_after_a_rotation_the_old_secret_verifies_for_a_day_and_not_after(app, db, world, receiver):
    first, second = (factories.make_deal(db, world["partner"], status="submitted") for _ in "12")
    with time_machine.travel(START, tick=False) as clock:
        subscription_id, old = subscribe(app, world["partner_admin"], receiver.url())
        with acting_as(app, world["partner_admin"]) as actor:
            subscription = portal_db.session.get(WebhookSubscription, subscription_id)
            new = services.rotate_secret(subscription, actor=actor)
            portal_db.session.commit()
        assert new != old and new.startswith("whsec_")
        clock.shift(timedelta(hours=23))
        move(app, world["manager"], first.id, DealStatus.rejected)
        tick(app)
        within = receiver.received[-1]
        assert len(within["headers"]["webhook-signature"].split(" ")) == 2
        Webhook(old).verify(within["body"], within["headers"])
        Webhook(new).verify(within["body"], within["headers"])
        clock.shift(timedelta(hours=2))
        move(app, world["manager"], second.id, DealStatus.rejected)
        tick(app)
        after = receiver.received[-1]
        assert len(after["headers"]["webhook-signature"].split(" ")) == 1
        Webhook(new).verify(after["body"], after["headers"])
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(after["body"], after["headers"])


@pytest.mark.usefixtures("allow_loopback")
def test_an_endpoint_failing_for_a_day_is_disabled_and_its_admins_told(
    app, db, world, receiver, mailbox
):
    deal = factories.make_deal(db, world["partner"], status="submitted")
    receiver.answers = [500] * 100
    with time_machine.travel(START, tick=False) as clock:
        subscription_id, _ = subscribe(app, world["partner_admin"], receiver.url())
        move(app, world["manager"], deal.id, DealStatus.rejected)
        tick(app)
        waits = []
        while True:
            (stored,) = stored_deliveries(db, subscription_id)
            if (
                stored.status != "pending"
                or not db.get(WebhookSubscription, subscription_id).active
            ):
                break
            wait = stored.next_attempt_at - utcnow()
            waits.append(wait)
            clock.move_to(stored.next_attempt_at)
            tick(app)
    assert waits == list(delivery.BACKOFF)  # 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
    db.expire_all()
    subscription = db.get(WebhookSubscription, subscription_id)
    assert not subscription.active and "a day" in subscription.disabled_reason
    assert len(receiver.received) == len(delivery.BACKOFF) + 1
    (stored,) = stored_deliveries(db, subscription_id)
    assert stored.status == "failed"
    told = db.scalars(
        select(Notification.user_id).where(Notification.kind == "webhooks.disabled")
    ).all()
    assert told == [world["partner_admin"].id]
    assert any("Webhook endpoint disabled" in m["Subject"] for m in mailbox)
    # Disabled: a new event is kept, not sent, until an admin enables the endpoint again.
    later = factories.make_deal(db, world["partner"], status="submitted")
    with time_machine.travel(START + timedelta(days=2), tick=False):
        move(app, world["manager"], later.id, DealStatus.rejected)
        assert tick(app) == {"retry_webhooks": 0}
        with acting_as(app, world["partner_admin"]) as actor:
            subscription = portal_db.session.get(WebhookSubscription, subscription_id)
            services.update_subscription(subscription, active=True, actor=actor)
            portal_db.session.commit()
        receiver.answers = []
        tick(app)
    assert receiver.bodies()[-1]["data"]["id"] == later.id


@pytest.mark.usefixtures("allow_loopback")
def test_a_redelivery_sends_the_same_event_again(app, db, world, receiver):
    deal = factories.make_deal(db, world["partner"], status="submitted")
    with time_machine.travel(START, tick=False):
        subscription_id, _ = subscribe(app, world["partner_admin"], receiver.url())
        move(app, world["manager"], deal.id, DealStatus.rejected)
        tick(app)
        (first,) = stored_deliveries(db, subscription_id)
        with acting_as(app, world["partner_admin"]) as actor:
            services.redeliver(portal_db.session.get(WebhookDelivery, first.id), actor=actor)
            portal_db.session.commit()
        tick(app)
    one, two = receiver.received
    assert one["headers"]["webhook-id"] == two["headers"]["webhook-id"]
    assert one["body"] == two["body"]
    assert [d.status for d in stored_deliveries(db, subscription_id)] == ["delivered"] * 2


def test_unknown_event_patterns_are_refused(app, db, world):
    admin = world["partner_admin"]
    with unchanged(db, counted=(WebhookSubscription,)), acting_as(app, admin) as actor:
        for events in (["deal.nonsense"], ["outbox_message.*"], [], ["   "]):
            with pytest.raises(InvalidInput) as refused:
                services.create_subscription(
                    admin.org_id, url="https://example.com/hook", events=events, actor=actor
                )
            assert refused.value.field == "events"
        portal_db.session.rollback()


@pytest.mark.usefixtures("allow_loopback")
def test_delivery_latency_on_loopback(app, db, world, receiver, capsys):
    """From the change committed (its event published, its delivery written) to the receiver
    having the POST, through the job the commit runs: the median of 20."""
    deals = [factories.make_deal(db, world["partner"], status="submitted") for _ in range(20)]
    subscription_id, _ = subscribe(app, world["partner_admin"], receiver.url())
    latencies = []
    for deal in deals:
        move(app, world["manager"], deal.id, DealStatus.rejected)
        started = time.perf_counter()  # the event is published and committed
        with app.app_context():
            jobs.run_job(
                f"{delivery.deliver_subscription.__module__}:deliver_subscription",
                (subscription_id,),
            )
        latencies.append((receiver.received[-1]["at"] - started) * 1000)
    count = db.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
    )
    assert count == 20 and len(receiver.received) == 20
    with capsys.disabled():
        print(
            f"\nwebhook latency on loopback, event to receiver: median "
            f"{statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms (n=20)"
        )
