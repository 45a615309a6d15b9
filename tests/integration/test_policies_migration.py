"""0043 on PostgreSQL, on a scratch database of its own: every row-level security policy reads
the session's settings through a scalar subquery (once per statement, not once per row), no
policy is added or lost, and the downgrade gives back the conditions 0042 had (as PostgreSQL
prints them: casts and brackets aside). What the policies allow is tested on the migrated test
database (test_row_level_security and the other *_rls modules)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from portal import migrate
from portal.engine import make_engine
from portal.migrate import setting_calls, tables_read_in_subqueries
from tests.conftest import APP_ROLE
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the scratch database

BEFORE = "0042_case_counts_index"


def policies(conn) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    rows = conn.execute(
        text(
            "SELECT tablename, policyname, qual, with_check FROM pg_policies "
            "WHERE schemaname = current_schema()"
        )
    )
    return {(table, name): (using, check) for table, name, using, check in rows}


def unprinted(found: dict) -> dict:
    """The conditions without the casts and brackets PostgreSQL adds when it prints a condition
    it has read back (``'a'::character varying`` in an array, for one)."""
    noise = re.compile(r"::(text|character varying|integer)(\[\])?|[()\s]")
    return {key: tuple(noise.sub("", c) if c else c for c in pair) for key, pair in found.items()}


def calls_read_per_row(found: dict) -> list[str]:
    """The policies that call ``current_setting`` at their condition's top level (not in a
    subquery), but for those of the tables other policies read in a subquery, which must."""
    nested = tables_read_in_subqueries(c for pair in found.values() for c in pair if c)
    return [
        f"{table}.{name}"
        for (table, name), pair in found.items()
        if table not in nested
        for condition in pair
        if condition and any(n == 0 for _s, _e, n in setting_calls(condition))
    ]


def initplans_in_subqueries(found: dict) -> list[str]:
    """The policies with a scalar subquery reading a setting inside another subquery, or in a
    table other policies read in a subquery: an InitPlan there makes every statement on the
    table parallel-restricted."""
    nested = tables_read_in_subqueries(c for pair in found.values() for c in pair if c)
    return [
        f"{table}.{name}"
        for (table, name), pair in found.items()
        for condition in pair
        if condition
        and any(
            (n >= 2 or table in nested) and condition[:start].rstrip().endswith("SELECT")
            for start, _e, n in setting_calls(condition)
        )
    ]


def serial_tables(conn) -> set[str]:
    """The tables with policies that a count over, by the portal's role seeing everything,
    cannot scan in parallel even with parallel plans made free."""
    tables = conn.scalars(
        text("SELECT DISTINCT tablename FROM pg_policies WHERE schemaname = current_schema()")
    ).all()
    conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {APP_ROLE}"))
    conn.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    conn.execute(text("SELECT set_config('app.scope', 'all', true)"))
    for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
        conn.execute(text(f"SET LOCAL {setting} = 0"))
    plans = {t: conn.scalars(text(f'EXPLAIN SELECT count(*) FROM "{t}"')).all() for t in tables}
    conn.execute(text("RESET ROLE"))
    # A parallel scan is a Gather right under the count; one further down is a subquery's own.
    return {
        t for t, plan in plans.items() if not any(line.startswith("  ->  Gather") for line in plan)
    }


def test_0043_reads_every_setting_once_per_statement_and_the_downgrade_restores(scratch_url):  # noqa: F811
    if not scratch_url.startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            before = policies(conn)
            serial_before = serial_tables(conn)
            assert calls_read_per_row(before)  # the case this migration mends
        with engine.begin() as conn:
            migrate.upgrade(conn)
            after = policies(conn)
            assert after.keys() == before.keys()
            assert calls_read_per_row(after) == []
            assert initplans_in_subqueries(after) == []
            # No statement becomes parallel-restricted: an InitPlan inside a subquery would.
            assert serial_tables(conn) == serial_before
            assert len(serial_before) < len(after) / 2  # most tables scan in parallel
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            assert unprinted(policies(conn)) == unprinted(before)
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert policies(conn) == after
    finally:
        engine.dispose()
