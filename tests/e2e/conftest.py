"""Browser fixtures: a live portal on loopback with the demo world, and Chromium driven by
Playwright.

The live server has its own database, never the rolled-back ``db`` of the other tests: a temporary
SQLite file, or, when ``TEST_DATABASE_URL`` names a PostgreSQL server, a separate database on that
server (created here and dropped afterwards, so the shared ``test`` database is left alone). Its
schema is built by the migrations and the demo world is seeded into it, once a run: each module's
server gets a copy of that database (a module whose settings change what the seed writes seeds its
own); on PostgreSQL the app connects as the suite's ordinary role, so row-level security applies.
CSRF protection is on: the browser goes through the same forms and tokens as a person would.

Chromium is the system one (``/usr/bin/chromium``); Playwright cannot download browsers here. When
it is missing the browser tests *fail* rather than skip, because CI treats a skipped browser test
as a failure anyway and a failure says why.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from portal.app import create_app
from portal.config import normalise_database_url
from portal.seed import seed_demo_world
from tests.conftest import APP_ROLE, reset_schema

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = "127.0.0.1"
# Every expect() and action waits at most this long. Pages come from loopback, but CI runs the
# SQLite and PostgreSQL suites side by side on two cores: 5 s was seen exceeded there by a
# sign-in (when the suite still hashed with argon2's real parameters). Speed is measured by the
# benchmarks (tests/perf), not by these waits.
EXPECT_TIMEOUT_MS = 10_000


def _e2e_database_name() -> str:
    # One database per xdist worker, should the suite ever run in parallel.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"portal_e2e_{worker}" if worker else "portal_e2e"


class _PostgresDatabase:
    """A database of its own on the server ``TEST_DATABASE_URL`` points at."""

    def __init__(self, server_url: str, name: str) -> None:
        self.admin_url = make_url(normalise_database_url(server_url))
        self.name = name
        self.url = self.admin_url.set(database=name).render_as_string(hide_password=False)

    def _run(self, statement: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()

    def create(self, template: str | None = None) -> None:
        """An empty database, or a copy of the database named ``template`` (which nobody may be
        connected to meanwhile)."""
        self.drop()  # what a crashed earlier run may have left
        copy = f' TEMPLATE "{template}"' if template else ""
        self._run(f'CREATE DATABASE "{self.name}"{copy}')

    def drop(self) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# Settings a module's server may add that the seed does not read: such a server starts from a copy
# of the seeded database. Any other setting (mail, the business calendar) may change what the seed
# writes, so a server given one migrates and seeds a database of its own.
SEED_NEUTRAL_SETTINGS = frozenset({"WEBHOOK_ALLOW_PRIVATE_TARGETS", "SSO_ALLOW_INSECURE_LOOPBACK"})


def _test_app(url: str, role: str | None, secret_key: str, **config):
    return create_app(
        {
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": secret_key,
            "DATABASE_URL": url,
            "DATABASE_ROLE": role,
            "WTF_CSRF_ENABLED": True,
            "SMTP_URL": None,
            "REDIS_URL": None,
            "SERVER_NAME": None,
            **config,
        }
    )


def _migrate_and_seed(url: str, secret_key: str, **config) -> str | None:
    """Build ``url``'s schema with the migrations and seed the demo world; returns the role the
    app runs as (on PostgreSQL)."""
    role = reset_schema(url)
    app = _test_app(url, role, secret_key, **config)
    try:
        with app.app_context():
            seed_demo_world()
    finally:
        app.extensions["db"].engine.dispose()
    return role


class _SeededTemplate:
    """The migrated and seeded demo world, built once a run on first use (a migration and a seed
    take 5-9 s, once per module before), and copied for each server that asks. A copy's world was
    seeded when the first module asked, minutes before its own tests run, not seconds."""

    def __init__(self) -> None:
        self.source: str | None = None  # a SQLite file's path, or a PostgreSQL database's name
        self.postgres: _PostgresDatabase | None = None

    def copy_to(self, tmp_path_factory, server_url: str | None, target) -> None:
        """Make ``target`` (a SQLite file's path, or a ``_PostgresDatabase``) a copy."""
        if self.source is None:
            if server_url is None:
                path = tmp_path_factory.mktemp("e2e-template") / "portal-e2e.sqlite3"
                _migrate_and_seed(f"sqlite:///{path}", "e2e-test-secret-template")
                self.source = str(path)
            else:
                self.postgres = _PostgresDatabase(server_url, f"{_e2e_database_name()}_template")
                self.postgres.create()
                _migrate_and_seed(self.postgres.url, "e2e-test-secret-template")
                self.source = self.postgres.name
        if server_url is None:
            # SQLite's backup API copies a consistent database, whatever its journal holds.
            with (
                closing(sqlite3.connect(self.source)) as source,
                closing(sqlite3.connect(target)) as copy,
            ):
                source.backup(copy)
        else:
            target.create(template=self.source)

    def drop(self) -> None:
        if self.postgres is not None:
            self.postgres.drop()


_seeded_template = _SeededTemplate()


@pytest.fixture(scope="session", autouse=True)
def _drop_seeded_template():
    yield
    _seeded_template.drop()


@contextmanager
def serve_portal(tmp_path_factory, name: str, **config) -> Iterator[str]:
    """The real app, migrated and seeded, served by Werkzeug on 127.0.0.1; yields its base URL
    (also set as the app's ``BASE_URL``). ``name`` keeps each module's database its own (a file,
    or a database of that name on the PostgreSQL server); ``config`` adds to the test settings."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url or server_url.startswith("sqlite"):
        server_url = None
    from_template = config.keys() <= SEED_NEUTRAL_SETTINGS
    postgres = None
    if server_url is not None:
        postgres = _PostgresDatabase(server_url, f"{_e2e_database_name()}{name}")
        url = postgres.url
        target = postgres
    else:
        target = tmp_path_factory.mktemp("e2e" + name) / "portal-e2e.sqlite3"
        url = f"sqlite:///{target}"

    server = thread = app = None
    try:
        secret_key = f"e2e-test-secret{name}"
        if from_template:
            _seeded_template.copy_to(tmp_path_factory, server_url, target)
            # On PostgreSQL the app runs as the ordinary role reset_schema granted the template's
            # tables to (the grants are copied with them), so row-level security binds the live
            # server's queries too, as it does the rest of the suite's.
            role = APP_ROLE if postgres is not None else None
        else:
            if postgres is not None:
                postgres.create()
            role = _migrate_and_seed(url, secret_key, **config)
        app = _test_app(url, role, secret_key, **config)
        assert app.config["WTF_CSRF_ENABLED"] is True
        server = make_server(LOOPBACK, 0, app, threaded=True)  # port 0: the OS picks a free one
        base_url = f"http://{LOOPBACK}:{server.server_port}"
        app.config["BASE_URL"] = base_url  # read per request; the port is known only now
        thread = threading.Thread(target=server.serve_forever, name=f"e2e{name}", daemon=True)
        thread.start()
        yield base_url
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        if app is not None:
            app.extensions["db"].engine.dispose()
        if postgres is not None:
            postgres.drop()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal every browser test module uses unless it serves one of its own."""
    with serve_portal(tmp_path_factory, "") as base_url:
        yield base_url


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need it "
            "(on Debian/Ubuntu: apt-get install chromium). Playwright cannot download browsers "
            "here; do not run `playwright install`.",
            pytrace=False,
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class BrowserLog:
    """What a page did that a user would not see: console errors, script errors, requests that
    left the machine, and requests that failed."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    checked: bool = False

    def problems(self) -> list[str]:
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"request to another host: {u}" for u in self.foreign_requests]
            + [f"failed request: {u}" for u in self.failed_requests]
        )

    def assert_clean(self) -> None:
        self.checked = True
        assert not self.problems(), "\n".join(self.problems())


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return parts.scheme in {"http", "https"} and parts.hostname == LOOPBACK


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@contextmanager
def watched_page(chromium, base_url: str, browser_log: BrowserLog, **context_options):
    """A fresh browser context (no cookies) and its page, watched by ``browser_log``: nothing
    may leave the machine, and console errors, script errors and failed requests are recorded
    (and checked at the end, should the test forget to look)."""
    context = chromium.new_context(
        base_url=base_url,
        viewport={"width": 1280, "height": 800},
        locale="en-GB",
        service_workers="block",
        **context_options,
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)

    def route(route_):
        # Nothing may leave the machine: record the attempt and refuse it, so an offline portal
        # fails here quickly instead of waiting for a CDN that is not there.
        url = route_.request.url
        if _is_local(url):
            route_.continue_()
        else:
            browser_log.foreign_requests.append(url)
            route_.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: (
            msg.type == "error"
            and browser_log.console_errors.append(f"{msg.text} ({msg.location.get('url')})")
        ),
    )
    page.on("pageerror", lambda error: browser_log.page_errors.append(str(error)))
    page.on("request", lambda request: browser_log.requests.append(request.url))
    page.on(
        "requestfailed",
        # ERR_ABORTED: the page was left before a stylesheet or script finished loading (a
        # click that navigates on a busy machine), which is the browser's choice, not a fault.
        lambda request: (
            _is_local(request.url)
            and "ERR_ABORTED" not in (request.failure or "")
            and browser_log.failed_requests.append(f"{request.url}: {request.failure}")
        ),
    )
    try:
        yield page
    finally:
        context.close()
    if not browser_log.checked:  # a safety net for a test that forgot to look
        browser_log.assert_clean()


@pytest.fixture
def page(chromium, live_server, browser_log):
    """A fresh browser context per test, watched by ``browser_log``."""
    with watched_page(chromium, live_server, browser_log) as page:
        yield page


@pytest.fixture
def axe_page(chromium, live_server, browser_log):
    """A page like ``page`` whose context ignores the portal's Content-Security-Policy, so that a
    test can inject axe-core: the policy (``script-src 'self'``) rightly refuses a script the
    portal does not serve."""
    with watched_page(chromium, live_server, browser_log, bypass_csp=True) as page:
        yield page
