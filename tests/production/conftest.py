"""Fixtures of the production-shape tests: a database of their own on the PostgreSQL server that
``TEST_DATABASE_URL`` names (created, built by the migrations, given its people by the test
factories, and dropped afterwards), the SMTP receiver, and the stack of processes around them,
shared by the module's scenarios. When a test fails, the end of every process's log is added to
its report.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace

import pytest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from portal import access
from portal.app import load_models
from portal.db import unscoped
from tests import factories
from tests.conftest import free_port, reset_schema
from tests.e2e.conftest import _PostgresDatabase
from tests.integration.oauth_support import make_api_client
from tests.production.stack import LOOPBACK, HoldingMailbox, Stack

SERVER_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRESQL = SERVER_URL.startswith(("postgresql", "postgres:"))
SKIP_REASON = (
    "the production shape runs on PostgreSQL: set TEST_DATABASE_URL to a PostgreSQL server "
    "(CI's PostgreSQL run does; its SQLite run skips this)"
)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    stack = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(stack, Stack):
        for name, log in stack.logs().items():
            report.sections.append((f"log of {name}", log))
    return report


@pytest.fixture(scope="module")
def mailbox():
    """The loopback SMTP receiver of the stack (the module's own: it can hold a delivery)."""
    box = HoldingMailbox()
    controller = Controller(box, hostname=LOOPBACK, port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    box.release()
    controller.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, mailbox):
    """Migrate a database of the module's own, then start Redis, app servers a and b and a
    worker; every process is killed and the database dropped at the end, whatever happened."""
    if not ON_POSTGRESQL:
        pytest.skip(SKIP_REASON)
    if shutil.which("redis-server") is None:  # fail, not skip: CI would run nothing and pass
        pytest.fail("redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    database = _PostgresDatabase(SERVER_URL, f"portal_production_{worker or 'main'}")
    database.create()
    stack = None
    try:
        role = reset_schema(database.url)
        log_dir = tmp_path_factory.mktemp("production")
        stack = Stack(log_dir, database.url, role, mailbox.port)
        stack.start_redis()
        for app in Stack.APPS:
            stack.start_app(app, wait=False)
        stack.start_worker(wait=False)
        for app in Stack.APPS:
            stack.wait_app(app)
        stack.wait_worker(stack.worker)
        yield stack
    except Exception:
        if stack is not None:  # a start-up that failed: say why (shown with the error)
            for name, log in stack.logs().items():
                print(f"===== log of {name}\n{log}")
        raise
    finally:
        if stack is not None:
            stack.stop()
        database.drop()


@dataclass(frozen=True)
class World:
    """Who the scenarios are: people of a vendor, a reseller and a customer it manages, with
    addresses as the demo's (email-validator refuses the tests' reserved .test domain outside
    the test process), and the reseller's API client."""

    customer: str = "lee@granite.example"
    agent: str = "support@northwind.example"
    partner: str = "admin@alpine.example"
    password: str = factories.PASSWORD
    api_client_id: str = ""
    api_secret: str = ""


@pytest.fixture(scope="module")
def world(stack) -> World:
    """The people of the scenarios, written with the test factories before anyone signs in."""
    load_models()
    with Session(stack.database) as session, unscoped(session):
        vendor = factories.vendor_org(session)
        alpine = factories.make_org(session, "reseller", name="Alpine IT Solutions", tier="gold")
        granite = factories.make_org(
            session, "customer", name="Granite Bank", managed_by_id=alpine.id
        )
        people = World()
        # Hashed as the stack's app servers hash (the suite's own hashes are cheap, see
        # tests/conftest.py), so that a first sign-in there does not rehash the password.
        hashed = {"password_hash": PasswordHasher().hash(people.password)}
        factories.make_user(session, vendor, access.SUPPORT_AGENT, email=people.agent, **hashed)
        factories.make_user(session, alpine, access.PARTNER_ADMIN, email=people.partner, **hashed)
        factories.make_user(session, granite, access.CUSTOMER_USER, email=people.customer, **hashed)
        client = make_api_client(
            session, alpine, scopes="deals:read", service_role=access.PARTNER_ADMIN
        )
        session.commit()
    return replace(people, api_client_id=client.client_id, api_secret=client.secret)


@pytest.fixture(autouse=True)
def whole_stack(request):
    """Each scenario starts with every process up, whatever the one before it broke."""
    if "stack" in request.fixturenames:
        request.getfixturevalue("stack").revive()
