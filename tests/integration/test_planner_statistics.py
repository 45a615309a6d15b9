"""The tick keeps SQLite's planner statistics: a table is analysed when it has none, and again
once its rows have doubled; a connection the engine opens afterwards plans with them. On
PostgreSQL (autovacuum analyses) the task does nothing."""

from __future__ import annotations

import pytest

from portal import jobs
from portal.engine import make_engine
from portal.planner_statistics import stale_tables

PROBE = "planner_probe"


def tick(app):
    with app.app_context():
        return jobs.run_periodic(["planner_statistics"])["planner_statistics"]


def plan(engine) -> str:
    # Two indexes on one equality test each: with no statistics SQLite takes the last one made
    # (kind, two values); with them, the one whose value is rare (code, unique).
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN SELECT id FROM {PROBE} WHERE kind = 1 AND code = 7"
        ).all()
    return " ".join(row[-1] for row in rows)


def add_rows(engine, start: int, count: int) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO {PROBE} (kind, code) VALUES (?, ?)",
            [(n % 2, n) for n in range(start, start + count)],
        )


@pytest.fixture
def probe(app):
    engine = app.extensions["db"].engine
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL analyses by itself")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {PROBE} (id INTEGER PRIMARY KEY, kind INT, code INT)")
        conn.exec_driver_sql(f"CREATE INDEX ix_{PROBE}_code ON {PROBE} (code)")
        conn.exec_driver_sql(f"CREATE INDEX ix_{PROBE}_kind ON {PROBE} (kind)")
    yield engine
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {PROBE}")
        if has_statistics(conn):
            conn.exec_driver_sql(f"DELETE FROM sqlite_stat1 WHERE tbl = '{PROBE}'")
    engine.dispose()


def analysed_rows(engine) -> set[int]:
    with engine.connect() as conn:
        if not has_statistics(conn):
            return set()
        stats = conn.exec_driver_sql(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = ?", (PROBE,)
        ).scalars()
        return {int(stat.split()[0]) for stat in stats}


def has_statistics(conn) -> bool:
    return bool(
        conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
    )


def test_a_table_is_analysed_when_it_has_none_and_again_once_doubled(app, probe):
    add_rows(probe, 0, 100)
    tick(app)
    assert analysed_rows(probe) == set(), "under 500 rows: any plan does"

    add_rows(probe, 100, 1_900)
    probe.dispose()
    assert "ix_planner_probe_kind" in plan(probe)  # no statistics: the wrong index
    assert tick(app) >= 1
    assert analysed_rows(probe) == {2_000}
    probe.dispose()  # a worker's connection after the hourly recycle
    assert "ix_planner_probe_code" in plan(probe)

    tick(app)
    assert analysed_rows(probe) == {2_000}, "nothing new: not analysed again"
    add_rows(probe, 2_000, 1_000)  # 1.5 times: not yet
    tick(app)
    assert analysed_rows(probe) == {2_000}
    add_rows(probe, 3_000, 1_000)  # twice the rows analysed
    tick(app)
    assert analysed_rows(probe) == {4_000}


def test_an_index_made_after_the_analysis_gets_statistics(app, probe):
    add_rows(probe, 0, 2_000)
    tick(app)
    with probe.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX ix_{PROBE}_kind_code ON {PROBE} (kind, code)")
        # A partial index that covers no row never has statistics: it must not make the table
        # stale on every tick.
        conn.exec_driver_sql(f"CREATE INDEX ix_{PROBE}_none ON {PROBE} (code) WHERE kind = 9")
    with probe.connect() as conn:
        assert PROBE in stale_tables(conn)
    tick(app)
    with probe.connect() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT idx FROM sqlite_stat1 WHERE tbl = ?", (PROBE,)
        ).scalars()
        assert f"ix_{PROBE}_kind_code" in set(indexes)
        assert PROBE not in stale_tables(conn)


def test_nothing_is_analysed_twice_without_a_change(app, probe):
    # The full-text index's tables have WITHOUT ROWID primary keys, whose statistics are kept
    # under the table's name: they analysed again on every tick before.
    add_rows(probe, 0, 1_000)
    with probe.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE planner_probe_wr (k TEXT PRIMARY KEY) WITHOUT ROWID")
        conn.exec_driver_sql("INSERT INTO planner_probe_wr SELECT 'k' || id FROM planner_probe")
    try:
        tick(app)
        assert tick(app) == 0
    finally:
        with probe.begin() as conn:
            conn.exec_driver_sql("DROP TABLE planner_probe_wr")


def test_sqlite_connections_are_reopened_hourly_unless_the_database_is_in_memory(app, probe):
    assert probe.pool._recycle == 3600
    assert make_engine("sqlite://").pool._recycle == -1


def test_the_task_does_nothing_on_postgresql(app):
    if app.extensions["db"].engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    assert tick(app) is None
