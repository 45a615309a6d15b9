"""Fixtures: ``app``, ``db`` (one transaction per test, rolled back), ``client``, ``client_as``,
factories of organisations, users and records, and a real SMTP server on loopback.

The database is SQLite (a temporary file) unless ``TEST_DATABASE_URL`` names another, such as the
PostgreSQL that CI runs. Its schema is built by the migrations, never by ``create_all``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tempfile
import threading
from pathlib import Path

import email_validator
import pytest
from aiosmtpd.controller import Controller
from argon2 import profiles
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from portal import migrate
from portal.app import create_app
from portal.db import db as portal_db
from portal.db import unscoped
from portal.engine import make_engine
from portal.extensions import limiter
from portal.identity import passwords
from tests import factories

# Test addresses use the reserved .test domain, which email-validator refuses outside tests.
email_validator.TEST_ENVIRONMENT = True


def pytest_configure(config):
    # The suite's password hashes with argon2's cheapest parameters (0.2 ms a sign-in, not
    # 100-300 ms): it signs in thousands of times, and what it tests of hashing (argon2id, a
    # wrong password refused, the hash never shown) is the same. Under pytest only: the
    # benchmarks import this module and measure the real cost.
    passwords.hash_with(dataclasses.replace(profiles.CHEAPEST, hash_len=16))  # not a 4-byte tag


def database_url_for(tmp_dir: Path, name: str = "portal") -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    return url or f"sqlite:///{tmp_dir / (name + '.sqlite3')}"


# On PostgreSQL the app's connections run as this ordinary role, so row-level security binds
# every query of the test suite (the test user is a superuser, which policies never bind).
APP_ROLE = "portal_app_test"


def reset_schema(url: str) -> str | None:
    """Drop everything in the test database and build it with the migrations. On PostgreSQL,
    returns the ordinary role the app should run as."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    with engine.begin() as conn:
        migrate.upgrade(conn)
    role = None
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            role = APP_ROLE
            conn.execute(
                text(
                    f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN; "
                    f"EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                )
            )
            conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
            conn.execute(
                text(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
                )
            )
            conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    engine.dispose()
    return role


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox(list):
    """Messages the loopback SMTP server received, oldest first."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def to(self, address: str) -> list:
        return [m for m in self if address in m["To"]]

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler protocol
        from email import message_from_bytes, policy

        with self.lock:
            self.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture(scope="session")
def tmp_dir():
    with tempfile.TemporaryDirectory(prefix="portal-tests-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def app(tmp_dir, smtp_server):
    url = database_url_for(tmp_dir)
    role = reset_schema(url)
    controller, _ = smtp_server
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": url,
            "DATABASE_ROLE": role,
            "SMTP_URL": f"smtp://127.0.0.1:{controller.port}",
            "WTF_CSRF_ENABLED": False,
            "BASE_URL": "http://portal.test",
            "SERVER_NAME": None,
            "REDIS_URL": None,
            # The loopback OpenID Connect providers of the tests are http on 127.0.0.1.
            "SSO_ALLOW_INSECURE_LOOPBACK": True,
        }
    )
    yield app
    app.extensions["db"].engine.dispose()


@pytest.fixture
def mailbox(smtp_server):
    _, box = smtp_server
    box.clear()
    return box


try:
    from portal.workflow import UNCHECKED as _WORKFLOW_UNCHECKED
except ImportError:  # before portal.workflow: no guards to step around
    _WORKFLOW_UNCHECKED = "workflow_unchecked"


@pytest.fixture
def db(app, mailbox):
    """The arranging session of one test: sees every organisation, shares the test's transaction
    with the app's sessions, and everything is rolled back afterwards."""
    state = app.extensions["db"]
    connection = state.engine.connect()
    transaction = connection.begin()
    original = state.session_factory
    state.session_factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    limiter.reset()
    session = state.session_factory()
    # The arranging session builds worlds in any status: portal.workflow's guards (a status
    # changes only through a transition) are for the application's sessions.
    session.info[_WORKFLOW_UNCHECKED] = True
    # No app context stays pushed here: requests must each get their own (and their own g).
    with unscoped(session):
        yield session
    session.close()
    state.session_factory = original
    transaction.rollback()
    connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def org_factory(db):
    return lambda kind="reseller", **fields: factories.make_org(db, kind, **fields)


@pytest.fixture
def user_factory(db):
    return lambda org, role=None, **fields: factories.make_user(db, org, role, **fields)


@pytest.fixture
def vendor(db):
    return factories.vendor_org(db)


def _record_factory(build):
    """A fixture returning ``build`` with the arranging session already passed (the
    ``org_factory`` pattern)."""

    @pytest.fixture
    def fixture(db):
        return functools.partial(build, db)

    fixture.__doc__ = build.__doc__
    return fixture


lead_factory = _record_factory(factories.make_lead)
offer_factory = _record_factory(factories.make_offer)
shared_lead_factory = _record_factory(factories.make_shared_lead)
deal_factory = _record_factory(factories.make_deal)
quote_factory = _record_factory(factories.make_quote)
case_factory = _record_factory(factories.make_case)
article_factory = _record_factory(factories.make_article)
idea_factory = _record_factory(factories.make_idea)
campaign_factory = _record_factory(factories.make_campaign)


@pytest.fixture
def client_as(app):
    """``client_as(user)``: a test client of its own, signed in as ``user`` through the real
    sign-in form. Each call gives a new client, so one test can hold several people signed in
    at once. It does not ask for ``db`` itself: a test whose people are committed for real
    (races) has no rolled-back transaction to share. ``app=`` signs in to another instance of
    the app instead (one built with other settings, sharing the test's database)."""

    default_app = app

    def sign_in(user, password: str = factories.PASSWORD, app=None):
        browser = (app or default_app).test_client()
        response = browser.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return browser

    return sign_in


__all__ = ["portal_db"]
