"""Benchmark: every dashboard at ``--small`` and ``--large`` cases (default 10,000 and
1,000,000) with ``--registrations`` deal registrations (default 100,000): SQL statements and
milliseconds per page at both sizes, on SQLite and, with ``--postgres-scratch-url``, on
PostgreSQL as an ordinary role under row-level security.

Run from the project root (not collected by pytest)::

    .venv/bin/python -m tests.perf.bench_dashboards [--small 10000] [--large 1000000]
        [--registrations 100000] [--repeat 3] [--only customer --only "customer, own cases"]
        [--postgres-scratch-url postgresql+psycopg://postgres@127.0.0.1:5432/test_dash]

One run, per database:

1. builds a fresh database (migrations + the demo world) and grows the deal registrations to
   ``--registrations`` (``tests.perf.bench_leads.add_registrations``) and the cases to
   ``--small`` (``tests.perf.bench_selfservice.add_cases``: spread over 700 days, 15 %
   unresolved, one status change each);
   then lets the ``deal_figures`` and ``support_figures`` ticks compute the channel and support
   dashboards' daily figures (the time each takes is printed);
2. in-process (Flask test client, signed in through the login form as the audience each
   dashboard is for), requests each dashboard once to warm up, counts the SQL statements of one
   request, and times ``--repeat`` more (the best and the mean are printed);
3. grows the cases to ``--large`` and measures again.

It fails if a dashboard's statement count differs between the sizes (statements must not grow
with the rows) or a page answers other than 200. The issue's target, each dashboard under 1 s
at 1,000,000 cases on PostgreSQL, is printed beside the figures rather than asserted: the
machine is shared and timings vary.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass

VENDOR_ADMIN = "admin@northwind.example"
CHANNEL = "channel@northwind.example"
SUPPORT = "support@northwind.example"
PARTNER = "admin@alpine.example"
CUSTOMER = "admin@granite.example"
CUSTOMER_USER = "lee@granite.example"  # sees only the cases Lee raised (Granite does not share)

# (name, signed in as, path): the dashboards, as their audiences open them (default period: the
# last 12 months; "12m custom" spans two years to read more rows).
DASHBOARDS = (
    ("channel", CHANNEL, "/reports/channel"),
    ("forecast", CHANNEL, "/reports/forecast"),
    ("support", SUPPORT, "/reports/support"),
    ("support, 2 years", SUPPORT, "/reports/support?period=custom&start=2025-01-01&end=2026-12-31"),
    ("feedback", VENDOR_ADMIN, "/feedback/analytics"),
    ("scorecards (vendor)", CHANNEL, "/scorecards/"),
    ("scorecard (partner)", PARTNER, "/scorecards/mine"),
    ("customer", CUSTOMER, "/reports/customer"),
    ("customer, own cases", CUSTOMER_USER, "/reports/customer"),
)
TARGET_MS = 1000


@dataclass
class Figure:
    name: str
    statements: int
    best_ms: float
    mean_ms: float


def measure_all(app, password: str, repeat: int, only: list[str] | None = None) -> list[Figure]:
    from tests.perf.bench_selfservice import _client, measure

    clients: dict[str, object] = {}
    figures = []
    for name, email, path in DASHBOARDS:
        if only and name not in only:
            continue
        client = clients.get(email) or clients.setdefault(email, _client(app, email, password))
        statements, mean_ms = measure(app, client, path, 1)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"GET {path} as {email}: {response.status_code}")
        figures.append(Figure(name, statements, min(timings), sum(timings) / len(timings)))
    return figures


def report(title: str, sizes: dict[str, list[Figure]], target: bool) -> bool:
    """Print the figures side by side; False if a statement count grew."""
    labels = list(sizes)
    print(f"\n{title}")
    header = f"  {'dashboard':<22}" + "".join(
        f"{'stmts @' + label:>14}{'best ms':>10}{'mean ms':>10}" for label in labels
    )
    print(header)
    ok = True
    for rows in zip(*sizes.values(), strict=True):
        line = f"  {rows[0].name:<22}" + "".join(
            f"{f.statements:>14}{f.best_ms:>10.1f}{f.mean_ms:>10.1f}" for f in rows
        )
        grew = len({f.statements for f in rows}) > 1
        ok = ok and not grew
        slow = target and rows[-1].best_ms > TARGET_MS
        print(line + ("  STATEMENTS GREW" if grew else "") + ("  over 1 s" if slow else ""))
    return ok


def run(app, args, password: str, title: str, target: bool) -> bool:
    from tests.perf.bench_leads import add_registrations
    from tests.perf.bench_selfservice import add_cases

    started = time.perf_counter()
    registrations = add_registrations(app, args.registrations)
    print(f"  {registrations:,} registrations ({time.perf_counter() - started:.0f} s)")
    sizes = {}
    for size in (args.small, args.large):
        started = time.perf_counter()
        add_cases(app, size)
        _analyze(app)
        print(f"  cases grown to {size:,} ({time.perf_counter() - started:.0f} s)")
        print(f"  support figures rebuilt by the tick in {rebuild_support_figures(app):.1f} s")
        sizes[f"{size:,}"] = measure_all(app, password, args.repeat, args.only)
    return report(title, sizes, target)


def rebuild_support_figures(app) -> float:
    """The support dashboard's daily figures computed by the tick from the generated cases."""
    from selfservice.analytics.models import SupportDirtyDay
    from tests.perf.bench_leads import rebuild_rollup

    return rebuild_rollup(app, SupportDirtyDay, "support_figures")


def _analyze(app) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum / ANALYZE would give."""
    from sqlalchemy import text

    from portal.db import db

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--registrations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-scratch-url", default="")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--only", action="append", help="measure only this dashboard (by name; repeatable)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from portal.seed import DEMO_PASSWORD
    from tests.perf.bench_leads import postgres_demo_app, sqlite_demo_app

    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPU(s)")
    ok = True
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="portal-bench-dashboards-") as tmp:
            app, _ = sqlite_demo_app(tmp)
            ok = run(app, args, DEMO_PASSWORD, "SQLite", target=False) and ok
            app.extensions["db"].engine.dispose()
    if args.postgres_scratch_url:
        app, _ = postgres_demo_app(args.postgres_scratch_url)
        print("\nPostgreSQL: migrated and seeded")
        ok = run(app, args, DEMO_PASSWORD, "PostgreSQL", target=True) and ok
        app.extensions["db"].engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
