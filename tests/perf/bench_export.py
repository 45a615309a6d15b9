"""Benchmark: the memory of a CSV export at 10,000 and at 1,000,000 rows (issue 14, items 4
and 6). The export must stream in constant memory: the peak must not grow with the rows.

Run from the project root (not collected by pytest)::

    .venv/bin/python -m tests.perf.bench_export [--small 10000] [--rows 1000000] [--no-job]
        [--skip-sqlite] [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test_x]

One run, on SQLite (a temporary file) and then, with ``--postgres-url`` or ``TEST_DATABASE_URL``
set (a database whose name starts with ``test``: its schema is dropped and rebuilt), on
PostgreSQL as an ordinary role that row-level security binds, like the test suite:

1. builds the schema with the migrations, the vendor and a channel manager (no demo world), and
   ``--small`` leads by bulk insert (Core ``executemany``, 20,000 rows a statement: set-up, not
   measured);
2. signs in in-process (Flask test client) and reads ``GET /export/leads.csv`` to the end with
   the response unbuffered, chunk by chunk as a WSGI server sends it, twice: once measuring
   time and the process's peak resident memory (VmHWM, reset first through
   ``/proc/self/clear_refs``), once with ``tracemalloc`` (the peak of Python allocations during
   the export; slower, so not timed);
3. checks the file (byte-order mark, one line per lead plus the header);
4. grows the leads to ``--rows`` and measures again; then (unless ``--no-job``) writes the same
   export through the job path (``POST /export/leads/job``: the job runs inline, as without
   Redis) and measures its peaks the same way;
5. prints a table: rows, bytes, seconds, rows/s, peak RSS and its growth over the RSS before the
   export, and the tracemalloc peak.

Everything is written under a temporary directory (and, if asked, the scratch PostgreSQL
database); nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

EMAIL = "channel@bench.example"
PASSWORD = "bench-password-123"
BATCH = 20_000
COUNTRIES = ("DE", "AT", "CH", "FR", "NL", "GB", "IE", "US", "CA", "SE")
LINES = ("networking", "security", "storage", "cloud", "collaboration", "services")


@dataclass
class Figure:
    database: str
    what: str
    rows: int
    size: int
    seconds: float
    rss_before_mb: float
    rss_peak_mb: float
    traced_peak_mb: float

    @property
    def growth_mb(self) -> float:
        return self.rss_peak_mb - self.rss_before_mb


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> None:
    """Reset the kernel's high-water mark of this process's resident memory (Linux)."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")


def make_app(url: str, role: str | None):
    from portal.app import create_app

    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "bench-export",
            "DATABASE_URL": url,
            "DATABASE_ROLE": role,
            "WTF_CSRF_ENABLED": False,
            "REDIS_URL": None,
            "SMTP_URL": None,
            "EXPORT_JOB_THRESHOLD": 10**9,  # stream everything; the job path is asked for
        }
    )
    import logging

    logging.getLogger("portal").setLevel(logging.WARNING)
    return app


def build_world(app) -> None:
    """The vendor and its channel manager, written past the wall (set-up)."""
    from portal import access
    from portal.db import db, unscoped
    from portal.identity.models import Organization, User
    from portal.identity.passwords import hash_password

    with app.app_context():
        session = db.session
        with unscoped(session):  # reason: the benchmark's set-up
            vendor = Organization(name="Bench Vendor", kind=access.VENDOR)
            session.add(vendor)
            session.flush()
            session.add(
                User(
                    org_id=vendor.id,
                    email=EMAIL,
                    name="Bench Channel",
                    role=access.CHANNEL_MANAGER,
                    password_hash=hash_password(PASSWORD),
                )
            )
        session.commit()


def grow_leads(app, total: int) -> int:
    """Add generated leads until there are ``total``; Core inserts, ``BATCH`` rows a statement."""
    from sqlalchemy import func, insert, select

    from partners.leads.models import Lead
    from portal.db import db
    from portal.identity.models import Organization

    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT set_config('app.scope', 'all', true)")
        have = conn.scalar(select(func.count()).select_from(Lead))
        vendor_id = conn.scalar(select(Organization.id).where(Organization.kind == "vendor"))
        now = datetime.now(UTC)
        for start in range(have, total, BATCH):
            rows = [
                {
                    "org_id": vendor_id,
                    "company": f'Bench Company {n}, "Quoted" Ltd' if n % 50 == 0 else f"Co {n}",
                    "contact_name": f"Contact {n}",
                    "email": f"contact{n}@company{n}.example",
                    "phone": f"+49 30 1234 {n % 10_000:04d}",
                    "country": COUNTRIES[n % len(COUNTRIES)],
                    "product_line": LINES[n % len(LINES)],
                    "source": "bench",
                    "status": "new",
                    "notes": "",
                    "created_at": now - timedelta(seconds=total - n),
                    "version": 1,
                }
                for n in range(start, min(start + BATCH, total))
            ]
            conn.execute(insert(Lead), rows)
        count = conn.scalar(select(func.count()).select_from(Lead))
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE leads")
        else:
            conn.exec_driver_sql("ANALYZE")
    return count


def signed_in(app):
    client = app.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"in-process sign-in failed: {response.status_code}")
    return client


def stream_once(client) -> tuple[int, int]:
    """Read the whole export as a server sends it; returns (bytes, lines)."""
    response = client.get("/export/leads.csv", buffered=False)
    if response.status_code != 200 or response.mimetype != "text/csv":
        raise SystemExit(f"the export answered {response.status_code} {response.mimetype}")
    size = lines = 0
    first = True
    try:
        for chunk in response.response:
            if first:
                if not chunk.startswith(b"\xef\xbb\xbf"):
                    raise SystemExit("the file does not start with a byte-order mark")
                first = False
            size += len(chunk)
            lines += chunk.count(b"\r\n")
    finally:
        response.close()
    return size, lines


def job_once(app, client) -> tuple[int, int]:
    """Write the export through the job path (inline); returns (bytes, rows)."""
    from sqlalchemy import select

    from portal.db import db, unscoped
    from portal.export_jobs import Export

    response = client.post("/export/leads/job")
    if response.status_code != 302:
        raise SystemExit(f"the job path answered {response.status_code}")
    with app.app_context(), unscoped(db.session):  # reason: the benchmark reads its result
        record = db.session.scalars(select(Export).order_by(Export.id.desc()).limit(1)).one()
        if record.status != "ready":
            raise SystemExit(f"the export job ended {record.status}: {record.error}")
        return record.size_bytes, record.rows_written


def measure(database: str, what: str, rows: int, run) -> Figure:
    """Run ``run()`` twice: timed with the peak RSS, then under tracemalloc."""
    reset_peak_rss()
    before = _status_kb("VmRSS")
    started = time.perf_counter()
    size, counted = run()
    seconds = time.perf_counter() - started
    peak = _status_kb("VmHWM")
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    run()
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if counted not in (rows, rows + 1):  # lines: the header too; the job counts rows
        raise SystemExit(f"{what}: {counted} lines for {rows} leads")
    return Figure(database, what, rows, size, seconds, before / 1024, peak / 1024, traced / 2**20)


def run_database(name: str, url: str, role: str | None, args) -> list[Figure]:
    app = make_app(url, role)
    build_world(app)
    client = signed_in(app)
    figures = []
    for target in (args.small, args.rows):
        started = time.perf_counter()
        rows = grow_leads(app, target)
        print(f"{name}: {rows:,} leads ready ({time.perf_counter() - started:.0f} s to insert)")
        figure = measure(name, "stream", rows, lambda: stream_once(client))
        print_figure(figure)
        figures.append(figure)
    if not args.no_job:
        app.config["EXPORT_JOB_THRESHOLD"] = 0
        figure = measure(name, "job", rows, lambda: job_once(app, client))
        print_figure(figure)
        figures.append(figure)
        app.config["EXPORT_JOB_THRESHOLD"] = 10**9
    app.extensions["db"].engine.dispose()
    return figures


HEADER = (
    f"{'database':<11}{'path':<8}{'rows':>11}{'MB':>9}{'s':>8}{'rows/s':>10}"
    f"{'RSS before':>12}{'RSS peak':>10}{'growth':>8}{'tracemalloc':>13}"
)


def print_figure(f: Figure) -> None:
    print(
        f"{f.database:<11}{f.what:<8}{f.rows:>11,}{f.size / 2**20:>9.1f}{f.seconds:>8.1f}"
        f"{f.rows / f.seconds:>10,.0f}{f.rss_before_mb:>10.1f}MB{f.rss_peak_mb:>8.1f}MB"
        f"{max(0.0, f.growth_mb):>6.1f}MB{f.traced_peak_mb:>11.2f}MB",
        flush=True,
    )


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-job", action="store_true", help="skip the job path")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="a scratch PostgreSQL database (name test*; its schema is dropped)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="bench-export-") as directory:
            from portal import migrate
            from portal.engine import make_engine

            url = f"sqlite:///{Path(directory) / 'portal.sqlite3'}"
            engine = make_engine(url)
            with engine.begin() as conn:
                migrate.upgrade(conn)
            engine.dispose()
            print(HEADER)
            figures += run_database("SQLite", url, None, args)
    if args.postgres_url and not args.postgres_url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        from tests.conftest import reset_schema

        if not (make_url(args.postgres_url).database or "").startswith("test"):
            raise SystemExit("the scratch database's name must start with test")
        role = reset_schema(args.postgres_url)
        print(HEADER)
        figures += run_database("PostgreSQL", args.postgres_url, role, args)
        reset_schema(args.postgres_url)  # leave the scratch database small again
    print("\n" + HEADER)
    for figure in figures:
        print_figure(figure)
    streams = [f for f in figures if f.what == "stream"]
    for database in {f.database for f in streams}:
        small, large = [f for f in streams if f.database == database]
        print(
            f"{database}: {large.rows / small.rows:,.0f}x the rows, tracemalloc peak "
            f"{small.traced_peak_mb:.2f} -> {large.traced_peak_mb:.2f} MB, RSS growth "
            f"{max(0.0, small.growth_mb):.1f} -> {max(0.0, large.growth_mb):.1f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
