"""The SQLite engine's transactions (``portal.engine``): it begins every transaction itself, and
an engine made with ``isolation_level="AUTOCOMMIT"`` commits each statement instead. Before, the
engine's own BEGIN held an AUTOCOMMIT connection in a transaction that was rolled back when the
connection went back to the pool: the benchmarks' ``ANALYZE`` left no statistics, and their
SQLite case lists planned without any. On a SQLite file of the test's own, whatever the suite's
database."""

from __future__ import annotations

import pytest

from portal.engine import make_engine


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'engine.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE probe (id INTEGER PRIMARY KEY, kind INTEGER)")
        conn.exec_driver_sql("CREATE INDEX ix_probe_kind ON probe (kind)")
        conn.exec_driver_sql("INSERT INTO probe (kind) VALUES (1), (2)")
    engine.dispose()
    return url


def rows_and_statistics(url) -> tuple[int, bool]:
    """Read from a connection of a new engine: only what was committed."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT count(*) FROM probe").scalar_one()
            analysed = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).first()
        return rows, analysed is not None
    finally:
        engine.dispose()


def test_an_autocommit_engine_keeps_each_statement(url):
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("INSERT INTO probe (kind) VALUES (3)")
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()  # the pool's reset on return would roll back an open transaction

    assert rows_and_statistics(url) == (3, True)


def test_an_ordinary_engine_still_keeps_only_what_is_committed(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("INSERT INTO probe (kind) VALUES (3)")
            conn.exec_driver_sql("ANALYZE")
            conn.rollback()
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO probe (kind) VALUES (4)")
    finally:
        engine.dispose()

    assert rows_and_statistics(url) == (3, False)
