"""The load test's users (Locust): signed-in people of the demo world and two API clients, mixing
page views, searches, case replies, votes on ideas, deal registrations and API calls.

Every write is recorded, acknowledged or not, in the JSON-lines file ``LOAD_WRITES`` names: its
kind, a unique marker in its text (``LT-<run>-<n>``), the id the portal answered with and whether
the portal acknowledged it. ``check_writes.py`` then reads the database against that file.

Run through ``run.py``; by hand: ``locust -f tests/load/locustfile.py --host http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
from datetime import date, timedelta

from locust import HttpUser, between, events, task

PASSWORD = "demo-portal-2026"
RUN_ID = os.environ.get("LOAD_RUN_ID", str(int(time.time())))
WRITES_PATH = os.environ.get("LOAD_WRITES", "load-writes.jsonl")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CASE_LINK = re.compile(r'href="/cases/(\d+)"')
IDEA_LINK = re.compile(r'href="/ideas/(\d+)"')
LOCATION_ID = re.compile(r"/(?:deals|cases)/(\d+)$")
SEARCHES = ["VPN", "Granite", "switch", "firewall", "Alpine", "backup", "licence", "Harbor"]
# The flash messages that say what became of a vote (feedback/ideas/views.py).
VOTE_OUTCOMES = {
    "Your vote is counted": ("vote", True),
    "You have already voted": ("vote", False),
    "Your vote is removed": ("unvote", True),
    "You had not voted": ("unvote", False),
    "Votes are closed": ("refused", False),  # a done, declined or merged idea
}

_serial = itertools.count(1)
_write_lock = threading.Lock()
_writes_file = None


@events.test_start.add_listener
def _open_writes(environment, **_kwargs) -> None:
    global _writes_file
    _writes_file = open(WRITES_PATH, "a", encoding="utf-8")  # noqa: SIM115 - closed at test_stop


@events.test_stop.add_listener
def _close_writes(environment, **_kwargs) -> None:
    if _writes_file is not None:
        _writes_file.close()


def marker() -> str:
    return f"LT-{RUN_ID}-{next(_serial)}"


def record(**fields) -> None:
    """One write attempt: acknowledged (the portal said it is done) or not."""
    with _write_lock:
        _writes_file.write(json.dumps({"t": time.time(), **fields}) + "\n")
        _writes_file.flush()


def fail_on_status(response, expected: tuple[int, ...] = (200,)) -> bool:
    """Mark a response failed unless its status is expected; the message starts with the status
    so that run.py can count failures by status."""
    if response.status_code in expected:
        response.success()
        return True
    response.failure(f"HTTP {response.status_code}")
    return False


class PortalUser(HttpUser):
    """A person signed in through the login form; ``accounts`` are shared round robin, and only
    the first user of each account votes (so one sequence of votes per person and idea, which
    check_writes.py can replay)."""

    abstract = True
    wait_time = between(1, 3)
    accounts: list[str] = []
    can_vote = True
    _counter = None

    def on_start(self) -> None:
        cls = type(self)
        if cls._counter is None:
            cls._counter = itertools.count()
        index = next(cls._counter)
        self.email = self.accounts[index % len(self.accounts)]
        self.votes = self.can_vote and index < len(self.accounts)
        self.csrf = None
        self.case_ids: list[int] = []
        self.idea_ids: list[int] = []
        self.sign_in()

    def sign_in(self) -> None:
        with self.client.get("/login", name="sign-in page", catch_response=True) as page:
            if not fail_on_status(page):
                return
            token = CSRF.search(page.text)
        data = {"csrf_token": token.group(1) if token else "", "email": self.email}
        data["password"] = PASSWORD
        with self.client.post(
            "/login", data=data, name="sign-in", allow_redirects=False, catch_response=True
        ) as answer:
            if fail_on_status(answer, (302,)):
                self.page("/", "page: home")

    def page(self, path: str, name: str) -> str | None:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code == 200 and "/login" in response.url:
                response.failure("signed out")
                self.sign_in()
                return None
            if not fail_on_status(response):
                return None
            token = CSRF.search(response.text)
            if token:
                self.csrf = token.group(1)
            return response.text

    @task(3)
    def search(self) -> None:
        self.page(f"/search?q={random.choice(SEARCHES)}", "search")

    @task(2)
    def ideas_board(self) -> None:
        text = self.page("/ideas/", "page: ideas")
        if text and not self.idea_ids:
            self.idea_ids = sorted({int(i) for i in IDEA_LINK.findall(text)})

    @task(2)
    def vote(self) -> None:
        if not (self.votes and self.idea_ids and self.csrf):
            return
        idea_id = random.choice(self.idea_ids)
        action = random.choice(("vote", "unvote"))
        with self.client.post(
            f"/ideas/{idea_id}/{action}",
            data={"csrf_token": self.csrf},
            name=action,
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            posted = fail_on_status(answer, (302,))
        outcome = None
        if posted:
            # The outcome is in the flash message of the page the vote redirects to.
            text = self.page(answer.headers["Location"], "page: idea")
            outcome = next((o for s, o in VOTE_OUTCOMES.items() if text and s in text), None)
        refused = outcome is not None and outcome[0] == "refused"
        if refused:
            self.idea_ids.remove(idea_id)
        record(
            kind="vote",
            action=action,
            user=self.email,
            idea_id=idea_id,
            acked=outcome is not None and not refused,
            refused=refused,
            changed=outcome[1] if outcome else None,
            status=answer.status_code,
        )


class PartnerUser(PortalUser):
    """A reseller's people: the channel pages, deal registrations through the form, votes."""

    weight = 16
    accounts = [
        "admin@alpine.example",
        "sam@alpine.example",
        "admin@brightline.example",
        "admin@cobalt.example",
        "admin@delta.example",
        "admin@skagen.example",
    ]

    @task(4)
    def home(self) -> None:
        self.page("/", "page: home")

    @task(2)
    def deals(self) -> None:
        self.page("/deals/", "page: deals")

    @task(2)
    def leads(self) -> None:
        self.page("/leads/", "page: leads")

    @task(2)
    def register_deal(self) -> None:
        if not self.page("/deals/new", "page: register a deal"):
            return
        mark = marker()
        data = {
            "csrf_token": self.csrf,
            "customer_name": f"Load customer {mark}",
            "customer_domain": f"{mark.lower()}-load.com",
            "contact_name": "Load Tester",
            "contact_email": f"tester@{mark.lower()}-load.com",
            "products": "Switches\nFirewalls",
            "value": "12000",
            "currency": "EUR",
            "expected_close": (date.today() + timedelta(days=90)).isoformat(),
            "notes": f"Registered by the load test ({mark}).",
            "action": random.choice(("submit", "save")),
        }
        with self.client.post(
            "/deals/new",
            data=data,
            name="deal registration",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            acked = fail_on_status(answer, (302,))
            found = LOCATION_ID.search(answer.headers.get("Location", "")) if acked else None
            if acked and not found:
                answer.failure(f"HTTP {answer.status_code} to {answer.headers.get('Location')}")
        record(
            kind="deal",
            marker=mark,
            user=self.email,
            acked=bool(found),
            id=int(found.group(1)) if found else None,
            status=answer.status_code,
        )
        if found:
            self.page(answer.headers["Location"], "page: deal")


class CaseParticipant(PortalUser):
    """Someone who reads and answers cases: the case list, a case, a public reply."""

    abstract = True
    case_list = "/cases/"

    @task(3)
    def cases(self) -> None:
        text = self.page(self.case_list, "page: case list")
        if text:
            self.case_ids = sorted({int(i) for i in CASE_LINK.findall(text)})

    @task(3)
    def case(self) -> None:
        if self.case_ids:
            self.page(f"/cases/{random.choice(self.case_ids)}", "page: case")

    @task(3)
    def reply(self) -> None:
        if not (self.case_ids and self.csrf):
            return
        case_id = random.choice(self.case_ids)
        mark = marker()
        data = {"csrf_token": self.csrf, "body": f"Load test reply {mark}.", "status": ""}
        with self.client.post(
            f"/cases/{case_id}/reply",
            data=data,
            name="case reply",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code == 422:
                # Refused by the case's state (closed, merged): nothing may be written.
                answer.success()
                self.case_ids.remove(case_id)
                acked = False
            else:
                acked = fail_on_status(answer, (302,))
        record(
            kind="reply",
            marker=mark,
            user=self.email,
            case_id=case_id,
            acked=acked,
            refused=answer.status_code == 422,
            status=answer.status_code,
        )


class CustomerUser(CaseParticipant):
    weight = 14
    accounts = [
        "admin@granite.example",
        "lee@granite.example",
        "admin@harbor.example",
        "admin@iris.example",
        "admin@juniper.example",
        "admin@kestrel.example",
    ]

    @task(3)
    def home(self) -> None:
        self.page("/", "page: home")

    @task(1)
    def help_centre(self) -> None:
        self.page("/help/", "page: help centre")


class AgentUser(CaseParticipant):
    weight = 6
    accounts = ["support@northwind.example"]
    case_list = "/cases/queue"
    can_vote = False  # vendor staff do not vote

    @task(1)
    def support_dashboard(self) -> None:
        self.page("/reports/support", "page: support dashboard")


class ChannelUser(PortalUser):
    weight = 4
    accounts = ["channel@northwind.example"]
    can_vote = False

    @task(3)
    def home(self) -> None:
        self.page("/", "page: home")

    @task(2)
    def review(self) -> None:
        self.page("/deals/review", "page: registration review")

    @task(1)
    def channel_dashboard(self) -> None:
        self.page("/reports/channel", "page: channel dashboard")


API_CLIENTS = [
    ("alpine-erp", "alpine-demo-secret-2026"),
    ("brightline-crm", "brightline-demo-secret-2026"),
]


class ApiUser(HttpUser):
    """A partner's system on the API with client credentials: reads and deal registrations
    (with an Idempotency-Key, as the README's API section shows)."""

    weight = 10
    wait_time = between(1, 3)
    _counter = itertools.count()

    def on_start(self) -> None:
        self.client_id, self.secret = API_CLIENTS[next(ApiUser._counter) % len(API_CLIENTS)]
        self.token = None
        self.token_until = 0.0

    def headers(self) -> dict | None:
        if self.token is None or time.time() > self.token_until:
            with self.client.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "scope": "organizations:read deals:read deals:write",
                },
                auth=(self.client_id, self.secret),
                name="api: token",
                catch_response=True,
            ) as answer:
                if not fail_on_status(answer):
                    return None
                body = answer.json()
            self.token = body["access_token"]
            self.token_until = time.time() + body.get("expires_in", 900) - 60
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, name: str) -> None:
        headers = self.headers()
        if headers:
            with self.client.get(path, headers=headers, name=name, catch_response=True) as answer:
                fail_on_status(answer)

    @task(3)
    def me(self) -> None:
        self.get("/api/v1/me", "api: me")

    @task(2)
    def organizations(self) -> None:
        self.get("/api/v1/organizations?limit=20", "api: organizations")

    @task(3)
    def deals(self) -> None:
        self.get("/api/v1/deals?limit=20", "api: deals")

    @task(2)
    def register_deal(self) -> None:
        headers = self.headers()
        if not headers:
            return
        mark = marker()
        body = {
            "customer_name": f"API customer {mark}",
            "customer_domain": f"{mark.lower()}-api.com",
            "products": ["Switches"],
            "value": "8000",
            "currency": "EUR",
            "expected_close": (date.today() + timedelta(days=120)).isoformat(),
            "notes": f"Registered by the load test through the API ({mark}).",
            "submit": random.random() < 0.5,
        }
        with self.client.post(
            "/api/v1/deals",
            json=body,
            headers={**headers, "Idempotency-Key": mark},
            name="api: deal registration",
            catch_response=True,
        ) as answer:
            acked = fail_on_status(answer, (201,))
            deal_id = answer.json().get("id") if acked else None
        record(
            kind="deal",
            marker=mark,
            user=self.client_id,
            acked=acked,
            id=deal_id,
            status=answer.status_code,
        )
