"""Alembic, driven from the app's configuration (there is no alembic.ini to keep in step)."""

from __future__ import annotations

import re
from typing import NamedTuple

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from portal.config import PROJECT_ROOT


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def differences(connection: Connection) -> list:
    """What the models have that the migrated schema lacks, or the reverse (empty = in step)."""
    from portal.app import load_models
    from portal.db import UNMODELLED_OBJECTS, Base

    load_models()
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "render_as_batch": True,
            "include_name": lambda name, type_, parents: name not in UNMODELLED_OBJECTS,
        },
    )
    return compare_metadata(context, Base.metadata)


# Adding a foreign key column to a table that exists, on SQLite, without rebuilding the table.
# Alembic's batch mode would copy the table into a new one and drop the old: that drops the FTS5
# triggers a table may carry (migration 0016), and the DROP's implicit DELETE runs the ON DELETE
# actions of every table that references it. Instead the column is added plain and the foreign
# key is written into the stored CREATE TABLE as a table constraint
# (sqlite.org/lang_altertable.html, section 7); PostgreSQL adds the constraint as usual.


def sqlite_rewrite_table(bind: Connection, table: str, change) -> None:
    """Replace the stored CREATE TABLE of ``table`` with ``change(sql)``, bumping the schema
    version so every connection reads it again."""
    from sqlalchemy import text

    sql = bind.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :table"),
        {"table": table},
    ).scalar_one()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.execute(
            text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :table"),
            {"sql": change(sql), "table": table},
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _sqlite_constraint(name: str, column: str, referred: str, ondelete: str) -> str:
    return (
        f", \n\tCONSTRAINT {name} FOREIGN KEY({column}) REFERENCES {referred} (id) "
        f"ON DELETE {ondelete}"
    )


def add_foreign_key(op, table: str, column: str, referred: str, *, name: str, ondelete: str):
    """The foreign key ``table.column -> referred.id`` on a column just added (plain) to a table
    that exists; no rebuild on SQLite."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.create_foreign_key(name, table, referred, [column], ["id"], ondelete=ondelete)
        return
    constraint = _sqlite_constraint(name, column, referred, ondelete)

    def with_fk(sql: str) -> str:
        return f"{sql.rstrip().rstrip(')').rstrip()}{constraint}\n)"

    sqlite_rewrite_table(bind, table, with_fk)


def drop_foreign_key(op, table: str, column: str, referred: str, *, name: str, ondelete: str):
    """Undo ``add_foreign_key`` (the column itself is the caller's to drop)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(name, table, type_="foreignkey")
        return
    constraint = _sqlite_constraint(name, column, referred, ondelete)

    def without_fk(sql: str) -> str:
        if constraint not in sql:
            raise RuntimeError(f"{table}: the constraint {name} is not as add_foreign_key wrote it")
        return sql.replace(constraint, "")

    sqlite_rewrite_table(bind, table, without_fk)


# Row-level security on PostgreSQL. A policy's condition runs on every row a statement reads; a
# bare ``current_setting()`` in it is called again on each of them (about 1.1 µs a row: half of a
# 10 ms full-text search over 4,400 ideas). Written as a scalar subquery it is an InitPlan, read
# once per statement. But an InitPlan inside a subquery makes the whole statement
# parallel-restricted (a vendor-wide aggregate then scans in one process), and a policy's
# subquery brings the policy of the table it reads along. So: the settings are read once at a
# policy's top level (these three), and per row inside its subqueries and in the policies of the
# tables other policies read in a subquery (``tables_read_in_subqueries``: organisations, quotes,
# lead offers, supplier offers). Migration 0043 rewrote the older policies so, with the two
# helpers below; ``test_row_level_security`` checks both rules on the migrated database, and
# 0043's own test runs it on a scratch one (so a change to the helpers that changes what 0043
# does fails there).
SCOPE_ALL = "((SELECT current_setting('app.scope', true)) = 'all')"
ORG = "(SELECT NULLIF(current_setting('app.org_id', true), '')::integer)"
OWN_ORG = f"({SCOPE_ALL} OR org_id = {ORG})"
# A call as PostgreSQL prints a policy back (pg_policies): app.org_id cast, or any setting.
SETTING_CALL = re.compile(
    r"\(NULLIF\(current_setting\('app\.org_id'::text(?:, true)?\), ''::text\)\)::integer"
    r"|current_setting\('app\.\w+'::text(?:, true)?\)"
)
_SUBQUERY = ("SELECT ", "WITH ")
# A table read in a subquery: after FROM (not IS [NOT] DISTINCT FROM) or JOIN, maybe bracketed.
_READ_TABLE = re.compile(r"(?<!DISTINCT )\b(?:FROM|JOIN)\s+\(*\s*(?:ONLY\s+)?(\w+)")


class SettingCall(NamedTuple):
    start: int
    end: int
    subqueries: int  # how many subqueries enclose the call
    in_scalar_subquery: bool  # the innermost one reads no table: an InitPlan


def setting_calls(condition: str) -> list[SettingCall]:
    """Each call reading a session setting in ``condition`` as PostgreSQL prints it, with the
    subqueries around it (a scalar subquery written to read it once counts as one)."""
    calls, brackets, quoted, i = [], [], False, 0  # brackets: (position, opens a subquery)
    while i < len(condition):
        char = condition[i]
        if char == "'":
            quoted = not quoted  # '' inside a literal toggles twice
        elif not quoted:
            call = SETTING_CALL.match(condition, i)
            if call:
                subqueries = [at for at, opens in brackets if opens]
                scalar = bool(subqueries) and " FROM " not in _bracketed(condition, subqueries[-1])
                calls.append(SettingCall(i, call.end(), len(subqueries), scalar))
                i = call.end()
                continue
            if char == "(":
                brackets.append((i, condition[i + 1 :].lstrip().startswith(_SUBQUERY)))
            elif char == ")":
                brackets.pop()
        i += 1
    return calls


def _bracketed(condition: str, start: int) -> str:
    """The text from the bracket at ``start`` to the one that closes it."""
    depth, quoted = 0, False
    for i in range(start, len(condition)):
        char = condition[i]
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0:
                return condition[start : i + 1]
    return condition[start:]


def tables_read_in_subqueries(conditions) -> set[str]:
    """The tables that policy conditions (as PostgreSQL prints them) read in a subquery."""
    return {table for condition in conditions for table in _READ_TABLE.findall(condition)}


def analyze_new_index(op, name: str) -> None:
    """Statistics for an index a migration has just made, on SQLite where the planner already
    has some (``sqlite_stat1``): without its own it is not weighed like the others. Where there
    are none, the tick's ``planner_statistics`` makes them; PostgreSQL needs nothing."""
    from portal.planner_statistics import has_statistics

    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and has_statistics(bind):
        op.execute(f"ANALYZE {name}")
