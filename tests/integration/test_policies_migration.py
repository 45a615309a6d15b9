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
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the scratch database

BEFORE = "0042_case_counts_index"
# Each call as PostgreSQL prints it back, with what comes before it.
CALL = re.compile(r"(.{0,24})current_setting\(")
READ_ONCE = ("( SELECT ", "( SELECT (NULLIF(")


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


def calls_read_per_row(conditions) -> list[str]:
    """The conditions that call ``current_setting`` outside a subquery of its own."""
    return [
        condition
        for pair in conditions
        for condition in pair
        if condition and any(not p.endswith(READ_ONCE) for p in CALL.findall(condition))
    ]


def test_0043_reads_every_setting_once_per_statement_and_the_downgrade_restores(scratch_url):  # noqa: F811
    if not scratch_url.startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            before = policies(conn)
            assert calls_read_per_row(before.values())  # the case this migration mends
        with engine.begin() as conn:
            migrate.upgrade(conn)
            after = policies(conn)
            assert after.keys() == before.keys()
            assert calls_read_per_row(after.values()) == []
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            assert unprinted(policies(conn)) == unprinted(before)
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert policies(conn) == after
    finally:
        engine.dispose()
