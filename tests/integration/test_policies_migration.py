"""0043 on PostgreSQL, on a scratch database of its own: every row-level security policy reads
the session's settings through a scalar subquery (once per statement, not once per row), no
policy is added or lost, no condition changes but for the calls, no table loses its parallel
scan, and the downgrade gives back the conditions 0042 had (as PostgreSQL prints them: casts
aside). What the policies allow is tested on the migrated test
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
REVISION = "0043_policies_read_settings_once"  # later migrations add policies of their own


def policies(conn) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    rows = conn.execute(
        text(
            "SELECT tablename, policyname, qual, with_check FROM pg_policies "
            "WHERE schemaname = current_schema()"
        )
    )
    return {(table, name): (using, check) for table, name, using, check in rows}


# The scalar subqueries 0043 writes, as PostgreSQL prints them back, and the call in each.
READ_ONCE = re.compile(
    r"\( SELECT (\(NULLIF\(current_setting\('app\.org_id'::text(?:, true)?\), ''::text\)\)"
    r"::integer) AS \"nullif\"\)"
    r"|\( SELECT (current_setting\('app\.\w+'::text(?:, true)?\)) AS current_setting\)"
)
# What PostgreSQL prints differently after reading its own print back: casts, and the brackets
# around a cast literal or array ("('a'::character varying)::text" for "'a'::character varying").
CAST = re.compile(r"::(?:text|character varying|integer)(?:\[\])?")
LITERAL_IN_BRACKETS = re.compile(r"\(('[^']*'|ARRAY\[[^\]]*\])\)")


def unprinted(found: dict, *, unwrap: bool = False) -> dict:
    """The conditions without the casts (and the brackets around cast literals) that PostgreSQL
    adds when it prints a condition it has read back; ``unwrap``: also with each call taken out of
    the scalar subquery 0043 put it in. Every other bracket stays, so a change of precedence
    shows."""

    def plain(condition: str) -> str:
        if unwrap:
            condition = READ_ONCE.sub(lambda m: m[1] or m[2], condition)
        condition = CAST.sub("", condition)
        while (shorter := LITERAL_IN_BRACKETS.sub(r"\1", condition)) != condition:
            condition = shorter
        return re.sub(r"\s+", " ", condition)

    return {key: tuple(plain(c) if c else c for c in pair) for key, pair in found.items()}


def _nested(found: dict) -> set[str]:
    return tables_read_in_subqueries(c for pair in found.values() for c in pair if c)


def calls_read_per_row(found: dict) -> list[str]:
    """The policies that call ``current_setting`` at their condition's top level (not in a
    subquery), but for those of the tables other policies read in a subquery, which must."""
    nested = _nested(found)
    return [
        f"{table}.{name}"
        for (table, name), pair in found.items()
        if table not in nested
        for condition in pair
        if condition and any(call.subqueries == 0 for call in setting_calls(condition))
    ]


def initplans_in_subqueries(found: dict) -> list[str]:
    """The policies with a scalar subquery reading a setting (an InitPlan) inside another
    subquery, or at all in a table other policies read in a subquery: either makes every
    statement on the table parallel-restricted."""
    nested = _nested(found)
    return [
        f"{table}.{name}"
        for (table, name), pair in found.items()
        for condition in pair
        if condition
        and any(
            call.in_scalar_subquery and (call.subqueries >= 2 or table in nested)
            for call in setting_calls(condition)
        )
    ]


def serial_tables(conn, found: dict) -> set[str]:
    """The tables with policies that a count over, by the portal's role seeing everything,
    does not scan in parallel, with parallel plans made free. The tables read in the policies'
    subqueries get no workers of their own, so the planner cannot spend its workers there."""
    tables = {table for table, _name in found}
    for table in _nested(found):
        conn.execute(text(f'ALTER TABLE "{table}" SET (parallel_workers = 0)'))
    conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {APP_ROLE}"))
    conn.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    conn.execute(text("SELECT set_config('app.scope', 'all', true)"))
    for setting, value in (
        ("parallel_setup_cost", 0),
        ("parallel_tuple_cost", 0),
        ("min_parallel_table_scan_size", 0),
        ("max_parallel_workers_per_gather", 2),
    ):
        conn.execute(text(f"SET LOCAL {setting} = {value}"))
    plans = {t: conn.scalars(text(f'EXPLAIN SELECT count(*) FROM "{t}"')).all() for t in tables}
    conn.execute(text("RESET ROLE"))
    for table in _nested(found):
        conn.execute(text(f'ALTER TABLE "{table}" RESET (parallel_workers)'))
    return {
        t
        for t, plan in plans.items()
        if not any("Parallel " in line and f" on {t} " in f"{line} " for line in plan)
    }


def test_0043_reads_every_setting_once_per_statement_and_the_downgrade_restores(scratch_url):  # noqa: F811
    if not scratch_url.startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            before = policies(conn)
            serial_before = serial_tables(conn, before)
            assert calls_read_per_row(before)  # the case this migration mends
        with engine.begin() as conn:
            migrate.upgrade(conn, REVISION)
            after = policies(conn)
            assert after.keys() == before.keys()
            assert unprinted(after, unwrap=True) == unprinted(before)  # only the calls wrapped
            assert calls_read_per_row(after) == []
            assert initplans_in_subqueries(after) == []
            # No statement becomes parallel-restricted: an InitPlan inside a subquery would.
            assert serial_tables(conn, after) == serial_before
            assert len(serial_before) < len({t for t, _n in after}) / 4  # most scan in parallel
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            assert unprinted(policies(conn)) == unprinted(before)
        with engine.begin() as conn:
            migrate.upgrade(conn, REVISION)
            assert policies(conn) == after
    finally:
        engine.dispose()
