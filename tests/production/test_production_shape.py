"""The production shape, run and broken on purpose (issue 17, item 4).

The real parts on loopback: PostgreSQL (a database of this module's own, the app connecting as an
ordinary role that row-level security binds), Redis, two gunicorn app servers in production mode,
an RQ worker, the tick, and an SMTP receiver. People like the demo's go through the pages over
HTTP; then a worker dies mid-send, an app server dies mid-write, and Redis goes away for a while.

Runs on PostgreSQL only (``TEST_DATABASE_URL``); the suite's SQLite run skips it.
"""

from __future__ import annotations

import re
import secrets
import threading
from datetime import date, timedelta

import pytest
import requests

from tests.integration.oauth_support import basic_auth, bearer
from tests.production.conftest import ON_POSTGRESQL, SKIP_REASON
from tests.production.stack import START_TIMEOUT, Visitor, form_errors, wait_until

pytestmark = [pytest.mark.production, pytest.mark.skipif(not ON_POSTGRESQL, reason=SKIP_REASON)]

# Each tick is a new process: 3 s of imports, 10 s on a machine as busy as CI's two suites.
DELIVERY_TIMEOUT = 60.0


def marker(what: str) -> str:
    """A phrase that appears in one request's rows and emails only."""
    return f"{what} {secrets.token_hex(4)}"


def signed_in(base_url: str, email: str, password: str) -> Visitor:
    visitor = Visitor(email, password)
    response = visitor.sign_in(base_url)
    assert response.status_code == 302, form_errors(response)
    # Production mode: the session cookie is Secure and __Host- prefixed.
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-portal=") and "Secure" in cookie, cookie
    return visitor


@pytest.fixture(scope="module")
def customer(stack, world):
    return signed_in(stack.url("a"), world.customer, world.password)


@pytest.fixture(scope="module")
def agent(stack, world):
    return signed_in(stack.url("b"), world.agent, world.password)


def open_case(visitor: Visitor, base_url: str, subject: str, attachment: str, **kwargs):
    """The customer's new-case form, with a file: the answer (a redirect to the case)."""
    data = {"subject": subject, "description": f"Since this morning: {subject}", "priority": "high"}
    files = {"files": (attachment, b"2026-12-03 12:00:01 ERROR sync stopped\n" * 200, "text/plain")}
    page = f"{base_url}/cases/new"
    return visitor.post_form(page, page, data, files=files, **kwargs)


def case_id_from(response: requests.Response) -> int:
    assert response.status_code == 302, form_errors(response)
    return int(re.search(r"/cases/(\d+)$", response.headers["Location"]).group(1))


@pytest.fixture(scope="module")
def customer_case(stack, customer) -> int:
    """A case the customer opened, for the scenarios' replies."""
    return case_id_from(open_case(customer, stack.url("a"), marker("Sync stopped"), "sync.log"))


def reply(agent: Visitor, base_url: str, case_id: int, body: str) -> requests.Response:
    page = f"{base_url}/cases/{case_id}"
    return agent.post_form(page, f"{page}/reply", {"body": body, "status": ""})


def outbox_row(stack, to: str, text: str):
    rows = stack.rows(
        "SELECT status, attempts FROM outbox_messages WHERE to_address = :to "
        "AND body_text LIKE :text",
        to=to,
        text=f"%{text}%",
    )
    assert len(rows) == 1, rows
    return rows[0]


def tick_until_delivered(stack, mailbox, to: str, text: str) -> list:
    """Run the tick, as cron would, until the email is in; the messages received."""
    return wait_until(
        lambda: stack.tick() is not None and mailbox.containing(to, text),
        f"the tick to deliver the email to {to}",
        DELIVERY_TIMEOUT,
        every=0,
    )


def test_the_main_journeys_run_across_both_app_servers(stack, world, mailbox, customer, agent):
    a, b = stack.url("a"), stack.url("b")
    # A customer opens a case with a file on server a...
    subject = marker("Printer queue stuck")
    case_id = case_id_from(open_case(customer, a, subject, "spooler.log"))
    # ...and finds it on server b: the session lives in the database, not in a server.
    page = customer.get(f"{b}/cases/{case_id}")
    assert page.status_code == 200 and subject in page.text and "spooler.log" in page.text

    # An agent answers on server b; the worker sends the customer the reply.
    answer = marker("Restart the spooler service")
    assert reply(agent, b, case_id, answer).status_code == 302
    received = wait_until(
        lambda: mailbox.containing(world.customer, answer),
        "the reply's email to reach the customer",
    )
    assert len(received) == 1 and subject in received[0]["Subject"]
    # The worker records the delivery just after the receiver accepted it.
    wait_until(
        lambda: outbox_row(stack, world.customer, answer) == ("sent", 1), "the email marked sent"
    )

    # A partner registers a deal...
    partner = signed_in(a, world.partner, world.password)
    customer_name = marker("Lakeside Dental")
    deal = {
        "customer_name": customer_name,
        "customer_domain": f"lakeside-dental-{secrets.token_hex(4)}.com",
        "contact_name": "Ada Example",
        "contact_email": "ada@lakeside-dental.example",
        "products": "Northwind Server 2\nNorthwind Care Pack",
        "value": "18500.00",
        "currency": "EUR",
        "expected_close": (date.today() + timedelta(days=45)).isoformat(),
        "notes": "",
        "snapshot": "",
        "action": "submit",
    }
    registered = partner.post_form(f"{a}/deals/new", f"{a}/deals/new", deal)
    assert registered.status_code == 302, form_errors(registered)
    assert stack.rows(
        "SELECT status FROM deal_registrations WHERE customer_name = :name", name=customer_name
    ) == [("submitted",)]

    # ...and the partner's integration reads it through the API with a client-credentials token.
    token = requests.post(
        f"{b}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "deals:read"},
        headers=basic_auth(world.api_client_id, world.api_secret),
        timeout=15,
    )
    assert token.status_code == 200, token.text
    deals = requests.get(
        f"{a}/api/v1/deals?limit=100", headers=bearer(token.json()["access_token"]), timeout=15
    )
    assert deals.status_code == 200, deals.text
    assert customer_name in [d["customer_name"] for d in deals.json()["items"]]


def test_a_worker_killed_mid_send_is_replaced_and_the_email_arrives_once(
    stack, world, mailbox, agent, customer_case
):
    # The SMTP receiver holds the customer's next email at RCPT: the worker is mid-send.
    wait_until(stack.outbox_settled, "the emails sent before to be out")
    mailbox.hold(world.customer)
    answer = marker("Please send the sync log")
    assert reply(agent, stack.url("a"), customer_case, answer).status_code == 302
    wait_until(mailbox.held.is_set, "the worker to be sending the email")
    assert outbox_row(stack, world.customer, answer) == ("sending", 1)

    stack.worker.kill()
    mailbox.release()
    assert not mailbox.containing(world.customer, answer)  # the dead worker got nothing through

    # A new worker starts (and cleans up after the dead one); the tick, as cron runs it, frees
    # the message once its lease has ended and sends it. Sent is recorded: nothing sends it again.
    replacement = stack.start_worker(wait=False)
    wait_until(
        lambda: stack.rows(
            "SELECT 1 FROM outbox_messages WHERE body_text LIKE :text AND claimed_until <= now()",
            text=f"%{answer}%",
        ),
        "the delivery's lease to end",
    )
    tick_until_delivered(stack, mailbox, world.customer, answer)
    assert outbox_row(stack, world.customer, answer) == ("sent", 2)
    stack.wait_worker(replacement)
    assert len(mailbox.containing(world.customer, answer)) == 1


def test_without_redis_the_portal_answers_and_queued_mail_goes_out_after(
    stack, world, mailbox, customer, agent, customer_case
):
    a, b = stack.url("a"), stack.url("b")
    stack.processes["redis"].kill()
    assert not stack.redis_answers()

    # Pages answer on both servers; the health check says what is missing.
    for base in (a, b):
        for path in ("/home", "/cases/", f"/cases/{customer_case}"):
            assert customer.get(f"{base}{path}").status_code == 200, (base, path)
    health = requests.get(f"{b}/healthz", timeout=15)
    assert health.status_code == 200 and health.json()["status"] == "degraded", health.text

    # Sign-in limits fail safe: the right password still signs in, a wrong one is still refused.
    someone = Visitor(world.customer, world.password)
    for _attempt in range(3):
        refused = someone.sign_in(a, password="not-the-password")
        assert refused.status_code == 422 and "not correct" in refused.text, refused.status_code
    assert someone.sign_in(a).status_code == 302

    # A reply while Redis is away is saved, and its email is not lost...
    answer = marker("We replaced the reader firmware")
    answered = reply(agent, b, customer_case, answer)
    assert answered.status_code == 302, (
        f"{answered.status_code}: the reply is saved, but its job could not be queued without "
        "Redis and the request failed (portal.jobs RedisBackend.dispatch)"
    )
    # The tick leaves mail younger than a minute to the job queued with it: rather than wait,
    # the test makes the message older.
    stack.rows(
        "UPDATE outbox_messages SET created_at = created_at - interval '10 minutes' "
        "WHERE body_text LIKE :text RETURNING id",
        text=f"%{answer}%",
    )

    # ...and goes out, once, after Redis is back (empty: it kept nothing) and the tick runs.
    stack.start_redis()
    if not stack.worker.running():  # RQ 3 may exit when Redis goes: a supervisor restarts it
        stack.start_worker(wait=False)
    assert len(tick_until_delivered(stack, mailbox, world.customer, answer)) == 1
    assert outbox_row(stack, world.customer, answer) == ("sent", 1)

    # The queue works again: the next reply's email goes through the worker, without a tick.
    answer = marker("The readers are back online")
    assert reply(agent, a, customer_case, answer).status_code == 302
    wait_until(
        lambda: mailbox.containing(world.customer, answer),
        "the worker to send the email of a reply made after Redis returned",
        timeout=START_TIMEOUT,
    )


def test_an_app_server_killed_mid_write_leaves_nothing_half_written(stack, customer):
    a, b = stack.url("a"), stack.url("b")
    subject, attachment = marker("Badge readers offline"), f"{secrets.token_hex(4)}.log"
    answers: list = []

    # The test holds the attachments table, so the request stops inside its transaction, with
    # its case row written and its file's row waiting.
    with stack.database.connect() as locker:
        locker.exec_driver_sql("LOCK TABLE case_attachments IN EXCLUSIVE MODE")

        def send() -> None:
            try:
                answers.append(open_case(customer, a, subject, attachment))
            except requests.RequestException as error:
                answers.append(error)

        request = threading.Thread(target=send)
        request.start()
        wait_until(
            lambda: stack.rows(
                "SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'portal-a' "
                "AND a.wait_event_type = 'Lock' AND EXISTS (SELECT 1 FROM pg_locks l "
                "WHERE l.pid = a.pid AND l.granted AND l.relation = 'cases'::regclass "
                "AND l.mode = 'RowExclusiveLock')"
            ),
            "the request to be writing its case",
        )
        stack.processes["app-a"].kill()
        request.join(timeout=15)
        locker.rollback()
    assert len(answers) == 1 and isinstance(answers[0], requests.ConnectionError), answers

    # The killed server's database sessions end, and none of the request's rows exist.
    wait_until(
        lambda: (
            not stack.rows("SELECT 1 FROM pg_stat_activity WHERE application_name = 'portal-a'")
        ),
        "the killed server's database sessions to end",
    )
    assert stack.rows("SELECT id FROM cases WHERE subject = :s", s=subject) == []
    assert stack.rows("SELECT id FROM case_attachments WHERE filename = :f", f=attachment) == []
    assert stack.rows("SELECT id FROM case_comments WHERE body LIKE :s", s=f"%{subject}%") == []
    assert (
        stack.rows("SELECT id FROM outbox_messages WHERE subject LIKE :s", s=f"%{subject}%") == []
    )

    # Server b answers all along, for the same signed-in customer, who sends the case again.
    assert customer.get(f"{b}/cases/").status_code == 200
    case_id = case_id_from(open_case(customer, b, subject, attachment))
    assert stack.rows("SELECT id FROM cases WHERE subject = :s", s=subject) == [(case_id,)]
    assert len(stack.rows("SELECT id FROM case_attachments WHERE filename = :f", f=attachment)) == 1
