"""SQLite's query-planner statistics, kept up to date by the tick.

SQLite plans without statistics until ``ANALYZE`` runs, and it never runs it by itself: without
them it guesses every table at a million rows and every index equally selective, and where two
indexes could serve a query it takes the last one made (``tests/integration/
test_planner_statistics.py`` shows the switch). The portal's databases had statistics only where
a benchmark's builder made them.

Statistics made when a table was small mislead the planner once it has grown, so a table is
analysed again once its row count has doubled or halved since its statistics were made (a few
times over a database's life), or once a migration has given it an index without statistics.
``ANALYZE`` reads the whole table here (410 ms for 200,000 cases): SQLite's ``analysis_limit``
sampling is faster, but on the benchmark's cases it put 401 rows under each status where there
are 33,334. PostgreSQL's autovacuum analyses by itself, so this is SQLite's only.

A connection reads the statistics when it opens; the SQLite engine recycles its connections
hourly (``portal.engine``), so every worker plans with them within the hour.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select, table

from portal.db import db

# Tables smaller than this are read whole in well under a millisecond: any plan does.
MIN_ROWS = 500
GROWTH = 2.0


def stale_tables(connection: Connection) -> list[str]:
    """The tables with no statistics, with an index that has none (made by a later migration),
    or whose statistics were made at half or twice their rows now."""
    names = (
        connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
        )
        .scalars()
        .all()
    )
    analysed: dict[str, int] = {}
    indexes_analysed = set()
    if has_statistics(connection):
        # Each row's stat begins with the table's row count when it was analysed.
        for name, index, stat in connection.exec_driver_sql(
            "SELECT tbl, idx, stat FROM sqlite_stat1"
        ):
            analysed[name] = max(analysed.get(name, 0), int(stat.split()[0]))
            indexes_analysed.add(index)
    stale = []
    for name in names:
        rows = connection.execute(select(func.count()).select_from(table(name))).scalar_one()
        if rows < MIN_ROWS:
            continue
        then = analysed.get(name)
        if (
            then is None
            or rows >= then * GROWTH
            or rows * GROWTH <= then
            or _indexes_owed_statistics(connection, name) - indexes_analysed
        ):
            stale.append(name)
    return stale


def has_statistics(connection: Connection) -> bool:
    """Whether the SQLite database has planner statistics at all (ANALYZE has run once)."""
    found = "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
    return connection.exec_driver_sql(found).first() is not None


def _indexes_owed_statistics(connection: Connection, name: str) -> set[str]:
    """The table's indexes that have a row of their own in sqlite_stat1 once analysed."""
    # A partial index that covers no row gets no statistics however often it is analysed, and a
    # WITHOUT ROWID table's primary key has them under the table's name. A primary key is there
    # from the table's first analysis on, so neither can be an index a later migration made.
    listed = connection.exec_driver_sql(f"PRAGMA index_list({_quote(connection, name)})")
    return {row.name for row in listed if not row.partial and row.origin != "pk"}


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def refresh() -> int | None:
    """Analyse the stale tables (the tick's task); the number analysed, or None off SQLite."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return None
    stale = stale_tables(connection)
    for name in stale:
        connection = db.session.connection()  # the transaction of this table
        connection.exec_driver_sql(f"ANALYZE {_quote(connection, name)}")
        # A table a transaction: ANALYZE holds SQLite's one write lock while it reads the table
        # (410 ms for 200,000 cases), and writing requests wait for it.
        db.session.commit()
    return len(stale)
