"""Benchmark: the ideas board at ``--small`` (default 1,000) and ``--ideas`` (default 50,000)
ideas, in its three sorts and filtered, first pages and later pages reached by cursor; against a
baseline in the same run: the 25 rows of the first page read bare with the DB-API, and the board
as it was before keyset paging (every idea loaded, "trending" sorted in Python after a GROUP BY
over the votes).

Run from the project root (not collected by pytest)::

    .venv/bin/python -m tests.perf.bench_feedback [--ideas 50000] [--small 1000] [--repeat 10]
        [--postgres-scratch-url postgresql+psycopg://postgres@127.0.0.1:5432/test_x]

``--postgres-scratch-url`` defaults to ``TEST_DATABASE_URL`` (a database named test*: its schema
is dropped and rebuilt); ``--skip-sqlite`` measures PostgreSQL only. For each database:

1. migrations and the demo world, then generated ideas (Core executemany in batches; each with a
   stored vote count and trending count, a status, a product, an author) up to ``--small``;
2. in-process (Flask test client), for each page counts the SQL statements it issues and times
   it; a statement on ``ideas`` or ``idea_votes`` must not count rows or skip them by OFFSET, and
   one that lists ideas must have a LIMIT;
3. the baselines at the same size;
4. grows the ideas to ``--ideas`` and does 2–3 again: the statement counts must be equal at both
   sizes, else the run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from html import unescape

from portal.product_lines import PRODUCT_LINES

CUSTOMER = "lee@granite.example"
STAFF = "channel@northwind.example"
STATUSES = ("under_review", "planned", "in_progress", "done", "declined", "duplicate")
STATUS_WEIGHTS = (50, 12, 8, 15, 10, 5)
PRODUCTS = tuple(PRODUCT_LINES)
LATER = 4  # "a later page": the fourth, three cursors in
# Titles are four of these words, so a word is in about one idea in twelve and a typed title of
# three words matches about a quarter of the board: the similar-ideas search ranks them all.
WORDS = (  # noqa: SIM905 - a list of words reads better as text
    "dark mode console export invoices csv report dashboard alerts email vpn tunnel firewall "
    "licence billing single sign-on audit log api webhook backup restore storage quota cloud "
    "region latency mobile app offline sync calendar chat video meeting printer driver update "
    "schedule role permission search filter tag import bulk edit template language theme"
).split()
SIMILAR = (("similar, common words", "dark mode for the console"),
           ("similar, a rare word", "zebra crossing telemetry"))  # fmt: skip


# --- data ------------------------------------------------------------------------------------


def add_ideas(app, total: int, seed: int = 7) -> int:
    """Grow the ideas to ``total``: authors from the demo's customers and partners, vote counts
    skewed (most ideas have few), a trending count up to a tenth of them, created over three
    years. Set-up, not measured."""
    from sqlalchemy import func, insert, select

    from feedback.ideas.models import Idea
    from portal.db import db, unscoped
    from portal.identity.models import Organization, User

    rng = random.Random(seed)
    with app.app_context(), unscoped(db.session):
        session = db.session
        have = session.scalar(select(func.count()).select_from(Idea))
        authors = session.execute(
            select(User.id, User.org_id)
            .join(Organization, User.org_id == Organization.id)
            .where(Organization.kind.in_(("customer", "reseller", "distributor", "supplier")))
        ).all()
        now = datetime.now(UTC)
        rows = []
        for n in range(max(0, total - have)):
            author_id, org_id = rng.choice(authors)
            votes = int(rng.paretovariate(1.2)) - 1
            rows.append(
                {
                    "org_id": org_id,
                    "author_id": author_id,
                    "title": " ".join(rng.sample(WORDS, 4)).capitalize() + f" #{have + n}",
                    "description": "Generated to measure the board.",
                    "product": rng.choice(PRODUCTS),
                    "status": rng.choices(STATUSES, STATUS_WEIGHTS)[0],
                    "status_reason": "",
                    "vote_count": votes,
                    "recent_vote_count": rng.randint(0, votes // 10),
                    "created_at": now - timedelta(minutes=rng.randint(1, 60 * 24 * 365 * 3)),
                }
            )
            if len(rows) == 5000:
                session.execute(insert(Idea), rows)
                rows = []
        if rows:
            session.execute(insert(Idea), rows)
        session.commit()
        return total - have


# --- in-process figures ----------------------------------------------------------------------


def _later(client, path: str, pages: int = LATER) -> str:
    """The URL of page ``pages`` of the list at ``path``, reached by its "Next" links."""
    for _ in range(pages - 1):
        body = client.get(path).get_data(as_text=True)
        found = re.search(r'rel="next" href="([^"]+)"', body)
        if found is None:
            from tests.perf.bench_authenticated_page import BenchmarkError

            raise BenchmarkError(f"{path}: fewer than {pages} pages")
        path = unescape(found.group(1))
    return path


def _check_statements(name: str, statements: list[tuple[str, object]], dialect: str) -> None:
    from tests.perf.bench_authenticated_page import BenchmarkError

    for statement, parameters in statements:
        upper = " ".join(statement.upper().split())
        if "FROM IDEAS" not in upper and "FROM IDEA_VOTES" not in upper:
            continue
        # SQLAlchemy writes "LIMIT ? OFFSET ?" on SQLite for a limit alone (offset 0).
        offset = "OFFSET %" in upper or (
            dialect == "sqlite" and "OFFSET ?" in upper and tuple(parameters)[-1] != 0
        )
        if offset or "COUNT(" in upper:
            raise BenchmarkError(f"{name}: a statement counts or skips rows: {statement}")
        lists_ideas = "FROM IDEAS" in upper and "IDEAS.ID IN" not in upper
        if lists_ideas and "LIMIT" not in upper and "WHERE IDEAS.ID =" not in upper:
            raise BenchmarkError(f"{name}: a statement reads every idea: {statement}")


def page_figures(app, password: str, repeat: int) -> list:
    from sqlalchemy import event

    from tests.perf.bench_authenticated_page import BenchmarkError
    from tests.perf.bench_leads import PageFigure  # name, statements, ms, rows
    from tests.perf.bench_selfservice import _client

    customer = _client(app, CUSTOMER, password)
    staff = _client(app, STAFF, password)
    pages = [(f"{sort}, first page", customer, f"/ideas/?sort={sort}")
             for sort in ("votes", "trending", "newest")]  # fmt: skip
    pages += [(f"{sort}, page {LATER}", customer, _later(customer, f"/ideas/?sort={sort}"))
              for sort in ("votes", "trending", "newest")]  # fmt: skip
    pages += [
        ("planned, first page", customer, "/ideas/?status=planned"),
        (f"planned, page {LATER}", customer, _later(customer, "/ideas/?status=planned")),
        ("trending cloud, first", customer, "/ideas/?sort=trending&product=cloud"),
        ("staff, votes (authors)", staff, "/ideas/"),
    ]
    pages += [(name, customer, f"/ideas/similar?title={title.replace(' ', '+')}")
              for name, title in SIMILAR]  # fmt: skip
    engine = app.extensions["db"].engine
    seen: list[tuple[str, object]] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    figures = []
    for name, client, path in pages:
        if client.get(path).status_code != 200:  # warm
            raise BenchmarkError(f"{name}: GET {path} failed")
        seen.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            body = client.get(path).get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        _check_statements(name, seen, engine.dialect.name)
        if os.environ.get("BENCH_SHOW_SQL"):
            print(f"  -- {name}:", *(" ".join(s.split())[:300] for s, _ in seen), sep="\n  ")
        if path.startswith("/ideas/similar"):
            rows = len(json.loads(body))
        else:
            rows = len(re.findall(r'class="fw-semibold">', body))
        started = time.perf_counter()
        for _ in range(repeat):
            client.get(path)
        ms = (time.perf_counter() - started) * 1000 / repeat
        figures.append(PageFigure(name, len(seen), ms, rows))
    return figures


def baselines(app, repeat: int) -> dict[str, float]:
    """ms of: the first page's 25 rows read bare (DB-API, no ORM, as the database owner), the
    board before keyset paging (every idea through the ORM, trending sorted in Python), and the
    similar ideas before portal.search (every title through rapidfuzz)."""
    from datetime import timedelta as days

    from rapidfuzz import fuzz, process
    from sqlalchemy import func, select

    from feedback.ideas.models import Idea, IdeaVote
    from portal.db import db, unscoped
    from portal.engine import make_engine

    owner = make_engine(app.config["DATABASE_URL"])
    raw = owner.raw_connection()
    try:
        started = time.perf_counter()
        for _ in range(repeat):
            cursor = raw.cursor()
            cursor.execute(
                "SELECT id, title, vote_count, status FROM ideas WHERE status <> 'duplicate' "
                "ORDER BY vote_count DESC, id DESC LIMIT 26"
            )
            cursor.fetchall()
            cursor.close()
        bare = (time.perf_counter() - started) * 1000 / repeat
    finally:
        raw.close()
        owner.dispose()
    with app.app_context(), unscoped(db.session):
        session = db.session
        runs = max(1, repeat // 5)
        started = None
        for run_number in range(runs + 1):  # the first run warms up, untimed
            if run_number == 1:
                started = time.perf_counter()
            ideas = list(
                session.scalars(
                    select(Idea)
                    .where(Idea.status != "duplicate")
                    .order_by(Idea.vote_count.desc(), Idea.id.desc())
                )
            )
            since = datetime.now(UTC) - days(days=14)
            recent = dict(
                session.execute(
                    select(IdeaVote.idea_id, func.count())
                    .where(IdeaVote.created_at >= since)
                    .group_by(IdeaVote.idea_id)
                ).all()
            )
            ideas.sort(key=lambda i: (recent.get(i.id, 0), i.vote_count, i.id), reverse=True)
            session.expunge_all()
        whole = (time.perf_counter() - started) * 1000 / runs
        started = None
        for run_number in range(runs + 1):
            if run_number == 1:
                started = time.perf_counter()
            titles = dict(session.execute(select(Idea.id, Idea.title)).all())
            process.extract(SIMILAR[0][1], titles, scorer=fuzz.token_set_ratio, limit=5)
        fuzzy = (time.perf_counter() - started) * 1000 / runs
    return {
        "bare first page (DB-API)": bare,
        "old board: every idea, Python sort": whole,
        "old similar: every title, rapidfuzz": fuzzy,
    }


def compare(small, large, small_base, large_base, small_n: int, large_n: int) -> None:
    from tests.perf.bench_authenticated_page import BenchmarkError

    sizes = f"{f'ms @{small_n:,}':>11} {f'ms @{large_n:,}':>11}"
    print(f"\n  {'page':<26} {'SQL':>4} {'rows':>5} {sizes}")
    differ = []
    for a, b in zip(small, large, strict=True):
        print(f"  {a.name:<26} {b.statements:>4} {b.rows:>5} {a.ms:>11.2f} {b.ms:>11.2f}")
        if a.statements != b.statements:
            differ.append(f"{a.name}: {a.statements} at {small_n:,}, {b.statements} at {large_n:,}")
        if b.rows == 0 and "rare" not in b.name:
            differ.append(f"{b.name}: an empty page")
    print("  baselines (same run):")
    for name in small_base:
        print(f"  {name:<37} {small_base[name]:>11.2f} {large_base[name]:>11.2f}")
    first = large[0].ms
    old = large_base["old board: every idea, Python sort"]
    bare = large_base["bare first page (DB-API)"]
    print(
        f"  at {large_n:,}: first page {first:.1f} ms, the old board {old:.1f} ms "
        f"({old / first:.0f}x); bare first page {bare:.2f} ms"
    )
    if differ:
        raise BenchmarkError("statements per page grew with the data: " + "; ".join(differ))
    print("  statements per page: the same at both sizes, for every page")


def run(app, args, password: str) -> None:
    from tests.perf.bench_leads import analyze

    add_ideas(app, args.small)
    analyze(app)
    small, small_base = page_figures(app, password, args.repeat), baselines(app, args.repeat)
    started = time.perf_counter()
    added = add_ideas(app, args.ideas)
    analyze(app)
    print(f"  {added:,} ideas added in {time.perf_counter() - started:.0f} s")
    large, large_base = page_figures(app, password, args.repeat), baselines(app, args.repeat)
    compare(small, large, small_base, large_base, args.small, args.ideas)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ideas", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres-scratch-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true", help="only the PostgreSQL run")
    args = parser.parse_args(argv)
    if not 200 <= args.small < args.ideas <= 1_000_000:
        parser.error("need 200 <= --small < --ideas <= 1,000,000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tests.perf import bench_authenticated_page as base

    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); {base.load_average()}")
    if not args.skip_sqlite:
        from portal.seed import DEMO_PASSWORD
        from tests.perf.bench_leads import sqlite_demo_app

        with tempfile.TemporaryDirectory(prefix="portal-bench-feedback-") as tmp:
            app, url = sqlite_demo_app(tmp)
            run(app, args, DEMO_PASSWORD)
            app.extensions["db"].engine.dispose()
    if args.postgres_scratch_url:
        from portal.seed import DEMO_PASSWORD
        from tests.perf.bench_leads import postgres_demo_app

        app, role = postgres_demo_app(args.postgres_scratch_url)
        print(f"\nPostgreSQL (role {role}, row-level security on)")
        run(app, args, DEMO_PASSWORD)
        app.extensions["db"].engine.dispose()
    return 0


if __name__ == "__main__":
    from tests.perf.bench_authenticated_page import BenchmarkError

    try:
        sys.exit(main())
    except BenchmarkError as error:
        print(f"\nBENCHMARK FAILED: {error}", file=sys.stderr)
        sys.exit(1)
