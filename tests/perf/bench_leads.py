"""Benchmark: the channel's long lists — the lead list at 1,000 and at 100,000 leads, the deal
registration list and the channel manager's review queue at 100 and at 10,000 registrations — and
their throughput against a bare Flask list page.

Run from the project root (not collected by pytest)::

    .venv/bin/python -m tests.perf.bench_leads [--leads 100000] [--small 1000]
        [--registrations 10000] [--requests 600] [--clients 4] [--postgres-scratch-url postgresql+psycopg://.../test_x]

One run:

1. builds a fresh SQLite database in a temporary directory (migrations + the demo world) and
   adds ``--small`` generated leads (some offered to the demo partners) and a tenth as many
   deal registrations (a third waiting for review, one in 25 flagged as a possible conflict);
2. in-process (Flask test client), for a set of list pages (first page, next page, a page deep
   in the list, filters, a text search, the company order, a partner's list, the API), counts the
   SQL statements each issues and times it;
3. grows the tables to ``--leads`` leads and ``--registrations`` registrations and does the same
   again: the statement counts must be equal (else the run fails) and no statement on ``leads``
   or ``deal_registrations`` may count rows or skip by OFFSET;
4. serves the portal (``wsgi:app``) and a bare Flask list page (this module's ``bare_list_app``:
   the 25 newest leads read with ``sqlite3`` and written out as an HTML table, no templates, no
   ORM, no sign-in) with gunicorn under identical settings, signs in as the demo channel manager,
   and sends ``--requests`` GETs to each of the bare page, the lead list and the review queue, in
   rounds that alternate; prints requests/s, latency percentiles and the portal/bare ratios;
5. with ``--postgres-scratch-url`` (a database whose name starts with ``test``: its schema is
   dropped and rebuilt), repeats steps 1–3 on PostgreSQL, running as an ordinary role under
   row-level security like the test suite.

Everything is written under a temporary directory (and, if asked, the scratch PostgreSQL
database); all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask

BARE_DB_ENV = "BENCH_LEADS_SQLITE"
STAFF_EMAIL = "channel@northwind.example"
PARTNER_EMAIL = "admin@alpine.example"
PORTAL_PATH = "/leads/"
REVIEW_PATH = "/deals/review"
PORTAL_MARKER = 'rel="next"'
BARE_MARKER = "Bare lead list"
COUNTRIES = (
    "DE",
    "AT",
    "CH",
    "FR",
    "NL",
    "GB",
    "IE",
    "US",
    "CA",
    "NO",
    "SE",
    "DK",
    "FI",
    "IT",
    "ES",
    "PT",
    "PL",
    "CZ",
    "BE",
    "JP",
)
WORDS = (
    "Alpha",
    "Nordic",
    "Blue",
    "Granite",
    "Summit",
    "Harbor",
    "Vertex",
    "Cedar",
    "Orbit",
    "Pioneer",
    "Silver",
    "Delta",
    "Lumen",
    "Quartz",
    "Falcon",
    "Maple",
    "Atlas",
    "Beacon",
)
SUFFIXES = ("GmbH", "Ltd", "Inc", "SA", "AG", "BV", "Oy", "AS", "SpA", "Kft")
LINES = ("networking", "security", "cloud", "collaboration", "storage", "services")


# --- the baseline: a bare Flask list page (gunicorn imports it as tests.perf.bench_leads) ------


def _bare_list_app() -> Flask:
    app = Flask("bare_lead_list")

    @app.get("/")
    def index():
        connection = sqlite3.connect(os.environ[BARE_DB_ENV])
        try:
            rows = connection.execute(
                "SELECT id, company, country, product_line, status FROM leads "
                "ORDER BY id DESC LIMIT 25"
            ).fetchall()
        finally:
            connection.close()
        cells = "".join(
            f"<tr><td><a href='/leads/{i}'>{html.escape(c)}</a></td><td>{k}</td><td>{p}</td>"
            f"<td>{s}</td></tr>"
            for i, c, k, p, s in rows
        )
        return (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Leads</title>"
            f"</head><body><h1>{BARE_MARKER}</h1><table>{cells}</table>"
            f"<a rel='next' href='/?after={rows[-1][0] if rows else 0}'>Next</a></body></html>"
        )

    return app


bare_list_app = _bare_list_app()


# --- data ------------------------------------------------------------------------------------


def add_leads(app, total: int, seed: int = 7) -> int:
    """Grow the leads table to ``total`` generated leads (plus the demo's); 1 in 100 is offered
    to a demo reseller. Written with Core statements: this is set-up, not what is measured."""
    from sqlalchemy import func, insert, select

    from partners.leads.models import Lead, LeadOffer
    from portal.db import db
    from portal.identity.models import Organization

    rng = random.Random(seed)
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT set_config('app.scope', 'all', true)")
        have = conn.scalar(select(func.count()).select_from(Lead).where(Lead.source == "bench"))
        vendor_id = conn.scalar(select(Organization.id).where(Organization.kind == "vendor"))
        partners = conn.scalars(
            select(Organization.id).where(Organization.kind.in_(("reseller", "distributor")))
        ).all()
        now = datetime.now(UTC)
        rows, offered = [], []
        for n in range(have, total):
            offered_now = n % 100 == 0
            company = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIXES)} {n}"
            rows.append(
                {
                    "org_id": vendor_id,
                    "company": company,
                    "contact_name": f"Contact {n}",
                    "email": f"contact{n}@{company.split()[0].lower()}{n}.example",
                    "phone": "",
                    "country": rng.choice(COUNTRIES),
                    "product_line": rng.choice(LINES),
                    "source": "bench",
                    "status": "offered"
                    if offered_now
                    else rng.choice(("new",) * 8 + ("won", "lost")),
                    "notes": "",
                    "created_at": now - timedelta(seconds=total - n),
                    "version": 1,
                }
            )
            offered.append(offered_now)
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            ids = conn.scalars(
                insert(Lead).returning(Lead.id, sort_by_parameter_order=True), chunk
            ).all()
            offers = [
                {
                    "org_id": rng.choice(partners),
                    "lead_id": lead_id,
                    "status": "offered",
                    "offered_at": now,
                    "respond_by": now + timedelta(days=3),
                    "decline_reason": "",
                    "reason": "bench",
                    "version": 1,
                }
                for lead_id, is_offered in zip(ids, offered[start : start + 5000], strict=True)
                if is_offered
            ]
            if offers:
                conn.execute(insert(LeadOffer), offers)
        total = conn.scalar(select(func.count()).select_from(Lead))
    analyze(app)
    return total


def add_registrations(app, total: int, seed: int = 11) -> int:
    """Grow the deal registrations to ``total`` generated ones (plus the demo's), spread over the
    demo resellers: a third submitted (the review queue), the rest in the other states; one in 25
    submitted is flagged as a possible conflict with the one before it. Core statements (set-up)."""
    from decimal import Decimal

    from sqlalchemy import func, insert, select

    from partners.deals.models import DealConflict, DealRegistration
    from portal.db import db
    from portal.identity.models import Organization

    rng = random.Random(seed)
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT set_config('app.scope', 'all', true)")
        have = conn.scalar(
            select(func.count())
            .select_from(DealRegistration)
            .where(DealRegistration.number.like("BR-%"))
        )
        vendor_id = conn.scalar(select(Organization.id).where(Organization.kind == "vendor"))
        partners = conn.scalars(
            select(Organization.id).where(Organization.kind.in_(("reseller", "distributor")))
        ).all()
        now = datetime.now(UTC)
        rows = []
        for n in range(have, total):
            status = (
                "submitted"
                if n % 3 == 0
                else rng.choice(
                    ("draft", "approved", "rejected", "won", "lost", "expired", "info_requested")
                )
            )
            company = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIXES)} {n}"
            submitted = now - timedelta(minutes=total - n)
            rows.append(
                {
                    "org_id": rng.choice(partners),
                    "number": f"BR-{n:07d}",
                    "customer_name": company,
                    "customer_name_key": company.lower(),
                    "customer_domain": f"{company.split()[0].lower()}{n}.com",
                    "products": ["networking"],
                    "value": Decimal(rng.randrange(1_000, 500_000)),
                    "currency": "EUR",
                    "expected_close": (now + timedelta(days=60)).date(),
                    "status": status,
                    "created_at": submitted,
                    "submitted_at": None if status == "draft" else submitted,
                    "expires_at": now + timedelta(days=90) if status == "approved" else None,
                    "version": 1,
                }
            )
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            ids = conn.scalars(
                insert(DealRegistration).returning(
                    DealRegistration.id, sort_by_parameter_order=True
                ),
                chunk,
            ).all()
            flagged = [
                {
                    "org_id": vendor_id,
                    "registration_id": b,
                    "other_registration_id": a,
                    "kind": "name",
                    "score": 91,
                    "found_at": now,
                }
                for (a, _), (b, row) in zip(
                    zip(ids, chunk, strict=True),
                    zip(ids[1:], chunk[1:], strict=True),
                    strict=False,
                )
                if row["status"] == "submitted" and b % 25 == 0
            ]
            if flagged:
                conn.execute(insert(DealConflict), flagged)
        total = conn.scalar(select(func.count()).select_from(DealRegistration))
    from partners.analytics.models import DealDirtyDay

    took = rebuild_rollup(app, DealDirtyDay, "deal_figures")
    print(f"  channel figures rebuilt by the tick in {took:.2f} s", flush=True)
    analyze(app)
    return total


def rebuild_rollup(app, dirty, tick: str) -> float:
    """Generated rows are inserted without the ORM, so no listener marked their days: mark every
    day in ``dirty`` (as the migration that made a rollup leaves for an existing install's first
    tick) and run the ``tick`` that computes the daily figures; its seconds."""
    from sqlalchemy import insert

    from portal import jobs
    from portal.db import db, unscoped

    with app.app_context():
        with unscoped(db.session):
            db.session.execute(insert(dirty), [{"day": None}])
        db.session.commit()
        started = time.perf_counter()
        jobs.run_periodic([tick])
        return time.perf_counter() - started


def analyze(app) -> None:
    """Planner statistics after a bulk load, as autovacuum (or a DBA) would leave them; on
    PostgreSQL also the visibility map (``VACUUM``), without which no index-only scan skips the
    table, as none would on a live database that autovacuum keeps. As the tables' owner: the
    app's ordinary role may not ANALYZE them."""
    from portal.engine import make_engine

    engine = make_engine(app.config["DATABASE_URL"], isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            conn.exec_driver_sql("VACUUM ANALYZE" if postgres else "ANALYZE")
    finally:
        engine.dispose()
    # A SQLite connection reads the statistics when it opens: the app's pooled ones, opened
    # before, would plan without them (a worker's are recycled within the hour).
    app.extensions["db"].engine.dispose()


# --- in-process figures ----------------------------------------------------------------------


@dataclass
class PageFigure:
    name: str
    statements: int
    ms: float
    rows: int


def _client(app, email: str, password: str):
    from tests.perf.bench_authenticated_page import BenchmarkError, csrf_token_in

    client = app.test_client()
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    if response.status_code != 302:
        raise BenchmarkError(f"in-process sign-in of {email} failed: {response.status_code}")
    return client


def _api_headers(app, email: str) -> dict:
    """A bearer token for ``email`` with every leads scope, written straight to the database."""
    import secrets

    from sqlalchemy import select

    from portal.clock import utcnow
    from portal.db import db, unscoped
    from portal.identity.models import User
    from portal.identity.tokens import hash_token
    from portal.oauth.models import OAuthClient, OAuthToken

    raw = secrets.token_urlsafe(24)
    with app.app_context(), unscoped():
        user = db.session.scalar(select(User).where(User.email == email))
        client = OAuthClient(
            org_id=user.org_id,
            client_id=f"bench-{secrets.token_hex(4)}",
            name="bench",
            secret_hash=hash_token("x"),
            redirect_uris=[],
            scopes="leads:read leads:write",
        )
        db.session.add(client)
        db.session.flush()
        db.session.add(
            OAuthToken(
                org_id=user.org_id,
                client_pk=client.id,
                user_id=user.id,
                access_token_hash=hash_token(raw),
                scope="leads:read",
                expires_at=utcnow() + timedelta(hours=2),
            )
        )
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def page_figures(app, password: str, repeat: int) -> list[PageFigure]:
    """Statements and ms per request of each list page, after one warm-up request each."""
    from sqlalchemy import event, func, select

    from partners.leads.models import Lead
    from portal.db import db, unscoped
    from portal.keyset import encode_cursor
    from tests.perf.bench_authenticated_page import BenchmarkError

    staff = _client(app, STAFF_EMAIL, password)
    partner = _client(app, PARTNER_EMAIL, password)
    api_headers = _api_headers(app, PARTNER_EMAIL)
    with app.app_context(), unscoped():
        low, high = db.session.execute(select(func.min(Lead.id), func.max(Lead.id))).one()

    def next_of(path: str) -> str:
        page = staff.get(path).get_data(as_text=True)
        return page.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")

    next_path = next_of(PORTAL_PATH)
    deep = encode_cursor("newest", [low + (high - low) // 50])  # 98 % of the way down
    pages = [
        ("vendor, first page", staff, PORTAL_PATH, {}),
        ("vendor, next page", staff, next_path, {}),
        ("vendor, page 98% deep", staff, f"{PORTAL_PATH}?after={deep}", {}),
        ("vendor, status+country", staff, f"{PORTAL_PATH}?status=new&country=DE", {}),
        ("vendor, product line", staff, f"{PORTAL_PATH}?product_line=storage", {}),
        ("vendor, company order", staff, f"{PORTAL_PATH}?sort=company", {}),
        ("vendor, search (common)", staff, f"{PORTAL_PATH}?q=granite", {}),
        ("vendor, search (rare)", staff, f"{PORTAL_PATH}?q=contact123%40", {}),
        ("partner, its leads", partner, PORTAL_PATH, {}),
        ("partner, API list", app.test_client(), "/api/v1/leads?limit=25", api_headers),
        ("vendor, registrations", staff, "/deals/", {}),
        ("vendor, registrations p2", staff, next_of("/deals/"), {}),
        ("vendor, registrations won", staff, "/deals/?status=won", {}),
        ("vendor, review queue", staff, REVIEW_PATH, {}),
        ("vendor, review queue p2", staff, next_of(REVIEW_PATH), {}),
        ("partner, its deals", partner, "/deals/", {}),
    ]
    engine = app.extensions["db"].engine
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    figures = []
    for name, client, path, headers in pages:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise BenchmarkError(f"{name}: GET {path} answered {response.status_code}")
        event.listen(engine, "before_cursor_execute", count)
        try:
            seen.clear()
            body = client.get(path, headers=headers).get_data(as_text=True)
            statements = list(seen)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        for statement in statements:
            upper = statement.upper()
            big = "FROM LEADS" in upper or "FROM DEAL_REGISTRATIONS" in upper
            # "OFFSET %": an offset given (PostgreSQL's placeholder); SQLite always says "OFFSET ?"
            # A page may count a row's conflicts, never the rows of a whole list.
            counts_list = upper.lstrip().startswith("SELECT COUNT(")
            if big and (counts_list or "OFFSET %" in upper):
                raise BenchmarkError(f"{name}: a statement counts or skips rows: {statement}")
        rows = (
            body.count('"company"')
            if path.startswith("/api/")
            else body.count("/deals/")
            if path.startswith("/deals")
            else body.count("/leads/")
        )
        started = time.perf_counter()
        for _ in range(repeat):
            client.get(path, headers=headers)
        ms = (time.perf_counter() - started) / repeat * 1000
        figures.append(PageFigure(name, len(statements), ms, rows))
    return figures


def compare(small: list[PageFigure], large: list[PageFigure], small_n: str, large_n: str) -> None:
    from tests.perf.bench_authenticated_page import BenchmarkError

    print(f"\n  {'page':<26} {'statements':>17}   {'ms/request':>21}")
    print(
        f"  {'(leads/registrations)':<26} {small_n:>8} {large_n:>8}   {small_n:>10} {large_n:>10}"
    )
    differ = []
    for a, b in zip(small, large, strict=True):
        print(f"  {a.name:<26} {a.statements:>8} {b.statements:>8}   {a.ms:>10.2f} {b.ms:>10.2f}")
        if a.statements != b.statements:
            differ.append(a.name)
    if differ:
        raise BenchmarkError(f"statements per page grew with the data: {differ}")
    print("  statements per page: the same at both sizes, for every page")


def run_sizes(app, args, password: str) -> list[PageFigure]:
    def grow(leads: int, registrations: int) -> str:
        started = time.perf_counter()
        leads = add_leads(app, leads)
        registrations = add_registrations(app, registrations)
        print(
            f"  {leads:,} leads, {registrations:,} registrations "
            f"(written in {time.perf_counter() - started:.1f} s)"
        )
        return f"{leads / 1000:.0f}k/{registrations / 1000:.1f}k"

    small_n = grow(args.small, max(10, args.small // 10))
    small = page_figures(app, password, args.in_process)
    large_n = grow(args.leads, args.registrations)
    large = page_figures(app, password, args.in_process)
    compare(small, large, small_n, large_n)
    return large


def sqlite_demo_app(directory: str):
    """The portal on a fresh SQLite file in ``directory`` (migrations, then the demo world), its
    settings also in this process's environment. Returns the app and the database URL."""
    from portal.app import create_app
    from tests.perf import bench_authenticated_page as base

    url = f"sqlite:///{Path(directory) / 'portal.sqlite3'}"
    os.environ.update(base.prepare_environment(url))
    app = create_app()
    quiet()
    print(f"\nSQLite: migrated and seeded ({base.build_database(app)} demo rows)")
    return app, url


def postgres_demo_app(url: str):
    """The portal on a scratch PostgreSQL database (its name must start with ``test``: the schema
    is dropped and rebuilt by the migrations) with the demo world, running as an ordinary role
    under row-level security like the test suite. Returns the app and the role."""
    from sqlalchemy.engine import make_url

    from portal.app import create_app
    from portal.seed import seed_demo_world
    from tests.conftest import reset_schema

    if not (make_url(url).database or "").startswith("test"):
        raise SystemExit("the scratch database's name must start with test")
    role = reset_schema(url)
    app = create_app({"DATABASE_URL": url, "DATABASE_ROLE": role, "PORTAL_ENV": "development"})
    quiet()
    with app.app_context():
        seed_demo_world()
    return app, role


def quiet() -> None:
    """The demo world's emails are logged in full without SMTP: not benchmark output."""
    import logging

    logging.getLogger("portal").setLevel(logging.WARNING)


# --- main ------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000, help="leads in the large run")
    parser.add_argument("--small", type=int, default=1_000, help="leads in the small run")
    parser.add_argument(
        "--registrations", type=int, default=10_000, help="deal registrations in the large run"
    )
    parser.add_argument("--requests", type=int, default=600, help="timed HTTP GETs per server")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--in-process", type=int, default=30, help="requests per page timed")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument(
        "--postgres-scratch-url",
        default=None,
        help="also measure on this PostgreSQL database (name must start with "
        "'test'; its schema is dropped)",
    )
    args = parser.parse_args(argv)
    if not 10 <= args.small < args.leads <= 1_000_000:
        parser.error("need 10 <= --small < --leads <= 1,000,000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tests.perf import bench_authenticated_page as base

    deadline = time.monotonic() + args.max_seconds
    run_started = time.perf_counter()
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); {base.load_average()}")
    with tempfile.TemporaryDirectory(prefix="portal-bench-leads-") as tmp:
        tmp_dir = Path(tmp)
        sqlite_path = tmp_dir / "portal.sqlite3"
        database_url = f"sqlite:///{sqlite_path}"
        env = base.prepare_environment(database_url)
        env[BARE_DB_ENV] = str(sqlite_path)
        os.environ.update({k: env[k] for k in ("PORTAL_ENV", "DATABASE_URL")})
        for name in base.UNSAFE_ENV:
            os.environ.pop(name, None)

        from portal.app import create_app
        from portal.seed import DEMO_PASSWORD

        app = create_app()
        quiet()
        created = base.build_database(app)
        print(f"\nSQLite {database_url}: migrated and seeded ({created} demo rows)")
        run_sizes(app, args, DEMO_PASSWORD)
        app.extensions["db"].engine.dispose()

        settings = base.ServerSettings("sync", args.workers, 4)
        print(f"\nHTTP: {settings.describe()}, both servers on 127.0.0.1, {args.leads:,} leads")
        portal = base.start_server("portal", "wsgi:app", settings, env, tmp_dir)
        servers = [portal]
        with base.serving(servers):
            bare = base.start_server(
                "bare", "tests.perf.bench_leads:bare_list_app", settings, env, tmp_dir
            )
            servers.append(bare)
            base.wait_until_ready(portal, "/healthz")
            base.wait_until_ready(bare, "/")
            sessions = [_http_session(portal.base_url, DEMO_PASSWORD) for _ in range(args.clients)]
            import requests

            bare_sessions = [requests.Session() for _ in range(args.clients)]
            loads = [
                base.Load("bare", bare, "/", BARE_MARKER, bare_sessions, deadline),
                base.Load("lead list", portal, PORTAL_PATH, PORTAL_MARKER, sessions, deadline),
                base.Load("review queue", portal, REVIEW_PATH, PORTAL_MARKER, sessions, deadline),
            ]
            for load in loads:
                load.warm_up(args.warmup)
            for round_number in range(args.rounds):
                count = args.requests // args.rounds + (
                    1 if round_number < args.requests % args.rounds else 0
                )
                for load in loads:
                    load.timed(count)
            for session in sessions + bare_sessions:
                session.close()
        bare_result = loads[0].result
        print(
            f"  GET / (bare list), {PORTAL_PATH} and {REVIEW_PATH} as {STAFF_EMAIL}, "
            f"{args.requests} each over {args.clients} client threads:"
        )
        for load in loads:
            base.print_load(load.result)
        for load in loads[1:]:
            result = load.result
            print(
                f"\n  {load.name}: throughput ratio portal/bare list page "
                f"{result.rps / bare_result.rps:.3f} "
                f"({bare_result.rps / result.rps:.1f}x fewer requests/s); "
                f"p50 latency {result.p(50) / bare_result.p(50):.1f}x"
            )
            if result.server_cpu_s and bare_result.server_cpu_s:
                print(
                    "  server CPU per request ratio portal/bare: "
                    f"{result.server_cpu_s / bare_result.server_cpu_s:.1f}x"
                )

    if args.postgres_scratch_url:
        run_postgres(args, args.postgres_scratch_url)
    print(f"\nDone in {time.perf_counter() - run_started:.1f} s")
    return 0


def _http_session(base_url: str, password: str):
    import requests

    from tests.perf.bench_authenticated_page import REQUEST_TIMEOUT, BenchmarkError, csrf_token_in

    session = requests.Session()
    page = session.get(base_url + "/login", timeout=REQUEST_TIMEOUT)
    response = session.post(
        base_url + "/login",
        data={"email": STAFF_EMAIL, "password": password, "csrf_token": csrf_token_in(page.text)},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )
    if response.status_code != 302:
        raise BenchmarkError(f"sign-in of {STAFF_EMAIL} failed: {response.status_code}")
    return session


def run_postgres(args, url: str) -> None:
    from sqlalchemy.engine import make_url

    from tests.perf.bench_authenticated_page import BenchmarkError

    name = make_url(url).database or ""
    if not name.startswith("test"):
        raise BenchmarkError(f"refusing to drop the schema of {name!r}: use a scratch test_* db")
    from portal.seed import DEMO_PASSWORD

    app, role = postgres_demo_app(url)
    print(
        f"\nPostgreSQL {make_url(url).render_as_string(hide_password=True)} "
        f"(as role {role}, row-level security on)"
    )
    with_jit = run_sizes(app, args, DEMO_PASSWORD)
    # The row-level security policies make the planner's cost estimates of a scan of a large
    # table high enough to pass jit_above_cost, and compiling then costs more than running.
    # The same pages with JIT off, for comparison (set on this scratch database, then reset).
    from portal.engine import make_engine

    owner = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with owner.connect() as conn:
            if conn.exec_driver_sql("SHOW jit").scalar() != "on":
                return
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET jit = off')
        app.extensions["db"].engine.dispose()  # new connections pick the setting up
        without = page_figures(app, DEMO_PASSWORD, args.in_process)
        print(f"\n  {'page':<26} {'ms/request, ' + format(args.leads, ',') + ' leads':>30}")
        print(f"  {'':<26} {'JIT on':>14} {'JIT off':>14}")
        for a, b in zip(with_jit, without, strict=True):
            print(f"  {a.name:<26} {a.ms:>14.2f} {b.ms:>14.2f}")
    finally:
        with owner.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" RESET jit')
        owner.dispose()
        app.extensions["db"].engine.dispose()


if __name__ == "__main__":
    from tests.perf.bench_authenticated_page import BenchmarkError

    try:
        sys.exit(main())
    except BenchmarkError as error:
        print(f"\nBENCHMARK FAILED: {error}", file=sys.stderr)
        sys.exit(1)
