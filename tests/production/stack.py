"""The production shape on loopback, as real processes: Redis, gunicorn app servers, RQ workers
and the tick, each a subprocess with its own log; an SMTP receiver that can hold a delivery in
the middle of its exchange; and a visitor's HTTP client that posts forms with their CSRF tokens.

A kill reaches all of a process: its process group and everything it started (a gunicorn
master and its workers, an RQ worker and the work horse it forks for each job). Every wait is a
poll with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import requests
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import create_engine, text

from portal.config import ENVIRONMENT_KEYS, PROJECT_ROOT
from tests.conftest import Mailbox, free_port

LOOPBACK = "127.0.0.1"
HTTP_TIMEOUT = 15.0  # seconds, per request: pages come from loopback
START_TIMEOUT = 40.0  # seconds for a process to answer (two shared cores, cold imports)
# The outbox lease of the processes (OUTBOX_LEASE_SECONDS): a delivery cut off mid-send is
# retried by the tick this soon after it was claimed. A delivery gives SMTP half of it, so a
# held exchange stays held for 4 s: time enough for the test to kill the worker first.
OUTBOX_LEASE_SECONDS = 8
CSRF_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
FORM_ERROR = re.compile(r'class="(?:invalid-feedback|alert alert-danger)[^"]*"[^>]*>\s*([^<]+)')


def form_errors(response: requests.Response) -> str:
    """What a refused form says (for an assertion's message), or the status and start."""
    found = [e.strip() for e in FORM_ERROR.findall(response.text)]
    return f"{response.status_code}: {found or response.text[:300]}"


def wait_until(check: Callable[[], object], what: str, timeout: float = 20.0, every=0.1):
    """Poll ``check`` until it returns something true (which is returned), for at most
    ``timeout`` seconds. An exception counts as "not yet" and is named if time runs out."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = check()
        except Exception as error:  # noqa: BLE001 - a server not up yet refuses, times out...
            result, last_error = None, error
        if result:
            return result
        if time.monotonic() > deadline:
            because = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}{because}")
        time.sleep(every)


class Process:
    """One subprocess of the stack, its output appended to ``log_path``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {self.name} starts: {' '.join(self.argv)}\n".encode())
            self.popen = subprocess.Popen(
                self.argv,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: see kill()
            )
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the process, its process group and every process it started (an RQ work
        horse runs in a session of its own): nothing of it gets to clean up, as when the machine
        under it dies."""
        if self.popen is None:
            return
        descendants = _descendants(self.popen.pid)
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for pid in descendants:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def tail(self, lines: int = 150) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(no log: {error})"
        return "\n".join(text.splitlines()[-lines:])


def _descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, ValueError, IndexError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        started = children.get(todo.pop(), [])
        found += started
        todo += started
    return found


class HoldingMailbox(Mailbox):
    """The loopback SMTP receiver, which can hold a delivery: once ``hold(address)`` is called,
    a client that names ``address`` as a recipient waits for its answer to RCPT until
    ``release()``. A sender held there is mid-send and nothing has been accepted yet."""

    def __init__(self) -> None:
        super().__init__()
        self.holding: str | None = None
        self.held = threading.Event()  # a client is waiting at RCPT
        self.released = threading.Event()
        self.port: int | None = None  # the receiver's, once it listens

    def hold(self, address: str) -> None:
        self.held.clear()
        self.released.clear()
        self.holding = address

    def release(self) -> None:
        self.holding = None
        self.released.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.holding:
            self.held.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def containing(self, address: str, text: str) -> list:
        """The messages to ``address`` whose body holds ``text``."""
        return [m for m in self.to(address) if text in m.get_body().get_content()]


def portal_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any portal setting, plus ``settings``: what the stack's
    processes see, so nothing of the developer's shell (a REDIS_URL, a DATABASE_URL) leaks in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ENVIRONMENT_KEYS
        and key != "TEST_DATABASE_URL"
        and not key.startswith(("FLASK_", "PG"))
    }
    return {**env, "PYTHONUNBUFFERED": "1", **settings}


class Stack:
    """The portal's processes around one database: ``start_redis``, ``start_app`` (two app
    servers, ``a`` and ``b``, each on a port of its own kept across restarts), ``start_worker``
    and ``tick``. ``stop`` kills whatever still runs."""

    APPS = ("a", "b")

    def __init__(self, log_dir: Path, database_url: str, role: str, smtp_port: int) -> None:
        self.log_dir = log_dir
        self.redis_port = free_port()
        self.app_ports = {name: free_port() for name in self.APPS}
        self.processes: dict[str, Process] = {}
        self.worker: Process | None = None  # the newest worker
        self.workers = 0
        # The test's own look at the database: the server's superuser, whom no policy binds.
        self.database = create_engine(database_url)
        self.env = portal_environment(
            PORTAL_ENV="production",
            # The scenarios break processes, not sign-in: their support agent signs in with a
            # password alone (the second factor production asks of vendor staff is tested in
            # tests/integration/test_second_factor.py).
            SECOND_FACTOR_FOR_VENDOR_STAFF="0",
            SECRET_KEY=secrets.token_urlsafe(48),
            DATABASE_URL=database_url,
            DATABASE_ROLE=role,
            REDIS_URL=f"redis://{LOOPBACK}:{self.redis_port}/0",
            SMTP_URL=f"smtp://{LOOPBACK}:{smtp_port}",
            BASE_URL=self.url("a"),
            OUTBOX_LEASE_SECONDS=str(OUTBOX_LEASE_SECONDS),
        )

    def url(self, app: str, path: str = "") -> str:
        return f"http://{LOOPBACK}:{self.app_ports[app]}{path}"

    def _start(self, name: str, argv: list[str], **env: str) -> Process:
        process = Process(name, argv, {**self.env, **env}, self.log_dir / f"{name}.log")
        self.processes[name] = process
        return process.start()

    def rows(self, sql: str, **params) -> list:
        """Run one statement in a transaction of its own (committed); the rows it returns."""
        with self.database.begin() as connection:
            return list(connection.execute(text(sql), params))

    # Redis -----------------------------------------------------------------------------------

    def redis(self) -> Redis:
        return Redis(port=self.redis_port, socket_connect_timeout=1, socket_timeout=2)

    def redis_answers(self) -> bool:
        try:
            return self.redis().ping()
        except RedisError:
            return False

    def start_redis(self) -> Process:
        """A Redis of the test's own that keeps nothing on disk: stopped, it comes back empty."""
        argv = ["redis-server", "--port", str(self.redis_port), "--bind", LOOPBACK]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.log_dir)]
        process = self._start("redis", argv)
        wait_until(self.redis_answers, "Redis to answer PING", START_TIMEOUT)
        return process

    # App servers -------------------------------------------------------------------------------

    def start_app(self, app: str, wait: bool = True) -> Process:
        """``gunicorn wsgi:app`` on the app's port: one worker with four threads. Its database
        connections carry the application name ``portal-<app>`` (pg_stat_activity)."""
        argv = [sys.executable, "-m", "gunicorn", "wsgi:app"]
        argv += ["--bind", f"{LOOPBACK}:{self.app_ports[app]}", "--workers", "1", "--threads", "4"]
        argv += ["--timeout", "30", "--access-logfile", "-", "--error-logfile", "-"]
        argv += ["--no-control-socket"]  # its default path is one for every gunicorn of the user
        process = self._start(f"app-{app}", argv, PGAPPNAME=f"portal-{app}")
        if wait:
            self.wait_app(app)
        return process

    def wait_app(self, app: str) -> None:
        wait_until(
            lambda: requests.get(self.url(app, "/login"), timeout=2).status_code == 200,
            f"app server {app} to answer /login",
            START_TIMEOUT,
            every=0.25,
        )

    # Workers and the tick ----------------------------------------------------------------------

    def start_worker(self, wait: bool = True) -> Process:
        """``flask --app wsgi worker``, numbered: worker-1, worker-2..."""
        self.workers += 1
        name = f"worker-{self.workers}"
        argv = [sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
        process = self.worker = self._start(name, argv, PGAPPNAME=f"portal-{name}")
        if wait:
            self.wait_worker(process)
        return process

    def wait_worker(self, process: Process) -> None:
        """Until the worker has registered in Redis (it then listens to the queue)."""
        from rq import Worker

        def registered() -> bool:
            assert process.running(), f"{process.name} exited:\n{process.tail()}"
            return any(w.pid == process.pid for w in Worker.all(connection=self.redis()))

        wait_until(registered, f"{process.name} to register in Redis", START_TIMEOUT, every=0.25)

    def tick(self) -> str:
        """``flask --app wsgi tick`` once, as cron would run it; its output."""
        argv = [sys.executable, "-m", "flask", "--app", "wsgi", "tick"]
        env = {**self.env, "PGAPPNAME": "portal-tick"}
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 - our own command line
            argv, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=90
        )
        took = time.monotonic() - started
        with (self.log_dir / "tick.log").open("a") as log:
            log.write(f"\n=== tick (exit {done.returncode}, {took:.1f} s)\n")
            log.write(done.stdout + done.stderr)
        assert done.returncode == 0, f"tick failed:\n{done.stdout}{done.stderr}"
        return done.stdout

    def revive(self) -> None:
        """Start again whatever a scenario left dead (a scenario that failed half-way too)."""
        if not self.processes["redis"].running():
            self.start_redis()
        for app in self.APPS:
            if not self.processes[f"app-{app}"].running():
                self.start_app(app)
        if not self.worker.running():
            self.start_worker()

    def outbox_settled(self) -> bool:
        """No email waits to be sent or is being sent."""
        return not self.rows(
            "SELECT id FROM outbox_messages WHERE status IN ('pending', 'sending')"
        )

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill()
        self.database.dispose()

    def logs(self) -> dict[str, str]:
        """The end of every process's log, the tick's included."""
        logs = {p.name: p.tail() for p in self.processes.values()}
        tick_log = self.log_dir / "tick.log"
        if tick_log.exists():
            logs["tick"] = "\n".join(tick_log.read_text().splitlines()[-80:])
        return logs


class Visitor:
    """Someone with a browser: a requests.Session that posts forms with the CSRF token of the
    page they are on. Redirects are not followed, so every answer is checked as it comes.

    Production sets the session cookie ``Secure``, and a client sends such a cookie only over
    https: the test stands where the TLS-terminating proxy would, so the cookies it keeps are
    sent over loopback http."""

    def __init__(self, email: str, password: str) -> None:
        self.email, self.password = email, password
        self.http = requests.Session()

    def _received(self, response: requests.Response) -> requests.Response:
        for cookie in self.http.cookies:
            cookie.secure = False
        return response

    def get(self, url: str) -> requests.Response:
        return self._received(self.http.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT))

    def csrf_token(self, page_url: str) -> str:
        page = self.get(page_url)
        assert page.status_code == 200, f"GET {page_url}: {page.status_code}"
        found = CSRF_TOKEN.search(page.text)
        assert found, f"no CSRF token on {page_url}"
        return found.group(1)

    def post_form(self, page_url: str, action_url: str, data: dict, files=None, **kwargs):
        """Open ``page_url`` and submit its form to ``action_url``, as a person would."""
        data = {**data, "csrf_token": self.csrf_token(page_url)}
        response = self.http.post(
            action_url,
            data=data,
            files=files,
            allow_redirects=False,
            timeout=kwargs.pop("timeout", HTTP_TIMEOUT),
            **kwargs,
        )
        return self._received(response)

    def sign_in(self, base_url: str, password: str | None = None) -> requests.Response:
        login = f"{base_url}/login"
        data = {"email": self.email, "password": password or self.password}
        return self.post_form(login, login, data)
