"""Full-text search, one interface over the database's own engine, for every feature that
searches text (the knowledge base, the ideas board).

A ``FullTextIndex`` names a model and the text columns it searches, most important first. The
index itself is created by a migration, since no model describes it (``portal.db``
``UNMODELLED_OBJECTS``, so ``db check`` leaves it alone):

- SQLite: an FTS5 table ``<table>_fts`` over the columns (``content='<table>'``,
  ``tokenize='porter unicode61'``), kept in step by triggers; ranked by bm25, the first column
  weighing ten times the others.
- PostgreSQL: a stored generated column ``search_vector`` of the columns' tsvectors weighted A, B,
  … in order (``'english'``), with a GIN index ``ix_<table>_search``; ranked by ts_rank.

A later migration that rebuilds such a table on SQLite (``batch_alter_table`` copies it into a
new one) drops its FTS triggers with it: it must create them again, as 0006 and 0010 do.

What people type is never passed to the engine's query syntax: it is split into words, and each
word becomes a quoted prefix term (``"printe"*`` / ``printe:*``) joined by OR; ranking sorts the
records that match more and rarer words first. The query is an ORM select of the model, so the
tenant wall adds the reader's rule like everywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import column, func, literal, literal_column, select, table

from portal.db import UNMODELLED_OBJECTS, db

START, STOP = "\x02", "\x03"  # highlight marks: no one types them, and they are escaped away
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12
FTS5_SHADOW_TABLES = ("", "_data", "_idx", "_docsize", "_config", "_content")


@dataclass(frozen=True)
class FullTextIndex:
    model: type
    columns: tuple[str, ...]  # most important first
    snippet_column: str | None = None  # highlighted in each hit; None: no snippet

    def __post_init__(self) -> None:
        table_name = self.model.__tablename__
        UNMODELLED_OBJECTS.update(f"{table_name}_fts{suffix}" for suffix in FTS5_SHADOW_TABLES)
        UNMODELLED_OBJECTS.update({f"ix_{table_name}_search", "search_vector"})

    @property
    def fts_table(self) -> str:
        return f"{self.model.__tablename__}_fts"

    def document(self):
        """The stored weighted tsvector (PostgreSQL)."""
        return literal_column(f"{self.model.__tablename__}.search_vector")


@dataclass(frozen=True)
class Hit:
    record: object
    rank: float  # higher is better, comparable within one search only
    snippet: Markup


def terms(query: str) -> list[str]:
    words = [w for w in _WORD.findall((query or "").lower()) if len(w) >= 2]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def _highlight(snippet: str | None) -> Markup:
    text = re.sub(r"[#*_`>|\[\]]+", " ", snippet or "")
    text = re.sub(r"\s+", " ", text).strip()
    html = str(escape(text)).replace(START, "<mark>").replace(STOP, "</mark>")
    return Markup(html)  # noqa: S704 - escaped above; only our own marks become tags


def _sqlite(index: FullTextIndex, words: list[str]):
    model = index.model
    fts = table(index.fts_table, column("rowid"))
    hidden = literal_column(index.fts_table)
    weights = [10.0] + [1.0] * (len(index.columns) - 1)
    rank = func.bm25(hidden, *weights)  # lower is better
    if index.snippet_column:
        snippet = func.snippet(
            hidden, index.columns.index(index.snippet_column), START, STOP, "…", 24
        )
    else:
        snippet = literal("")
    stmt = (
        select(model, rank.label("rank"), snippet.label("snippet"))
        .join(fts, fts.c.rowid == model.id)
        .where(hidden.op("MATCH")(" OR ".join(f'"{w}"*' for w in words)))
        .order_by(rank, model.id)
    )
    return stmt, lambda r: -float(r)


def _postgresql(index: FullTextIndex, words: list[str]):
    model = index.model
    english = literal_column("'english'::regconfig")
    query = func.to_tsquery(english, " | ".join(f"{w}:*" for w in words))
    doc = index.document()
    rank = func.ts_rank(doc, query)
    if index.snippet_column:
        snippet = func.ts_headline(
            english,
            getattr(model, index.snippet_column),
            query,
            f"StartSel={START}, StopSel={STOP}, MaxWords=35, MinWords=12, MaxFragments=2, "
            'FragmentDelimiter=" … "',
        )
    else:
        snippet = literal("")
    stmt = (
        select(model, rank.label("rank"), snippet.label("snippet"))
        .where(doc.op("@@")(query))
        .order_by(rank.desc(), model.id)
    )
    return stmt, float


def search(index: FullTextIndex, query: str, *, limit: int = 10, where=()) -> list[Hit]:
    """The best matches of ``query`` the reader may see, best first, narrowed by ``where``
    (conditions on the model), each with its highlighted snippet."""
    words = terms(query)
    if not words:
        return []
    dialect = db.session.get_bind().dialect.name
    build = _postgresql if dialect == "postgresql" else _sqlite
    stmt, score = build(index, words)
    for condition in where:
        stmt = stmt.where(condition)
    rows = db.session.execute(stmt.limit(limit)).all()
    return [Hit(row[0], score(row[1]), _highlight(row[2])) for row in rows]
