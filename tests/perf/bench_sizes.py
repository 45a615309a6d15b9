"""Benchmark: database bytes per million cases, leads, deal registrations and audit events on
PostgreSQL, for the capacity model (docs/capacity.md).

Run from the project root (not collected by pytest)::

    .venv/bin/python -m tests.perf.bench_sizes \\
        --postgres-scratch-url postgresql+psycopg://postgres@127.0.0.1:5432/test_sizes \\
        [--rows 100000]

One run:

1. migrates a scratch database (its name must start with ``test``: the schema is dropped) and
   adds the demo world (``bench_leads.postgres_demo_app``);
2. for each kind, adds ``--rows`` rows with the other benchmarks' generators, then ``VACUUM
   ANALYZE``, and reads ``pg_total_relation_size`` (heap, TOAST, every index: the full-text
   ``search_vector`` and its GIN index included) of the kind's tables before and after:

   - cases: ``bench_selfservice.add_cases`` (a case and one status change each) plus
     ``--comments`` replies per case of about 400 characters (``case_comments``);
   - leads: ``bench_leads.add_leads`` (one in 100 offered to a partner: ``lead_offers``);
   - deal registrations: ``bench_leads.add_registrations``;
   - audit events: the demo world's own events repeated (their real before/after JSON);

3. prints bytes per row and the extrapolation to one million rows. Sizes grow linearly with the
   rows at this scale (B-tree and GIN pages fill the same way), so a million is ten times the
   figure at 100,000: the extrapolation, not a measurement, and said so.

``--pages`` (also alone, with ``--pages-only`` on a database a run has filled): what one request
of each page kind costs, in-process (Flask test client, signed in through the login form), the
best and median of ``--repeat``: the app's CPU (``time.process_time``: this process only), the
database's time (the sum of the statements' execute calls, from the app's side) and the wall
time. The app's CPU per request is what sizes the app servers (requests/s per core = 1000 /
ms); the database's share sizes PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

KINDS = {
    "cases": ("cases", "case_status_changes", "case_comments"),
    "leads": ("leads", "lead_offers"),
    "deal registrations": ("deal_registrations",),
    "audit events": ("audit_events",),
}
REPLY = (
    "Thanks for the details. We looked at the controller logs you attached: the firmware on the "
    "branch switch is two releases behind and drops the tunnel when the lease renews. Please "
    "update to the current release from the downloads page, restart the agent and tell us "
    "whether the timeouts stop. If they do not, send the new log bundle and we will escalate "
    "the case to the network team with your configuration. "
)


def sizes(owner, tables: tuple[str, ...]) -> int:
    with owner.connect() as conn:
        return sum(
            conn.exec_driver_sql("SELECT pg_total_relation_size(%(t)s)", {"t": t}).scalar()
            for t in tables
        )


def vacuum(owner) -> None:
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def add_comments(owner, per_case: int, seed: int = 3) -> int:
    """``per_case`` replies on each case that has none yet (Core, as the table's owner)."""
    rng = random.Random(seed)
    with owner.begin() as conn:
        cases = conn.exec_driver_sql(
            "SELECT id, org_id FROM cases WHERE id NOT IN (SELECT case_id FROM case_comments)"
        ).all()
        author = conn.exec_driver_sql("SELECT min(id) FROM users").scalar()
        now = datetime.now(UTC)
        rows = []
        for case_id, org_id in cases:
            for n in range(per_case):
                rows.append(
                    {
                        "case_id": case_id,
                        "org_id": org_id,
                        "author_id": author,
                        "body": REPLY[: rng.randint(200, len(REPLY))],
                        "internal": n == per_case - 1,
                        "by_agent": n % 2 == 1,
                        "created_at": now - timedelta(minutes=rng.randint(1, 10_000)),
                    }
                )
            if len(rows) >= 10_000:
                _insert(conn, "case_comments", rows)
                rows = []
        if rows:
            _insert(conn, "case_comments", rows)
    return len(cases) * per_case


def _insert(conn, table: str, rows: list[dict]) -> None:
    from sqlalchemy import insert

    from portal.db import Base

    conn.execute(insert(Base.metadata.tables[table]), rows)


def add_audit_events(owner, total: int) -> int:
    """``total`` audit events: the demo world's own, repeated (their actions and JSON)."""
    with owner.begin() as conn:
        columns = (
            "created_at, actor_user_id, actor_org_id, action, object_type, object_id, before, "
            "after, ip_address, org_id"
        )
        have = conn.exec_driver_sql("SELECT count(*) FROM audit_events").scalar()
        if not have:
            raise SystemExit("the demo world wrote no audit events to copy")
        conn.exec_driver_sql(
            f"INSERT INTO audit_events ({columns}) SELECT {columns} FROM audit_events, "
            f"generate_series(1, %(times)s) ORDER BY random()",
            {"times": max(1, total // have)},
        )
        return max(1, total // have) * have


def measure(app, owner, rows: int, comments: int) -> list[tuple[str, int, int]]:
    from tests.perf.bench_leads import add_leads, add_registrations
    from tests.perf.bench_selfservice import add_cases

    def count(table: str) -> int:
        with owner.connect() as conn:
            return conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()  # noqa: S608

    def grow_cases():
        add_cases(app, count("cases") + rows)
        add_comments(owner, comments)

    results = []
    growers = {
        "cases": grow_cases,
        "leads": lambda: add_leads(app, count("leads") + rows),
        "deal registrations": lambda: add_registrations(app, count("deal_registrations") + rows),
        "audit events": lambda: add_audit_events(owner, rows),
    }
    for kind, tables in KINDS.items():
        vacuum(owner)
        before_bytes, before_rows = sizes(owner, tables), count(tables[0])
        started = time.perf_counter()
        growers[kind]()
        vacuum(owner)
        added = count(tables[0]) - before_rows
        grown = sizes(owner, tables) - before_bytes
        print(f"  {kind}: {added:,} added in {time.perf_counter() - started:.0f} s")
        results.append((kind, added, grown))
    return results


def report(results, comments: int) -> None:
    print(f"\n{'kind':<22}{'rows added':>12}{'bytes/row':>12}{'GB per million':>16}  tables")
    for kind, added, grown in results:
        per_row = grown / added
        print(
            f"{kind:<22}{added:>12,}{per_row:>12,.0f}{per_row * 1e6 / 1e9:>16.2f}  "
            + ", ".join(KINDS[kind])
        )
    print(
        f"\ncases: with one status change and {comments} replies each; leads: 1 in 100 offered; "
        "sizes include TOAST and every index (search_vector's GIN too). A million rows is the "
        "figure above times a million: a linear extrapolation, not a measurement."
    )


# (kind, signed in as, method, path); paths with {org} / {quote} are filled in from the data.
PAGE_KINDS = (
    ("list page: /leads/", "channel@northwind.example", "GET", "/leads/"),
    ("list page: /cases/queue", "support@northwind.example", "GET", "/cases/queue"),
    ("home: /home (reseller)", "admin@alpine.example", "GET", "/home"),
    ("organisation page", "channel@northwind.example", "GET", "{org}"),
    ("dashboard: /reports/channel", "channel@northwind.example", "GET", "/reports/channel"),
    ("dashboard: /reports/support", "support@northwind.example", "GET", "/reports/support"),
    ("search: /search?q=granite", "channel@northwind.example", "GET", "/search?q=granite"),
    ("search: /help/?q=printer", "admin@alpine.example", "GET", "/help/?q=printer+offline"),
    ("quote PDF (stored download)", "admin@granite.example", "GET", "{quote}"),
    ("API write: POST /api/v1/leads", "channel@northwind.example", "POST", "/api/v1/leads"),
)


def _page_paths(app) -> dict[str, str]:
    from flask import url_for
    from sqlalchemy import select

    from partners.quotes.models import Quote
    from portal.db import db, unscoped
    from portal.identity.models import Organization

    with app.test_request_context(), unscoped(db.session):
        org = db.session.scalar(select(Organization.id).where(Organization.kind == "reseller"))
        quote = db.session.scalar(
            select(Quote)
            .join(Organization, Organization.id == Quote.org_id)
            .where(Quote.pdf_sha256.is_not(None), Organization.name.ilike("%granite%"))
            .order_by(Quote.id)
        )
        return {
            "{org}": url_for("identity.organization", org_id=org),
            "{quote}": url_for("quotes.pdf", quote_id=quote.id) if quote else "",
        }


def database_cpu_seconds(owner, database: str) -> float:
    """CPU time used so far by the server processes serving ``database`` (PostgreSQL on this
    machine: /proc of each backend in pg_stat_activity): the clients' backends, not autovacuum's
    (which a bulk load sets going, mid-measurement). A parallel query's workers come and go
    between two readings, so their CPU is not counted."""
    with owner.connect() as conn:
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = %(d)s AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'",
            {"d": database},
        ).scalars()
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def page_costs(app, password: str, repeat: int) -> list[tuple]:
    import statistics

    from sqlalchemy import event

    from tests.perf.bench_leads import _client
    from tests.perf.bench_selfservice import _api_headers

    engine = app.extensions["db"].engine
    sql_seconds = [0.0]

    @event.listens_for(engine, "before_cursor_execute")
    def _started(conn, cursor, statement, parameters, context, executemany):
        context._bench_started = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _ended(conn, cursor, statement, parameters, context, executemany):
        sql_seconds[0] += time.perf_counter() - context._bench_started

    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from portal.engine import make_engine

    url = app.config["DATABASE_URL"]
    # Its own connection each time, so that the backend reading is never one of those measured.
    owner, database = make_engine(url, poolclass=NullPool), make_url(url).database
    paths = _page_paths(app)
    clients, results = {}, []
    for kind, email, method, path in PAGE_KINDS:
        path = paths.get(path, path)
        if not path:
            print(f"  {kind}: no stored quote PDF in this database, left out")
            continue
        if email not in clients:
            clients[email] = _client(app, email, password)
        client = clients[email]
        if method == "POST":
            headers = _api_headers(app, email)
            counter = iter(range(10**9))

            def call(client=client, path=path, headers=headers, counter=counter):
                body = {"company": f"Capacity {next(counter)}", "country": "DE",
                        "product_line": "networking"}  # fmt: skip
                return client.post(path, json=body, headers=headers)
        else:

            def call(client=client, path=path):
                return client.get(path)

        first = call()
        if first.status_code not in (200, 201):
            print(f"  {kind}: {method} {path} answered {first.status_code}, left out")
            continue
        cpu, sql, wall = [], [], []
        db_cpu = database_cpu_seconds(owner, database)
        for _ in range(repeat):
            sql_seconds[0] = 0.0
            c0, w0 = time.process_time(), time.perf_counter()
            call()
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
            sql.append(sql_seconds[0] * 1000)
        db_ms = (database_cpu_seconds(owner, database) - db_cpu) * 1000 / repeat
        results.append(
            (
                kind,
                min(cpu),
                statistics.median(cpu),
                statistics.median(sql),
                statistics.median(wall),
                db_ms,
            )
        )
    event.remove(engine, "before_cursor_execute", _started)
    event.remove(engine, "after_cursor_execute", _ended)
    owner.dispose()
    return results


def report_pages(results) -> None:
    print(
        f"\n{'page kind (in-process)':<34}{'app CPU ms':>11}{'(median)':>10}{'SQL ms':>9}"
        f"{'wall ms':>9}{'DB CPU ms':>11}{'req/s/core':>12}"
    )
    for kind, cpu_best, cpu_median, sql, wall, db_ms in results:
        print(
            f"{kind:<34}{cpu_best:>11.1f}{cpu_median:>10.1f}{sql:>9.1f}{wall:>9.1f}"
            f"{db_ms:>11.1f}{1000 / cpu_median:>12.0f}"
        )
    print(
        "req/s/core: 1000 / the app's median CPU ms (one sync worker per core, the database "
        "elsewhere); SQL ms: the statements' time seen from the app (the database's work, the "
        "round trips and any wait for a CPU); DB CPU ms: the PostgreSQL backends' CPU per "
        "request (/proc, 10 ms ticks over --repeat requests)."
    )


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-scratch-url", required=True)
    parser.add_argument("--rows", type=int, default=100_000, help="rows added per kind")
    parser.add_argument("--comments", type=int, default=4, help="replies per generated case")
    parser.add_argument("--pages", action="store_true", help="also time each page kind")
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="only time the page kinds, on the database as it is (no reset, nothing added)",
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page kind")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from portal.engine import make_engine
    from tests.perf import bench_authenticated_page as base
    from tests.perf.bench_leads import postgres_demo_app

    args = parse_args(argv)
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); {base.load_average()}")
    if args.pages_only:
        from portal.app import create_app
        from portal.seed import DEMO_PASSWORD
        from tests.conftest import APP_ROLE
        from tests.perf.bench_leads import quiet

        app = create_app(
            {
                "DATABASE_URL": args.postgres_scratch_url,
                "DATABASE_ROLE": APP_ROLE,
                "PORTAL_ENV": "development",
            }
        )
        quiet()
        try:
            report_pages(page_costs(app, DEMO_PASSWORD, args.repeat))
        finally:
            app.extensions["db"].engine.dispose()
        return 0
    app, role = postgres_demo_app(args.postgres_scratch_url)
    print(f"PostgreSQL (as role {role}): migrated and seeded")
    owner = make_engine(args.postgres_scratch_url)
    try:
        results = measure(app, owner, args.rows, args.comments)
        if args.pages:
            from portal.seed import DEMO_PASSWORD

            pages = page_costs(app, DEMO_PASSWORD, args.repeat)
    finally:
        app.extensions["db"].engine.dispose()
        owner.dispose()
    report(results, args.comments)
    if args.pages:
        report_pages(pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
