"""Benchmark: the busiest pages of each audience against a bare Flask list page, served the same
way, at 100,000 leads and 200,000 cases.

Run from the project root (not collected by pytest; ``make bench`` runs it)::

    .venv/bin/python -m tests.perf.bench_pages [--leads 100000] [--cases 200000] [--orgs 2000]
        [--seconds 6] [--clients 4] [--workers 2] [--rss-requests 10000]
        [--postgres-scratch-url postgresql+psycopg://postgres@127.0.0.1:5432/test_x]

One run:

1. builds a fresh database (SQLite in a temporary directory, or with ``--postgres-scratch-url``
   a scratch PostgreSQL database whose name starts with ``test``: its schema is dropped) with the
   demo world, ``--orgs`` more customer organisations, ``--leads`` leads and ``--cases`` cases
   (the builders of ``bench_leads`` and ``bench_selfservice``);
2. in-process (Flask test client), counts the SQL statements of each page (a
   ``before_cursor_execute`` listener on the app's engine) at the demo's size and at full size,
   and fails if a count grew with the rows;
3. serves the portal (``wsgi:app`` plus two pages: ``FLOOR_PATH``, the signed-in layout with
   nothing in it, what every signed-in page costs before its content; and ``SIGNED_IN_PATH``, an
   empty answer to a signed-in request, what signing in costs without the layout) and the bare
   list page
   (``bare_list_app`` below: Flask + SQLAlchemy Core + a Jinja template listing the 50 newest of
   the leads, no sign-in) with gunicorn, same settings (default 2 ``sync`` workers);
4. for each page, one signed-in ``requests.Session`` per client thread (``--clients``), GETs the
   portal page for ``--seconds``, then the bare page for ``--seconds`` with the same client code:
   requests/s of each and the ratio; every answer must be a 200 (no redirect);
5. sends more portal requests until its workers have answered ``--rss-requests`` in all, and
   reads each worker's resident memory (``VmRSS``, /proc);
6. prints the table (with each page's "content / bare": what it costs a request over the floor,
   as a multiple of the whole bare page's cost), stops both servers and removes the temporary
   directory.

All traffic goes to 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

BARE_URL_ENV = "BENCH_PAGES_DATABASE_URL"
AGENT = "support@northwind.example"
CHANNEL = "channel@northwind.example"
RESELLER = "admin@alpine.example"
CUSTOMER = "lee@granite.example"
FLOOR_PATH = "/bench/layout"  # served by ``portal_with_floor`` only
SIGNED_IN_PATH = "/bench/signed-in"  # likewise
# (page, signed in as, kind): the busiest list page of each audience, the home pages, the
# organisation page, and the floors: the signed-in layout with nothing in it, and a signed-in
# request answered with nothing at all.
PAGES = (
    ("/cases/queue", AGENT, "list"),
    ("/leads/", CHANNEL, "list"),
    ("/deals/", RESELLER, "list"),
    ("/cases/", CUSTOMER, "list"),
    ("/help/report", AGENT, "list"),
    ("/home", CHANNEL, "home"),
    ("/home", RESELLER, "home"),
    ("/home", CUSTOMER, "home"),
    ("/organizations/mine", RESELLER, "organisation"),
    (FLOOR_PATH, CHANNEL, "floor"),
    (SIGNED_IN_PATH, CHANNEL, "signed-in"),
)
MAX_STATEMENTS = 8
MAX_RSS_MB = 150
MIN_RATIO = 0.6
LOAD_TIMEOUT = 60.0  # seconds per request under load (a busy shared machine is slow, not broken)


# --- the baseline: Flask + SQLAlchemy + Jinja, 50 rows of the leads (gunicorn imports it) ------

BARE_TEMPLATE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Leads</title>
</head><body><h1>Bare lead list</h1><table>
{% for row in rows %}<tr><td><a href="/leads/{{ row.id }}">{{ row.company }}</a></td>
<td>{{ row.country }}</td><td>{{ row.product_line }}</td><td>{{ row.status }}</td></tr>
{% endfor %}</table>{% if rows %}<a rel="next" href="/?after={{ rows[-1].id }}">Next</a>{% endif %}
</body></html>"""


def _bare_list_app() -> Flask:
    from flask import render_template, request
    from jinja2 import DictLoader
    from sqlalchemy import create_engine, text

    app = Flask("bare_list_page")
    # A template by name, compiled once and kept as Flask keeps a template file's
    # (``render_template_string`` compiled it again on every request: 2-3 ms of the bare page's
    # 4 ms of CPU, which made the portal look closer to it than it is).
    app.jinja_loader = DictLoader({"leads.html": BARE_TEMPLATE})
    engines = {}

    @app.get("/")
    def index():
        if "engine" not in engines:
            engines["engine"] = create_engine(os.environ[BARE_URL_ENV])
        after = request.args.get("after", type=int)
        query = "SELECT id, company, country, product_line, status FROM leads"
        if after:
            query += " WHERE id < :after"
        with engines["engine"].connect() as conn:
            rows = conn.execute(text(query + " ORDER BY id DESC LIMIT 50"), {"after": after}).all()
        return render_template("leads.html", rows=rows)

    return app


bare_list_app = _bare_list_app()


# --- the floors: the portal with two more pages, signed in, with nothing in them ---------------


def portal_with_floor() -> Flask:
    """The portal as ``wsgi:app`` serves it, plus two pages. ``FLOOR_PATH``: the base layout,
    signed in, with an empty content block, what any signed-in page costs before its own content
    (the session, the principal, CSRF, the security headers, the language, the layout), so the
    table shows how near to the bare list page a signed-in page can come at all.
    ``SIGNED_IN_PATH``: an empty answer to a signed-in request, the same without the layout.
    gunicorn calls this factory (``tests.perf.bench_pages:portal_with_floor()``); nothing else
    serves the two routes."""
    from portal.app import create_app

    return add_floor(create_app())


def add_floor(app: Flask) -> Flask:
    from flask import render_template
    from flask_login import login_required

    @app.get(FLOOR_PATH)
    @login_required
    def layout_floor():
        return render_template("base.html")

    @app.get(SIGNED_IN_PATH)
    @login_required
    def signed_in_floor():
        return ""

    return app


# --- data ------------------------------------------------------------------------------------


def add_organisations(app, count: int) -> int:
    """``count`` more customer organisations, a third of them managed by a demo partner (Core
    inserts: set-up, not measured). Returns how many organisations there are."""
    from sqlalchemy import func, insert, select

    from portal.clock import utcnow
    from portal.db import db
    from portal.identity.models import Organization

    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT set_config('app.scope', 'all', true)")
        partners = conn.scalars(
            select(Organization.id).where(Organization.kind.in_(("reseller", "distributor")))
        ).all()
        now = utcnow()
        rows = [
            {
                "name": f"Bench customer {n:05d}",
                "kind": "customer",
                "managed_by_id": partners[n % len(partners)] if n % 3 == 0 else None,
                "active": True,
                "created_at": now,
                "version": 1,
            }
            for n in range(count)
        ]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Organization), rows[start : start + 5000])
        return conn.scalar(select(func.count()).select_from(Organization))


def build(app, args) -> str:
    from tests.perf.bench_leads import add_leads, analyze
    from tests.perf.bench_selfservice import add_cases

    started = time.perf_counter()
    orgs = add_organisations(app, args.orgs)
    leads = add_leads(app, args.leads)
    add_cases(app, args.cases)
    analyze(app)
    took = time.perf_counter() - started
    return f"{orgs:,} organisations, {leads:,} leads, {args.cases:,}+ cases ({took:.0f} s)"


# --- in-process statement counts ---------------------------------------------------------------


def _signed_in_client(app, email: str, password: str):
    from tests.perf.bench_leads import _client

    return _client(app, email, password)


def statement_counts(app, password: str) -> dict[tuple[str, str], tuple[str, int]]:
    """The path and SQL statements of one GET of each page (after one warm-up request), per
    (page, user)."""
    from sqlalchemy import event

    from tests.perf.bench_authenticated_page import BenchmarkError

    clients = {}
    engine = app.extensions["db"].engine
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    counts = {}
    for original, email, _kind in PAGES:
        path = original
        if email not in clients:
            clients[email] = _signed_in_client(app, email, password)
        client = clients[email]
        response = client.get(path)
        if response.status_code == 302 and path.endswith("/mine"):  # the page is the org's own
            path = response.headers["Location"].split("#")[0]
            response = client.get(path)
        if response.status_code != 200:
            raise BenchmarkError(f"GET {path} as {email} answered {response.status_code}")
        event.listen(engine, "before_cursor_execute", count)
        try:
            seen.clear()
            client.get(path)
            counts[(original, email)] = (path, len(seen))
        finally:
            event.remove(engine, "before_cursor_execute", count)
    return counts


# --- HTTP load -----------------------------------------------------------------------------


def _sign_in(base_url: str, email: str, password: str):
    import requests

    from tests.perf.bench_authenticated_page import REQUEST_TIMEOUT, BenchmarkError, csrf_token_in

    session = requests.Session()
    page = session.get(base_url + "/login", timeout=REQUEST_TIMEOUT)
    response = session.post(
        base_url + "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token_in(page.text)},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )
    if response.status_code != 302:
        raise BenchmarkError(f"sign-in of {email} failed: {response.status_code}")
    return session


def drive(url: str, sessions: list, seconds: float, max_requests: int = 1_000_000) -> float:
    """GET ``url`` from one thread per session for ``seconds`` (or until ``max_requests``);
    requests per second. Every answer must be a 200."""
    from tests.perf.bench_authenticated_page import BenchmarkError

    done = [0] * len(sessions)
    errors: list[str] = []
    lock = threading.Lock()
    sent = [0]
    start = threading.Barrier(len(sessions) + 1)
    stop_at = [0.0]

    def worker(index: int) -> None:
        session = sessions[index]
        try:
            start.wait()
            while time.perf_counter() < stop_at[0]:
                with lock:
                    if sent[0] >= max_requests:
                        return
                    sent[0] += 1
                response = session.get(url, allow_redirects=False, timeout=LOAD_TIMEOUT)
                if response.status_code != 200:
                    raise BenchmarkError(f"GET {url} answered {response.status_code}")
                done[index] += 1
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(sessions))
    ]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 2 * LOAD_TIMEOUT)
    took = time.perf_counter() - began
    if errors:
        raise BenchmarkError(f"{len(errors)} client thread(s) failed; first: {errors[0]}")
    return sum(done) / took


def worker_rss_mb(master_pid: int) -> list[float]:
    from tests.perf.bench_authenticated_page import _children

    sizes = []
    for pid in _children(master_pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
    return sizes


@dataclass
class Row:
    path: str
    email: str
    kind: str
    statements_small: int
    statements: int
    portal_rps: float = 0.0
    bare_rps: float = 0.0

    @property
    def ratio(self) -> float:
        return self.portal_rps / self.bare_rps if self.bare_rps else 0.0

    def content_to_bare(self, floor: Row) -> float | None:
        """What this page costs over the floor (the signed-in layout alone), per request, as a
        multiple of what the whole bare page costs: its own content against bare's 50 rows."""
        if not (self.portal_rps and floor.portal_rps and self.bare_rps):
            return None
        return (1 / self.portal_rps - 1 / floor.portal_rps) * self.bare_rps


def serve_and_measure(args, env: dict, tmp_dir: Path, rows: list[Row], password: str) -> list:
    import requests

    from tests.perf import bench_authenticated_page as base

    settings = base.ServerSettings("sync", args.workers, 4)
    print(f"\nHTTP: {settings.describe()}, both servers on 127.0.0.1, {args.clients} clients")
    portal = base.start_server(
        "portal", "tests.perf.bench_pages:portal_with_floor()", settings, env, tmp_dir
    )
    servers = [portal]
    with base.serving(servers):
        bare = base.start_server(
            "bare", "tests.perf.bench_pages:bare_list_app", settings, env, tmp_dir
        )
        servers.append(bare)
        base.wait_until_ready(portal, "/healthz")
        base.wait_until_ready(bare, "/")
        sessions = {
            email: [_sign_in(portal.base_url, email, password) for _ in range(args.clients)]
            for email in {row.email for row in rows}
        }
        bare_sessions = [requests.Session() for _ in range(args.clients)]
        sent = 0
        for row in rows:
            url = portal.base_url + row.path
            drive(url, sessions[row.email], 1.0)  # warm-up
            drive(bare.base_url + "/", bare_sessions, 1.0)
            row.portal_rps = drive(url, sessions[row.email], args.seconds)
            row.bare_rps = drive(bare.base_url + "/", bare_sessions, args.seconds)
            sent += int(row.portal_rps * args.seconds) + int(row.portal_rps)
            print(
                f"  {row.path:<20} {row.email:<28} portal {row.portal_rps:7.1f} req/s   "
                f"bare {row.bare_rps:7.1f} req/s   ratio {row.ratio:.2f}",
                flush=True,
            )
        # Top up to --rss-requests portal requests in all, over the list pages.
        lists = [row for row in rows if row.kind == "list"]
        index = 0
        deadline = time.monotonic() + args.max_rss_seconds
        while sent < args.rss_requests and time.monotonic() < deadline:
            row = lists[index % len(lists)]
            index += 1
            want = min(500, args.rss_requests - sent)
            rate = drive(portal.base_url + row.path, sessions[row.email], 30.0, want)
            sent += want
            del rate
        rss = worker_rss_mb(portal.process.pid)
        sizes = ", ".join(f"{m:.0f} MB" for m in rss)
        print(f"  portal requests sent: about {sent:,}; worker RSS: {sizes}")
        for group in list(sessions.values()) + [bare_sessions]:
            for session in group:
                session.close()
    return rss


def print_table(title: str, rows: list[Row], rss: list[float]) -> None:
    who = {
        AGENT: "support agent",
        CHANNEL: "channel manager",
        RESELLER: "reseller",
        CUSTOMER: "customer",
    }
    floor = next((row for row in rows if row.kind == "floor"), None)
    print(f"\n{title}\n")
    print(
        "| page | signed in as | portal req/s | bare req/s | ratio | content / bare "
        "| SQL statements | RSS after |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rss_text = " / ".join(f"{m:.0f}" for m in rss) + " MB" if rss else "n/a"
    for row in rows:
        statements = (
            f"{row.statements}"
            if row.statements == row.statements_small
            else f"{row.statements_small} → {row.statements} (grew)"
        )
        content = (
            row.content_to_bare(floor)
            if floor is not None and row.kind not in ("floor", "signed-in")
            else None
        )
        print(
            f"| {row.path} | {who[row.email]} | {row.portal_rps:.0f} | {row.bare_rps:.0f} | "
            f"{row.ratio:.2f} | {'' if content is None else f'{content:.2f}'} | {statements} "
            f"| {rss_text} |"
        )
    lists = [row for row in rows if row.kind == "list"]
    checks = {
        f"every list page ≥ {MIN_RATIO}× bare": all(r.ratio >= MIN_RATIO for r in lists),
        f"every list page ≤ {MAX_STATEMENTS} statements": all(
            r.statements <= MAX_STATEMENTS for r in lists
        ),
        "statements do not grow with the rows": all(
            r.statements == r.statements_small for r in rows
        ),
        f"worker RSS < {MAX_RSS_MB} MB": bool(rss) and max(rss) < MAX_RSS_MB,
    }
    print()
    for name, met in checks.items():
        print(f"  {'met    ' if met else 'NOT met'}  {name}")
    for row in rows:
        if row.kind == "floor":
            print(
                f"  the signed-in layout alone ({row.path}, nothing in it) serves {row.ratio:.2f}× "
                "the bare list page: no signed-in page can do better"
            )
        if row.kind == "signed-in":
            print(
                f"  an empty answer to a signed-in request ({row.path}, no layout) serves "
                f"{row.ratio:.2f}× the bare list page"
            )


def run(args, app, env: dict, tmp_dir: Path, label: str, built: bool = False) -> None:
    from portal.seed import DEMO_PASSWORD

    add_floor(app)  # the in-process counts read the floor page too
    if built:  # a database kept from an earlier run: no small size to compare with
        print("  the data of an earlier run (--database): statement growth not checked")
        large = small = statement_counts(app, DEMO_PASSWORD)
    else:
        small = statement_counts(app, DEMO_PASSWORD)
        print(f"  {build(app, args)}", flush=True)
        large = statement_counts(app, DEMO_PASSWORD)
    app.extensions["db"].engine.dispose()
    rows = [
        Row(large[(path, email)][0], email, kind, small[(path, email)][1], large[(path, email)][1])
        for path, email, kind in PAGES
    ]
    rss = serve_and_measure(args, env, tmp_dir, rows, DEMO_PASSWORD)
    print_table(label, rows, rss)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--orgs", type=int, default=2_000, help="customer organisations added")
    parser.add_argument("--seconds", type=float, default=6.0, help="timed seconds per page")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rss-requests", type=int, default=10_000)
    parser.add_argument("--max-rss-seconds", type=float, default=180.0)
    parser.add_argument(
        "--database",
        default=None,
        help="a directory to build the SQLite database in and keep it; one built there "
        "before is used as it is (saves minutes of building when comparing two versions)",
    )
    parser.add_argument("--postgres-scratch-url", default=None)
    parser.add_argument("--skip-sqlite", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tests.perf import bench_authenticated_page as base
    from tests.perf.bench_leads import postgres_demo_app, quiet, sqlite_demo_app

    base.STARTUP_TIMEOUT = 120.0  # a busy 2-core machine: the portal's import takes a while
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); {base.load_average()}")
    started = time.perf_counter()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="portal-bench-pages-") as tmp:
            kept = Path(args.database).resolve() if args.database else None
            built = kept is not None and (kept / "portal.sqlite3").exists()
            if built:
                from portal.app import create_app

                url = f"sqlite:///{kept / 'portal.sqlite3'}"
                os.environ.update(base.prepare_environment(url))
                app = create_app()
                quiet()
                from portal import migrate
                from portal.db import db

                with app.app_context(), db.engine.begin() as connection:
                    migrate.upgrade(connection)  # the code may have new migrations since
                    # ...or a migration edited since it ran here (work in progress): add the
                    # tables it now creates
                    from portal.db import Base

                    Base.metadata.create_all(connection, checkfirst=True)
            else:
                if kept is not None:
                    kept.mkdir(parents=True, exist_ok=True)
                app, url = sqlite_demo_app(str(kept or tmp))
            env = base.prepare_environment(url)
            env[BARE_URL_ENV] = url
            run(args, app, env, Path(tmp), "SQLite", built)
    if args.postgres_scratch_url:
        url = args.postgres_scratch_url
        app, role = postgres_demo_app(url)
        print(f"\nPostgreSQL (role {role}, row-level security on)")
        with tempfile.TemporaryDirectory(prefix="portal-bench-pages-pg-") as tmp:
            env = base.prepare_environment(url)
            env["DATABASE_ROLE"] = role
            env[BARE_URL_ENV] = url
            run(args, app, env, Path(tmp), "PostgreSQL")
    print(f"\nDone in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    from tests.perf.bench_authenticated_page import BenchmarkError

    try:
        sys.exit(main())
    except BenchmarkError as error:
        print(f"\nBENCHMARK FAILED: {error}", file=sys.stderr)
        sys.exit(1)
