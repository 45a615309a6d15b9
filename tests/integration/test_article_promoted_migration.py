"""0017 on a help centre that holds articles and votes, on a scratch database of its own: every
existing article starts unpromoted, and neither direction rebuilds ``articles`` on SQLite (the
full-text index's triggers, the articles and the votes that reference them all stay)."""

from __future__ import annotations

from sqlalchemy import inspect, text

from portal import migrate
from portal.engine import make_engine
from tests.integration.test_migrations import scratch_url  # noqa: F401 - the scratch database

BEFORE = "0016_search"


def _add_article(conn, title: str, **promoted) -> int:
    columns, values = ("promoted, ", ":promoted, ") if promoted else ("", "")
    return conn.scalar(
        text(
            f"INSERT INTO articles (title, body, audience, status, {columns}created_at, "
            f"updated_at, version) VALUES (:title, 'Restart the print spooler.', 'public', "
            f"'published', {values}CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1) RETURNING id"
        ),
        {"title": title, **promoted},
    )


def _promoted(conn) -> dict[int, bool]:
    return {i: bool(p) for i, p in conn.execute(text("SELECT id, promoted FROM articles"))}


def _columns(conn) -> dict[str, dict]:
    return {c["name"]: c for c in inspect(conn).get_columns("articles")}


def _found(conn, word: str) -> set[int]:
    """The articles the full-text index finds by ``word`` (kept in step by 0006's triggers on
    SQLite, by a generated column on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        sql = "SELECT id FROM articles WHERE search_vector @@ to_tsquery('english', :q)"
    else:
        sql = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q"
    return set(conn.scalars(text(sql), {"q": word}))


def _votes(conn) -> int:
    return conn.scalar(text("SELECT count(*) FROM article_votes"))


def test_0017_adds_an_unpromoted_flag_and_the_downgrade_is_clean(scratch_url):  # noqa: F811
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, BEFORE)
            old = _add_article(conn, "Printer offline")
            conn.execute(
                text(
                    "INSERT INTO article_votes (article_id, voter, helpful, comment, created_at) "
                    "VALUES (:id, 'visitor:1', true, '', CURRENT_TIMESTAMP)"
                ),
                {"id": old},
            )
        with engine.begin() as conn:
            migrate.upgrade(conn, "0017_article_promoted")
            column = _columns(conn)["promoted"]
            assert not column["nullable"]
            assert _promoted(conn) == {old: False}
            newcomer = _add_article(conn, "Scanner jams")  # the server default
            chosen = _add_article(conn, "Getting started", promoted=True)
            assert _promoted(conn) == {old: False, newcomer: False, chosen: True}
            # No rebuild: the index follows edits and the votes stayed.
            conn.execute(text("UPDATE articles SET title = 'Toner smudges' WHERE id = :id"),
                         {"id": old})  # fmt: skip
            assert _found(conn, "toner") == {old}
            assert _found(conn, "scanner") == {newcomer}
            assert _votes(conn) == 1
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.differences(conn) == []
        with engine.begin() as conn:
            migrate.downgrade(conn, BEFORE)
            assert "promoted" not in _columns(conn)
            assert conn.scalar(text("SELECT count(*) FROM articles")) == 3
            assert _votes(conn) == 1
            later = _add_article(conn, "Fax gateway")
            assert _found(conn, "fax") == {later}
            assert _found(conn, "toner") == {old}
        with engine.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.differences(conn) == []
            assert _promoted(conn) == {old: False, newcomer: False, chosen: False, later: False}
    finally:
        engine.dispose()
