"""Full-text search of articles, one interface over the database's own engine: SQLite FTS5
(bm25 ranking, snippet) or PostgreSQL full-text search (ts_rank over weighted tsvectors,
ts_headline). Title matches weigh more than body matches. The query is an ORM select of
``Article``, so the tenant wall adds the reader's audience rule like everywhere else.

What people type is never passed to the engine's query syntax: it is split into words, and each
word becomes a quoted prefix term (``"printe"*`` / ``printe:*``) joined by OR; ranking sorts the
articles that match more and rarer words first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import column, func, literal_column, select, table

from portal.db import db
from selfservice.kb.models import Article

START, STOP = "\x02", "\x03"  # highlight marks: no one types them, and they are escaped away
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12


@dataclass(frozen=True)
class Hit:
    article: Article
    rank: float
    snippet: Markup


def terms(query: str) -> list[str]:
    words = [w for w in _WORD.findall((query or "").lower()) if len(w) >= 2]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def _highlight(snippet: str | None) -> Markup:
    text = re.sub(r"[#*_`>|\[\]]+", " ", snippet or "")
    text = re.sub(r"\s+", " ", text).strip()
    html = str(escape(text)).replace(START, "<mark>").replace(STOP, "</mark>")
    return Markup(html)  # noqa: S704 - escaped above; only our own marks become tags


def _sqlite(words: list[str], category_id: int | None):
    fts = table("articles_fts", column("rowid"))
    hidden = literal_column("articles_fts")
    rank = func.bm25(hidden, 10.0, 1.0)  # lower is better; title first
    snippet = func.snippet(hidden, 1, START, STOP, "…", 24)
    stmt = (
        select(Article, rank.label("rank"), snippet.label("snippet"))
        .join(fts, fts.c.rowid == Article.id)
        .where(hidden.op("MATCH")(" OR ".join(f'"{w}"*' for w in words)))
        .order_by(rank, Article.id)
    )
    return stmt, lambda r: -float(r)


def document():
    """The weighted tsvector, stored by migration 0006 (PostgreSQL only, no model column)."""
    return literal_column("articles.search_vector")


def _postgresql(words: list[str], category_id: int | None):
    english = literal_column("'english'::regconfig")
    query = func.to_tsquery(english, " | ".join(f"{w}:*" for w in words))
    doc = document()
    rank = func.ts_rank(doc, query)
    snippet = func.ts_headline(
        english,
        Article.body,
        query,
        f"StartSel={START}, StopSel={STOP}, MaxWords=35, MinWords=12, MaxFragments=2, "
        'FragmentDelimiter=" … "',
    )
    stmt = (
        select(Article, rank.label("rank"), snippet.label("snippet"))
        .where(doc.op("@@")(query))
        .order_by(rank.desc(), Article.id)
    )
    return stmt, float


def search(query: str, *, limit: int = 10, category_id: int | None = None) -> list[Hit]:
    """The best matches the reader may see, best first, each with a highlighted snippet."""
    words = terms(query)
    if not words:
        return []
    dialect = db.session.get_bind().dialect.name
    build = _postgresql if dialect == "postgresql" else _sqlite
    stmt, score = build(words, category_id)
    if category_id:
        stmt = stmt.where(Article.category_id == category_id)
    rows = db.session.execute(stmt.limit(limit)).all()
    return [Hit(row[0], score(row[1]), _highlight(row[2])) for row in rows]
