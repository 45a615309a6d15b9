"""Benchmark: the agents' case queue and a customer's case list at ``--cases`` cases (default
200,000), search over ``--articles`` help-centre articles (default 20,000), and throughput
against a bare Flask list page.

Run from the project root (not collected by pytest)::

    .venv/bin/python -m tests.perf.bench_selfservice [--cases 200000] [--small 2000]
        [--articles 20000] [--requests 300]
        [--postgres-scratch-url postgresql+psycopg://postgres@127.0.0.1:5432/test_selfservice]

One run:

1. builds a fresh SQLite database in a temporary directory (migrations + the demo world) and
   adds ``--small`` generated cases;
2. in-process (Flask test client), for each page (the agent's queue: first page, next page,
   unassigned, breached; a customer user's list; a customer admin's list; a partner's list of its
   customers' cases; the API list), counts the SQL statements it issues and times it;
3. grows the cases to ``--cases`` and does the same: the statement counts must be equal, else
   the run fails;
4. adds ``--articles`` generated articles and times full-text searches (pages and the
   suggestion fragment), per query;
5. times ``--requests`` GETs of the queue and of a bare Flask list page (25 newest cases read
   with the DB-API and written out as HTML: no ORM, no templates, no sign-in), alternating, in
   the same process, and prints requests/s and the portal/bare ratio;
6. with ``--postgres-scratch-url`` (a database named test_*: its schema is dropped and rebuilt),
   repeats steps 1–4 on PostgreSQL as an ordinary role under row-level security.
"""

from __future__ import annotations

import argparse
import html
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask

AGENT = "support@northwind.example"
CUSTOMER_USER = "lee@granite.example"
CUSTOMER_ADMIN = "admin@granite.example"
PARTNER = "admin@alpine.example"
WORDS = (
    "printer",
    "vpn",
    "tunnel",
    "firewall",
    "switch",
    "licence",
    "invoice",
    "scanner",
    "dashboard",
    "wifi",
    "dhcp",
    "spooler",
    "firmware",
    "certificate",
    "backup",
    "restore",
    "sync",
    "agent",
    "install",
    "update",
    "timeout",
    "password",
    "sso",
    "laptop",
    "email",
    "calendar",
    "storage",
    "cluster",
    "replica",
    "latency",
    "packet",
    "loss",
    "upgrade",
)
SEARCHES = ("printer offline", "vpn tunnel drops", "licence", "firmware update switch",
            "password reset sso", "dhcp lease wifi", "zzzz nothing matches")  # fmt: skip


def _bare_app(database_url: str) -> Flask:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    app = Flask("bare_case_list")

    @app.get("/")
    def index():
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, number, subject, status FROM cases ORDER BY id DESC LIMIT 25")
            ).all()
        cells = "".join(
            f"<tr><td><a href='/cases/{i}'>{n}</a></td><td>{html.escape(s)}</td><td>{st}</td></tr>"
            for i, n, s, st in rows
        )
        return f"<!doctype html><html><body><h1>Cases</h1><table>{cells}</table></body></html>"

    app.engine = engine
    return app


# --- data ------------------------------------------------------------------------------------


def add_cases(app, total: int, seed: int = 11) -> int:
    """Grow the cases table to ``total`` generated cases (with one status change each), spread
    over the demo's customers and users; 15 % unresolved. Core inserts: set-up, not measured."""
    from sqlalchemy import func, select

    from portal.db import db, unscoped
    from portal.identity.models import Organization, User
    from selfservice.cases.models import Case, CaseStatusChange

    rng = random.Random(seed)
    with app.app_context():
        session = db.session
        with unscoped(session):
            have = session.scalar(select(func.count()).select_from(Case))
            start = session.scalar(select(func.max(Case.id))) or 0
            people = session.execute(
                select(User.id, User.org_id)
                .join(Organization, User.org_id == Organization.id)
                .where(Organization.kind == "customer")
            ).all()
            agents = list(session.scalars(select(User.id).where(User.role == "support_agent")))
        now = datetime.now(UTC)
        batch, changes = [], []
        for n in range(max(0, total - have)):
            case_id = start + n + 1
            user_id, org_id = rng.choice(people)
            status = rng.choices(
                ["new", "open", "pending", "on_hold", "solved", "closed"], [4, 6, 3, 2, 10, 75]
            )[0]
            created = now - timedelta(minutes=rng.randint(10, 60 * 24 * 700))
            resolved = status in ("solved", "closed")
            breached = not resolved and rng.random() < 0.2
            due = created + timedelta(hours=8)
            rank = 3 * 10**10 if resolved else int(due.timestamp()) + (0 if breached else 10**10)
            batch.append(
                {
                    "id": case_id,
                    "org_id": org_id,
                    "number": f"CS-B-{case_id:07d}",
                    "subject": " ".join(rng.choices(WORDS, k=5)).capitalize(),
                    "description": "Generated case.",
                    "requester_id": user_id,
                    "assignee_id": rng.choice(agents + [None]) if agents else None,
                    "product": "",
                    "category": "",
                    "priority": rng.choice(["low", "normal", "normal", "high", "urgent"]),
                    "status": status,
                    "created_at": created,
                    "updated_at": created,
                    "status_changed_at": created,
                    "solved_at": created if resolved else None,
                    "first_response_due_at": None if resolved else due,
                    "resolution_due_at": None if resolved else created + timedelta(hours=40),
                    "first_response_breached": breached,
                    "queue_rank": rank,
                    "resolution_breached": False,
                    "first_response_warned": False,
                    "resolution_warned": False,
                    "version": 1,
                }
            )
            changes.append({"org_id": org_id, "case_id": case_id, "status": status, "at": created})
            if len(batch) == 5000:
                _flush(app, Case, CaseStatusChange, batch, changes)
                batch, changes = [], []
        _flush(app, Case, CaseStatusChange, batch, changes)
        return total - have


def _flush(app, case_model, change_model, batch, changes) -> None:
    from sqlalchemy import insert

    from portal.db import db, unscoped

    if not batch:
        return
    with unscoped(db.session):
        db.session.execute(insert(case_model), batch)
        db.session.execute(insert(change_model), changes)
    db.session.commit()


def add_articles(app, total: int, seed: int = 5) -> int:
    from sqlalchemy import func, insert, select

    from portal.db import db, unscoped
    from selfservice.kb.models import AUDIENCES, Article

    rng = random.Random(seed)
    with app.app_context(), unscoped(db.session):
        have = db.session.scalar(select(func.count()).select_from(Article))
        now = datetime.now(UTC)
        rows = []
        for n in range(max(0, total - have)):
            words = rng.choices(WORDS, k=120)
            rows.append(
                {
                    "title": " ".join(rng.choices(WORDS, k=4)).capitalize() + f" ({n})",
                    "body": " ".join(words) + ".",
                    "audience": rng.choice(AUDIENCES),
                    "status": "published" if rng.random() < 0.9 else "draft",
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
            if len(rows) == 2000:
                db.session.execute(insert(Article), rows)
                rows = []
        if rows:
            db.session.execute(insert(Article), rows)
        db.session.commit()
        return total - have


# --- in-process figures ----------------------------------------------------------------------


@dataclass
class PageFigure:
    name: str
    statements: int
    ms: float


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
    import secrets
    from datetime import timedelta

    from sqlalchemy import select

    from portal import access
    from portal.db import db, unscoped
    from portal.identity.models import User
    from portal.identity.tokens import hash_token
    from portal.oauth.models import OAuthClient, OAuthToken

    raw = secrets.token_urlsafe(24)
    with app.app_context(), unscoped(db.session):
        user = db.session.scalar(select(User).where(User.email == email))
        client = db.session.scalar(select(OAuthClient).where(OAuthClient.org_id == user.org_id))
        if client is None:
            client = OAuthClient(
                org_id=user.org_id,
                client_id=f"bench-{secrets.token_hex(4)}",
                name="Benchmark client",
                secret_hash=hash_token(secrets.token_urlsafe(16)),
                redirect_uris=[],
                scopes=" ".join(access.SCOPES),
            )
            db.session.add(client)
            db.session.flush()
        db.session.add(
            OAuthToken(
                org_id=user.org_id,
                client_pk=client.id,
                user_id=user.id,
                access_token_hash=hash_token(raw),
                scope=" ".join(access.SCOPES),
                expires_at=datetime.now(UTC) + timedelta(hours=2),
            )
        )
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def measure(app, client, path: str, repeat: int, headers=None) -> tuple[int, float]:
    from sqlalchemy import event

    from tests.perf.bench_authenticated_page import BenchmarkError

    engine = app.extensions["db"].engine
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    response = client.get(path, headers=headers or {})  # warm
    if response.status_code != 200:
        raise BenchmarkError(f"GET {path}: {response.status_code}")
    event.listen(engine, "before_cursor_execute", count)
    try:
        client.get(path, headers=headers or {})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    statements = len(seen)
    started = time.perf_counter()
    for _ in range(repeat):
        client.get(path, headers=headers or {})
    return statements, (time.perf_counter() - started) * 1000 / repeat


def _next_page(client, path: str) -> str:
    import re

    found = re.search(r'rel="next" href="([^"]+)"', client.get(path).get_data(as_text=True))
    return html.unescape(found.group(1)) if found else path


def page_figures(app, password: str, repeat: int) -> list[PageFigure]:
    agent = _client(app, AGENT, password)
    pages = [
        ("agent queue", agent, "/cases/queue", None),
        ("agent queue, page 2", agent, _next_page(agent, "/cases/queue"), None),
        ("agent queue, unassigned", agent, "/cases/queue?view=unassigned", None),
        ("agent queue, breached", agent, "/cases/queue?view=breached", None),
        ("agent, all cases list", agent, "/cases/", None),
        ("customer user, own cases", _client(app, CUSTOMER_USER, password), "/cases/", None),
        ("customer admin, org cases", _client(app, CUSTOMER_ADMIN, password), "/cases/", None),
        ("partner, managed cases", _client(app, PARTNER, password), "/cases/", None),
        ("customer user, API list", app.test_client(), "/api/v1/cases?limit=25",
         _api_headers(app, CUSTOMER_USER)),
    ]  # fmt: skip
    figures = []
    for name, client, path, headers in pages:
        statements, ms = measure(app, client, path, repeat, headers)
        figures.append(PageFigure(name, statements, ms))
    return figures


def compare(small, large, small_n, large_n) -> None:
    from tests.perf.bench_authenticated_page import BenchmarkError

    print(f"\n{'page':32} {'SQL':>4} {f'ms @{small_n:,}':>12} {f'ms @{large_n:,}':>13}")
    bad = []
    for a, b in zip(small, large, strict=True):
        print(f"{a.name:32} {b.statements:>4} {a.ms:>12.1f} {b.ms:>13.1f}")
        if a.statements != b.statements:
            bad.append(
                f"{a.name}: {a.statements} statements at {small_n}, {b.statements} at {large_n}"
            )
    if bad:
        raise BenchmarkError("; ".join(bad))


def search_figures(app, password: str, repeat: int) -> None:
    from portal.db import db
    from selfservice.kb import search

    print(f"\n{'search':28} {'hits':>5} {'ms/query (median)':>18}")
    customer = _client(app, CUSTOMER_USER, password)
    for q in SEARCHES:
        with app.test_request_context():
            from flask import g

            from portal.db import set_principal
            from portal.tenancy import Principal

            set_principal(db.session, Principal(0, "vendor", "support_agent", None))
            g.principal = None
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                hits = search.search(q, limit=10)
                times.append((time.perf_counter() - started) * 1000)
            db.session.close()
        print(f"{q:28} {len(hits):>5} {statistics.median(times):>18.1f}")
    for path in ("/help/?q=printer+offline", "/help/suggest?q=vpn+tunnel"):
        statements, ms = measure(app, customer, path, repeat)
        print(f"customer GET {path:30} {statements} SQL, {ms:.1f} ms")


def throughput(app, bare: Flask, password: str, requests: int) -> None:
    agent = _client(app, AGENT, password)
    bare_client = bare.test_client()
    timings = {"portal": 0.0, "bare": 0.0}
    rounds = 4
    for _ in range(rounds):
        for name, client, path in (("bare", bare_client, "/"), ("portal", agent, "/cases/queue")):
            started = time.perf_counter()
            for _ in range(requests // rounds):
                if client.get(path).status_code != 200:
                    raise RuntimeError(f"{name} {path} failed")
            timings[name] += time.perf_counter() - started
    rates = {k: (requests // rounds * rounds) / v for k, v in timings.items()}
    print(
        f"\nin-process throughput: queue {rates['portal']:.0f} req/s, bare list "
        f"{rates['bare']:.0f} req/s, ratio portal/bare {rates['portal'] / rates['bare']:.2f}"
    )


def run(app, args, password: str, bare: Flask | None) -> None:
    from tests.perf.bench_leads import analyze

    added = add_cases(app, args.small)
    analyze(app)
    print(f"{added:,} cases added")
    small = page_figures(app, password, args.repeat)
    started = time.perf_counter()
    added = add_cases(app, args.cases)
    analyze(app)
    print(f"{added:,} cases added in {time.perf_counter() - started:.0f} s")
    large = page_figures(app, password, args.repeat)
    compare(small, large, args.small, args.cases)
    started = time.perf_counter()
    added = add_articles(app, args.articles)
    analyze(app)
    print(f"\n{added:,} articles added (and indexed) in {time.perf_counter() - started:.0f} s")
    search_figures(app, password, args.repeat)
    if bare is not None:
        throughput(app, bare, password, args.requests)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres-scratch-url")
    parser.add_argument("--skip-sqlite", action="store_true", help="only the PostgreSQL run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tests.perf import bench_authenticated_page as base

    print(f"Python {sys.version.split()[0]}; {base.load_average()}")
    if not args.skip_sqlite:
        from portal.seed import DEMO_PASSWORD
        from tests.perf.bench_leads import sqlite_demo_app

        with tempfile.TemporaryDirectory(prefix="portal-bench-selfservice-") as tmp:
            app, url = sqlite_demo_app(tmp)
            bare = _bare_app(url)
            run(app, args, DEMO_PASSWORD, bare)
            bare.engine.dispose()
            app.extensions["db"].engine.dispose()
    if args.postgres_scratch_url:
        from portal.seed import DEMO_PASSWORD
        from tests.perf.bench_leads import postgres_demo_app

        app, role = postgres_demo_app(args.postgres_scratch_url)
        print(f"\nPostgreSQL (role {role}, row-level security on)")
        bare = _bare_app(args.postgres_scratch_url.replace("+psycopg", "+psycopg"))
        run(app, args, DEMO_PASSWORD, bare)
        bare.engine.dispose()
        app.extensions["db"].engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
