"""Run the load test end to end and print its summary.

    python tests/load/run.py --database sqlite                 # 50 users, 5 minutes
    python tests/load/run.py --database postgresql --users 20 --duration 60   # a smoke run

Fresh database (a new SQLite file, or the PostgreSQL database's schema dropped and recreated),
migrations and the demo world's seed, gunicorn with sync workers on loopback (with PostgreSQL:
Redis on a database number of its own, emptied with FLUSHDB, and an RQ worker beside), Locust
headless with ``--csv``, everything stopped, then ``check_writes.py``. The summary: requests,
failures by status, 5xx, the 503 share, p50/p95/p99 per kind of request and the check's result,
also written to ``OUT/summary.json``. ``--code`` serves another checkout (a clone of an older
commit, for "before" figures) with this locustfile and check.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
STATUS = re.compile(r"HTTP (\d{3})")
QUOTED = re.compile(r"'(.*)'")  # Locust's CatchResponseError('message')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Load test of the portal (Locust, headless).")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--duration", type=int, default=300, help="seconds")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8470)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LOAD_DATABASE_URL"),
        help="a database of its own: its public schema is dropped (or LOAD_DATABASE_URL)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("LOAD_REDIS_URL", DEFAULT_REDIS),
        help="a database number of its own, emptied with FLUSHDB (or LOAD_REDIS_URL)",
    )
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout to serve")
    parser.add_argument("--out", type=Path, default=None, help="results (default: a new dir)")
    args = parser.parse_args()
    if args.database == "postgresql":
        if not args.postgres_url:
            parser.error("--postgres-url (or LOAD_DATABASE_URL) is needed: its schema is dropped")
        if urlsplit(args.redis_url).path.strip("/") in ("", "0"):
            parser.error("--redis-url needs a database number other than 0: it is emptied")
    return args


class Portal:
    """The portal's processes for one run, with one environment."""

    def __init__(self, args: argparse.Namespace, out: Path) -> None:
        self.args, self.out = args, out
        if args.database == "sqlite":
            self.database_url = f"sqlite:///{out / 'portal.sqlite3'}"
            redis_url = None
        else:
            self.database_url = args.postgres_url
            redis_url = args.redis_url
        self.env = {
            **os.environ,
            "PYTHONPATH": str(args.code),
            "PORTAL_ENV": "development",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "DATABASE_URL": self.database_url,
            "BASE_URL": f"http://127.0.0.1:{args.port}",
        }
        self.env.pop("REDIS_URL", None)
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.redis_url = redis_url
        self.processes: list[subprocess.Popen] = []

    def flask(self, *command: str) -> None:
        subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "wsgi", *command],
            cwd=self.args.code,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def fresh_database(self) -> None:
        if self.args.database == "postgresql":
            from sqlalchemy import create_engine, text

            engine = create_engine(self.database_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            engine.dispose()
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()  # its own database number only
        self.flask("db", "upgrade")
        self.flask("seed")

    def start(self, name: str, command: list[str]) -> None:
        log = open(self.out / f"{name}.log", "w")  # noqa: SIM115 - the process keeps it
        self.processes.append(
            subprocess.Popen(
                command, cwd=self.args.code, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        )

    def serve(self) -> None:
        self.start(
            "gunicorn",
            [
                str(VENV_BIN / "gunicorn"),
                "--workers", str(self.args.workers),
                "--bind", f"127.0.0.1:{self.args.port}",
                "--timeout", "60",
                "wsgi:app",
            ],
        )  # fmt: skip
        if self.redis_url:
            self.start("worker", [str(VENV_BIN / "flask"), "--app", "wsgi", "worker"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.args.port}/healthz") as ok:
                    if ok.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise SystemExit("gunicorn did not answer /healthz within 60 s (see gunicorn.log)")

    def drain_queue(self, seconds: int = 120) -> int:
        """Wait for the RQ worker to empty the queue; the jobs left."""
        if not self.redis_url:
            return 0
        import redis

        connection = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + seconds
        while True:
            left = sum(connection.llen(key) for key in connection.scan_iter("rq:queue:*"))
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(1)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def watch_load(samples: list[float], stop: threading.Event) -> None:
    while not stop.wait(10):
        samples.append(float(Path("/proc/loadavg").read_text().split()[0]))


def summarise(out: Path, check: dict, load: list[float], args, code_file: str) -> dict:
    with open(out / "locust_stats.csv", encoding="utf-8") as stats_file:
        stats = list(csv.DictReader(stats_file))
    with open(out / "locust_failures.csv", encoding="utf-8") as failures_file:
        failures = list(csv.DictReader(failures_file))
    total = next(row for row in stats if row["Name"] == "Aggregated")
    by_status: dict[str, int] = {}
    for row in failures:
        found = STATUS.search(row["Error"])
        message = QUOTED.search(row["Error"])
        key = found.group(1) if found else (message.group(1) if message else row["Error"][:80])
        by_status[key] = by_status.get(key, 0) + int(row["Occurrences"])
    requests = int(total["Request Count"])
    server_errors = sum(n for s, n in by_status.items() if s.isdigit() and s.startswith("5"))
    return {
        "database": args.database,
        "users": args.users,
        "duration_s": args.duration,
        "gunicorn_workers": args.workers,
        "code": code_file,
        "requests": requests,
        "failures": int(total["Failure Count"]),
        "failures_by_status": by_status,
        "5xx": server_errors,
        "503_share_percent": round(100 * by_status.get("503", 0) / max(requests, 1), 3),
        "requests_per_s": round(float(total["Requests/s"]), 1),
        "load_average": {
            "mean": round(sum(load) / max(len(load), 1), 2),
            "max": max(load, default=0.0),
        },
        "kinds": {
            row["Name"]: {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": row["50%"],
                "p95_ms": row["95%"],
                "p99_ms": row["99%"],
            }
            for row in stats
        },
        "check": check,
        "targets": targets(args.database, requests, by_status, server_errors, total),
    }


def targets(database: str, requests: int, by_status: dict, server_errors: int, total) -> dict:
    """The issue's targets (17, item 3): name -> met."""
    if database == "sqlite":
        return {
            "0 x 5xx": server_errors == 0,
            "at most 1 % 503": by_status.get("503", 0) <= requests / 100,
        }
    return {
        "0 errors": int(total["Failure Count"]) == 0,
        "p95 under 500 ms": float(total["95%"]) < 500,
    }


def print_summary(summary: dict) -> None:
    print(
        f"\n== Load test: {summary['database']}, {summary['users']} users, "
        f"{summary['duration_s']} s, {summary['gunicorn_workers']} gunicorn workers =="
    )
    print(f"code: {summary['code']}")
    print(
        f"requests {summary['requests']} ({summary['requests_per_s']}/s), failures "
        f"{summary['failures']} by status {summary['failures_by_status']}, 5xx "
        f"{summary['5xx']}, 503 share {summary['503_share_percent']} %"
    )
    print(
        f"load average during the run: mean {summary['load_average']['mean']}, "
        f"max {summary['load_average']['max']}"
    )
    print(f"{'kind':<30} {'requests':>8} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6}  (ms)")
    for name, kind in summary["kinds"].items():
        print(
            f"{name:<30} {kind['requests']:>8} {kind['failures']:>5} {kind['p50_ms']:>6} "
            f"{kind['p95_ms']:>6} {kind['p99_ms']:>6}"
        )
    check = summary["check"]
    print(
        f"check_writes: {'OK' if not check['problems'] else 'FAILED'} "
        f"{json.dumps(check['summary'], default=str)}"
    )
    for problem in check["problems"][:20]:
        print(f"  {problem}")
    print(
        "targets: "
        + ", ".join(f"{n} {'met' if ok else 'MISSED'}" for n, ok in summary["targets"].items())
    )


def main() -> int:
    args = parse_args()
    args.code = args.code.resolve()
    run_id = time.strftime("%Y%m%d%H%M%S")
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix=f"portal-load-{args.database}-"))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    portal = Portal(args, out)
    code_file = subprocess.run(
        [sys.executable, "-c", "import portal.app; print(portal.app.__file__)"],
        env=portal.env, cwd=args.code, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    print(f"serving {code_file} on {args.database}; results in {out}", flush=True)
    portal.fresh_database()
    load: list[float] = []
    stop_watch = threading.Event()
    try:
        portal.serve()
        watcher = threading.Thread(target=watch_load, args=(load, stop_watch), daemon=True)
        watcher.start()
        subprocess.run(
            [
                str(VENV_BIN / "locust"),
                "-f", str(HERE / "locustfile.py"),
                "--headless",
                "--users", str(args.users),
                "--spawn-rate", str(args.spawn_rate),
                "--run-time", f"{args.duration}s",
                "--host", f"http://127.0.0.1:{args.port}",
                "--csv", str(out / "locust"),
                "--only-summary",
                "--stop-timeout", "10",
                "--exit-code-on-error", "0",
            ],
            env={**os.environ, "LOAD_RUN_ID": run_id, "LOAD_WRITES": str(out / "writes.jsonl")},
            check=True,
            stdout=open(out / "locust.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        stop_watch.set()
        left = portal.drain_queue()
        if left:
            print(f"warning: {left} jobs still queued after 120 s")
    finally:
        stop_watch.set()
        portal.stop()
    subprocess.run(
        [
            sys.executable, str(HERE / "check_writes.py"),
            "--database-url", portal.database_url,
            "--writes", str(out / "writes.jsonl"),
            "--run-id", run_id,
            "--json", str(out / "check.json"),
        ],
        stdout=open(out / "check.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    check = json.loads((out / "check.json").read_text())
    summary = summarise(out, check, load, args, code_file)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print_summary(summary)
    return 0 if not check["problems"] and all(summary["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
