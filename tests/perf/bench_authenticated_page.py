"""Benchmark: the signed-in partner home page (GET /home) against a bare Flask route.

Run from the project root::

    /work/venv/bin/python -m tests.perf.bench_authenticated_page [--requests 1000] [--clients 4]

One run does all of this and prints figures:

1. builds a fresh SQLite database in a temporary directory (migrations + the demo world);
2. counts, in-process (Flask test client), the SQL statements one GET /home issues and times
   /home and the bare route without any HTTP in between;
3. serves the real portal (``wsgi:app``) and the baseline (``tests.perf.bare_app:app``) with
   gunicorn, identical settings, each on a free port of 127.0.0.1;
4. signs in through /login once per client thread (each thread has its own requests.Session),
   warms up, then sends a bounded number of GET requests to each server in rounds that
   alternate bare and portal, checks every response (200, and "Partner home" in the portal's
   page, never a redirect), and prints requests/s, latency percentiles, server and client CPU
   per request, and the portal/bare ratios;
5. stops both gunicorn masters (also on failure or Ctrl-C) and deletes the temporary directory.

All traffic goes to 127.0.0.1. Nothing outside the temporary directory is written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
DEMO_EMAIL = "admin@alpine.example"
PORTAL_PATH = "/home"
PORTAL_MARKER = "Partner home"
BARE_PATH = "/"
REQUEST_TIMEOUT = 10.0  # seconds, per HTTP request
STARTUP_TIMEOUT = 30.0  # seconds, for a gunicorn server to answer
# Settings the portal reads from the environment that could send traffic off this machine or
# change the mode: the benchmark removes them from the servers' environment.
UNSAFE_ENV = ("REDIS_URL", "SMTP_URL", "TEST_DATABASE_URL", "SERVER_NAME")


class BenchmarkError(RuntimeError):
    """Something the benchmark checks went wrong; the run is void."""


# --- helpers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class _CsrfFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("name") == "csrf_token" and self.token is None:
            self.token = attributes.get("value")


def csrf_token_in(html: str) -> str:
    finder = _CsrfFinder()
    finder.feed(html)
    if not finder.token:
        raise BenchmarkError("no csrf_token hidden field in the sign-in page")
    return finder.token


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return 100


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc); empty where /proc is not available."""
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        return [int(p) for p in children_file.read_text().split()]
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def process_tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` and its direct children (gunicorn master + workers),
    or None where /proc cannot tell."""
    total = 0
    try:
        for proc in [pid, *_children(pid)]:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    except (OSError, ValueError, IndexError):
        return None
    return total / _clock_ticks()


# --- database and in-process figures ---------------------------------------------------------


def prepare_environment(database_url: str) -> dict[str, str]:
    """The environment for this process's portal app and for both gunicorn servers."""
    env = {k: v for k, v in os.environ.items() if k not in UNSAFE_ENV}
    # Development mode: production sets Secure, __Host- cookies, which a client does not send back
    # over plain HTTP to 127.0.0.1. The per-request code path of /home is the same.
    env["PORTAL_ENV"] = "development"
    env["DATABASE_URL"] = database_url
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    return env


def build_database(app) -> int:
    from portal import migrate
    from portal.db import db
    from portal.seed import seed_demo_world

    with app.app_context():
        with db.engine.begin() as connection:
            migrate.upgrade(connection)
        return seed_demo_world()


def sign_in_test_client(app, password: str):
    client = app.test_client()
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": DEMO_EMAIL, "password": password, "csrf_token": token}
    )
    if response.status_code != 302 or response.headers.get("Location") != PORTAL_PATH:
        raise BenchmarkError(
            f"in-process sign-in failed: {response.status_code} {response.headers.get('Location')}"
        )
    return client


@dataclass
class InProcessFigures:
    statements: list[str]
    portal_ms: float
    bare_ms: float
    page_bytes: int


def in_process_figures(app, password: str, repeat: int) -> InProcessFigures:
    """SQL statements of one GET /home, and ms per request without HTTP or gunicorn."""
    from sqlalchemy import event

    from tests.perf import bare_app

    client = sign_in_test_client(app, password)
    engine = app.extensions["db"].engine
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    def home() -> bytes:
        response = client.get(PORTAL_PATH)
        body = response.get_data()
        if response.status_code != 200 or PORTAL_MARKER.encode() not in body:
            raise BenchmarkError(f"in-process GET {PORTAL_PATH}: {response.status_code}")
        return body

    home()  # first request: template compilation, SQL compile cache
    event.listen(engine, "before_cursor_execute", count)
    try:
        counts = []
        for _ in range(3):
            seen.clear()
            body = home()
            counts.append(len(seen))
        statements = list(seen)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if len(set(counts)) != 1:
        print(f"  note: statement count varied between requests: {counts}")

    started = time.perf_counter()
    for _ in range(repeat):
        home()
    portal_ms = (time.perf_counter() - started) / repeat * 1000

    bare_client = bare_app.app.test_client()
    bare_client.get(BARE_PATH)
    started = time.perf_counter()
    for _ in range(repeat):
        if bare_client.get(BARE_PATH).status_code != 200:
            raise BenchmarkError("in-process bare route did not answer 200")
    bare_ms = (time.perf_counter() - started) / repeat * 1000
    return InProcessFigures(statements, portal_ms, bare_ms, len(body))


# --- gunicorn --------------------------------------------------------------------------------


@dataclass
class ServerSettings:
    worker_class: str
    workers: int
    threads: int

    def args(self) -> list[str]:
        args = ["--workers", str(self.workers), "--worker-class", self.worker_class]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads)]
        return args + ["--timeout", "30", "--graceful-timeout", "5", "--log-level", "warning"]

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn, {self.workers} '{self.worker_class}' workers{threads}, no preload"


@dataclass
class Server:
    name: str
    app_spec: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def start_server(
    name: str, app_spec: str, settings: ServerSettings, env: dict[str, str], log_dir: Path
) -> Server:
    port = free_port()
    log_path = log_dir / f"{name}-gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{HOST}:{port}",
        "--chdir",
        str(PROJECT_ROOT),
        *settings.args(),
        app_spec,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(name, app_spec, port, process, log_path)


def wait_until_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchmarkError(
                f"{server.name} gunicorn exited with {server.process.returncode}:"
                f"\n{server.log_tail()}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.base_url + path, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchmarkError(
        f"{server.name} did not answer within {STARTUP_TIMEOUT:.0f}s:\n{server.log_tail()}"
    )


def stop_server(server: Server) -> None:
    """Stop one gunicorn master we started (SIGTERM, then SIGKILL after 10 s)."""
    process = server.process
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextlib.contextmanager
def serving(servers: list[Server]) -> Iterator[None]:
    try:
        yield
    finally:
        for server in servers:
            stop_server(server)


# --- load ------------------------------------------------------------------------------------


def signed_in_session(base_url: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base_url + "/login", timeout=REQUEST_TIMEOUT)
    if page.status_code != 200:
        raise BenchmarkError(f"GET /login answered {page.status_code}")
    response = session.post(
        base_url + "/login",
        data={"email": DEMO_EMAIL, "password": password, "csrf_token": csrf_token_in(page.text)},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )
    if response.status_code != 302 or response.headers.get("Location") != PORTAL_PATH:
        raise BenchmarkError(
            f"sign-in through /login failed: {response.status_code} "
            f"{response.headers.get('Location')}"
        )
    return session


@dataclass
class LoadResult:
    name: str
    requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    server_cpu_s: float | None = 0.0
    client_cpu_s: float = 0.0
    response_bytes: int = 0
    round_rps: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def p(self, pct: float) -> float:
        return percentile(sorted(self.latencies_ms), pct)


class Load:
    """GET one path of one server from one thread per signed-in session; checks every answer
    (200, no redirect, marker text present) and adds the timed phases up in ``result``."""

    def __init__(
        self,
        name: str,
        server: Server,
        path: str,
        marker: str,
        sessions: list[requests.Session],
        deadline: float,
    ) -> None:
        self.name, self.server, self.path = name, server, path
        self.url = server.base_url + path
        self.marker = marker
        self.sessions = sessions
        self.deadline = deadline
        self.result = LoadResult(name)

    def _fetch(self, session: requests.Session) -> tuple[float, int]:
        started = time.perf_counter()
        response = session.get(self.url, allow_redirects=False, timeout=REQUEST_TIMEOUT)
        body = response.content
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise BenchmarkError(
                f"{self.name}: GET {self.path} answered {response.status_code} "
                f"{response.headers.get('Location', '')}"
            )
        if self.marker.encode() not in body:
            raise BenchmarkError(
                f"{self.name}: GET {self.path} answered 200 without {self.marker!r}"
            )
        return elapsed, len(body)

    def _phase(self, count: int) -> tuple[float, list[float], int]:
        """``count`` requests split over the client threads; (seconds, latencies ms, body size)."""
        clients = len(self.sessions)
        errors: list[str] = []
        latencies: list[list[float]] = [[] for _ in self.sessions]
        sizes = [0] * clients
        start = threading.Barrier(clients + 1)

        def worker(index: int) -> None:
            try:
                start.wait()
                for _ in range(count // clients + (1 if index < count % clients else 0)):
                    if time.monotonic() > self.deadline:
                        raise BenchmarkError(f"{self.name}: time budget exhausted")
                    elapsed, sizes[index] = self._fetch(self.sessions[index])
                    latencies[index].append(elapsed * 1000)
            except Exception as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(f"{type(exc).__name__}: {exc}")
                start.abort()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join(timeout=max(0.0, self.deadline - time.monotonic()) + REQUEST_TIMEOUT)
        took = time.perf_counter() - began
        if errors:
            raise BenchmarkError(f"{len(errors)} client thread(s) failed; first: {errors[0]}")
        if any(thread.is_alive() for thread in threads):
            raise BenchmarkError(f"{self.name}: client threads did not finish in time")
        flat = [x for per_thread in latencies for x in per_thread]
        if len(flat) != count:
            raise BenchmarkError(f"{self.name}: {len(flat)} responses, expected {count}")
        return took, flat, max(sizes, default=0)

    def warm_up(self, count: int) -> None:
        if count:
            self._phase(count)

    def timed(self, count: int) -> None:
        result = self.result
        cpu_before = process_tree_cpu_seconds(self.server.process.pid)
        client_before = time.process_time()
        seconds, latencies, size = self._phase(count)
        result.client_cpu_s += time.process_time() - client_before
        cpu_after = process_tree_cpu_seconds(self.server.process.pid)
        if result.server_cpu_s is not None and cpu_before is not None and cpu_after is not None:
            result.server_cpu_s += cpu_after - cpu_before
        else:
            result.server_cpu_s = None
        result.requests += count
        result.seconds += seconds
        result.latencies_ms.extend(latencies)
        result.response_bytes = size
        result.round_rps.append(count / seconds)


# --- report ----------------------------------------------------------------------------------


def print_load(result: LoadResult) -> None:
    def per_request(seconds: float) -> str:
        return f"{seconds / result.requests * 1000:6.2f}"

    server_cpu = (
        "     n/a" if result.server_cpu_s is None else f"{per_request(result.server_cpu_s)} ms"
    )
    print(
        f"  {result.name:<7} {result.rps:8.1f} req/s   p50 {result.p(50):6.2f} ms   "
        f"p95 {result.p(95):6.2f} ms   p99 {result.p(99):6.2f} ms   "
        f"max {max(result.latencies_ms):7.2f} ms"
        f"   server CPU/req {server_cpu}   client CPU/req {per_request(result.client_cpu_s)} ms"
        f"   body {result.response_bytes} B"
    )
    print(f"  {'':<7} req/s per round: " + ", ".join(f"{r:.0f}" for r in result.round_rps))


def load_average() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "load average n/a"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per server")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests per server first")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="timed requests are sent in this many rounds, alternating "
        "bare and portal (fairer on a busy machine)",
    )
    parser.add_argument(
        "--clients", type=int, default=4, help="client threads, each with its own signed-in session"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--in-process", type=int, default=200, help="requests per app for the in-process timing"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=110.0, help="give up (and fail) after this long"
    )
    args = parser.parse_args(argv)
    for name in ("requests", "rounds", "clients", "workers", "threads", "in_process"):
        if not 1 <= getattr(args, name) <= 20000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 20000")
    if args.rounds > args.requests:
        parser.error("--rounds cannot exceed --requests")
    if not 0 <= args.warmup <= 20000:
        parser.error("--warmup must be between 0 and 20000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    deadline = time.monotonic() + args.max_seconds
    run_started = time.perf_counter()
    settings = ServerSettings(args.worker_class, args.workers, args.threads)
    print(
        f"Python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); project {PROJECT_ROOT}; "
        f"{load_average()}"
    )

    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        tmp_dir = Path(tmp)
        database_url = f"sqlite:///{tmp_dir / 'portal.sqlite3'}"
        env = prepare_environment(database_url)
        os.environ.update({k: env[k] for k in ("PORTAL_ENV", "DATABASE_URL")})
        for name in UNSAFE_ENV:
            os.environ.pop(name, None)

        from portal.app import create_app
        from portal.seed import DEMO_PASSWORD
        from tests.perf import bare_app

        started = time.perf_counter()
        app = create_app()
        created = build_database(app)
        print(
            f"\nDatabase: {database_url}\n  migrated and seeded ({created} demo rows) in "
            f"{time.perf_counter() - started:.2f} s"
        )

        print(f"\nIn-process (Flask test client, no HTTP), {args.in_process} requests each:")
        figures = in_process_figures(app, DEMO_PASSWORD, args.in_process)
        app.extensions["db"].engine.dispose()
        print(
            f"  GET {PORTAL_PATH} issues {len(figures.statements)} SQL statements "
            f"(before_cursor_execute, after one warm-up request):"
        )
        for number, statement in enumerate(figures.statements, 1):
            print(f"    {number}. {statement[:150]}{' ...' if len(statement) > 150 else ''}")
        print(
            f"  portal {PORTAL_PATH}: {figures.portal_ms:.2f} ms/request "
            f"({figures.page_bytes} B page)"
        )
        print(f"  bare {BARE_PATH}:      {figures.bare_ms:.3f} ms/request")
        print(f"  ratio portal/bare in-process cost: {figures.portal_ms / figures.bare_ms:.1f}x")

        print(f"\nServers: {settings.describe()}, bound to {HOST}, same settings for both")
        portal = start_server("portal", "wsgi:app", settings, env, tmp_dir)
        servers = [portal]
        with serving(servers):
            bare = start_server("bare", "tests.perf.bare_app:app", settings, env, tmp_dir)
            servers.append(bare)
            wait_until_ready(portal, "/healthz")
            wait_until_ready(bare, BARE_PATH)
            for server in servers:
                print(
                    f"  {server.name:<6} {server.app_spec:<24} on {server.base_url} "
                    f"(gunicorn master pid {server.process.pid})"
                )

            portal_sessions, sign_in_ms = [], []
            for _ in range(args.clients):
                started = time.perf_counter()
                portal_sessions.append(signed_in_session(portal.base_url, DEMO_PASSWORD))
                sign_in_ms.append((time.perf_counter() - started) * 1000)
            print(
                f"\nSigned in {args.clients} sessions as {DEMO_EMAIL} through /login, "
                f"GET + POST each (argon2 verify inside; the first ones also warm the workers): "
                + ", ".join(f"{ms:.0f}" for ms in sign_in_ms)
                + " ms"
            )
            bare_sessions = [requests.Session() for _ in range(args.clients)]

            print(
                f"\nLoad: warm-up {args.warmup} GETs per server, then {args.requests} timed "
                f"GETs per server in {args.rounds} rounds alternating bare/portal, over "
                f"{args.clients} client threads (a requests.Session each); every response "
                f"checked: 200, no redirect, marker text present"
            )
            loads = [
                Load("bare", bare, BARE_PATH, bare_app.MARKER, bare_sessions, deadline),
                Load("portal", portal, PORTAL_PATH, PORTAL_MARKER, portal_sessions, deadline),
            ]
            for load in loads:
                load.warm_up(args.warmup)
            for round_number in range(args.rounds):
                count = args.requests // args.rounds + (
                    1 if round_number < args.requests % args.rounds else 0
                )
                for load in loads:
                    load.timed(count)
            for session in portal_sessions + bare_sessions:
                session.close()
        bare_result, portal_result = (load.result for load in loads)
        for result in (bare_result, portal_result):
            print_load(result)
        print(
            f"\n  throughput ratio portal/bare: {portal_result.rps / bare_result.rps:.3f} "
            f"({bare_result.rps / portal_result.rps:.1f}x fewer requests/s)"
        )
        print(f"  p50 latency ratio portal/bare: {portal_result.p(50) / bare_result.p(50):.1f}x")
        if portal_result.server_cpu_s and bare_result.server_cpu_s:
            print(
                f"  server CPU per request ratio portal/bare: "
                f"{portal_result.server_cpu_s / bare_result.server_cpu_s:.1f}x"
            )
        print(
            "  (client and servers share this machine's CPUs: the client's own cost caps "
            f"the bare figure; {load_average()})"
        )
        for server in servers:
            if server.process.returncode not in (0, None):
                print(f"  note: {server.name} gunicorn exited with {server.process.returncode}")
    print(f"\nServers stopped; total run time {time.perf_counter() - run_started:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchmarkError as error:
        print(f"\nBENCHMARK FAILED: {error}", file=sys.stderr)
        sys.exit(1)
