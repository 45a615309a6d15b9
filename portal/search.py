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

Under row-level security PostgreSQL can use the GIN index only because migration 0016 marks the
``tsvector @@ tsquery`` operator LEAKPROOF (where the migrating role may): a policy is otherwise
checked on every row first.

A later migration that rebuilds such a table on SQLite (``batch_alter_table`` copies it into a
new one) drops its FTS triggers with it: it must create them again, as 0006 and 0010 do.

What people type is never passed to the engine's query syntax: it is split into words, and each
word becomes a quoted prefix term (``"printe"*`` / ``printe:*``). ``search`` joins them by OR and
ranks the records that match more and rarer words first (documents: articles, ideas);
``matches`` is a condition that holds every word, for a list that keeps its own order (records:
leads, cases). Either is part of an ORM select of the model, so the tenant wall adds the reader's
rule like everywhere else.

Search across the portal: ``portal`` imports no feature package, so each package adds a
``Source`` of its records in its ``init_app`` (``search.add_source(...)``), and ``everywhere``
asks every source the principal's actions allow, a few records and a capped count each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    any_,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    union_all,
)

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


def terms(query: str, *, shortest: int = 2) -> list[str]:
    """The words of ``query`` to look for, lower case, each once, at most ``MAX_TERMS``."""
    words = [w for w in _WORD.findall((query or "").lower()) if len(w) >= shortest]
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
    # FTS5's snippet() reads the MATCH's own cursor: ranked, limited and highlighted at once.
    return stmt, lambda r: -float(r), lambda ranking, limit: ranking.limit(limit)


def _postgresql(index: FullTextIndex, words: list[str]):
    model = index.model
    english = literal_column("'english'::regconfig")
    query = func.to_tsquery(english, " | ".join(f"{w}:*" for w in words))
    doc = index.document()
    rank = func.ts_rank(doc, query)
    ranking = (
        select(model.id, rank.label("rank"))
        .where(doc.op("@@")(query))
        .order_by(rank.desc(), model.id)
    )

    def best(ranking: Select, limit: int) -> Select:
        """The first ``limit`` of ``ranking`` whole, with their snippets. Ranked on ids alone
        first: sorting every match's whole row cost twice as much (21.8 against 11.3 ms for
        19,551 matching articles under row-level security), and only the best get a snippet."""
        top = ranking.limit(limit).subquery("best")
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
        return (
            select(model, top.c.rank, snippet.label("snippet"))
            .join(top, top.c.id == model.id)
            .order_by(top.c.rank.desc(), model.id)
        )

    return ranking, float, best


def _builder():
    """The database's builder: ``(ranking, score, best)``, the matches ranked (a select that
    conditions on the model narrow), how a rank reads as a score (higher is better), and
    ``best(ranking, limit)``, the statement of the first ``limit`` whole, each with its snippet."""
    return _postgresql if db.session.get_bind().dialect.name == "postgresql" else _sqlite


def matches(
    index: FullTextIndex, query: str, *, among_few: bool = False
) -> ColumnElement[bool] | None:
    """A condition on ``index.model``: the record holds every word of ``query`` (each as a
    prefix). None when ``query`` has no word to look for.

    It is ``id IN`` the index's matches (on PostgreSQL ``id = ANY`` of them, gathered once from
    the GIN index), so the database reads the few rows of a rare word by id instead of walking
    the table in the list's order until it has a page: the planner cannot know that a word is
    rare (PostgreSQL guesses 2 % for any prefix). ``among_few``: the statement starts from a few
    rows found otherwise (a partner's offers), so each is only tested against the matches
    (``id + 0`` keeps SQLite from reading every match of a common word by id instead)."""
    words = terms(query, shortest=1)  # every word narrows: "paged 5" is one of the pages
    if not words:
        return None
    model = index.model
    if db.session.get_bind().dialect.name == "postgresql":
        english = literal_column("'english'::regconfig")
        wanted = func.to_tsquery(english, " & ".join(f"{w}:*" for w in words))
        if among_few:
            return index.document().op("@@")(wanted)
        name = model.__tablename__
        rows = table(name, column("id"), column("search_vector")).alias(f"{name}_matching")
        ids = select(func.array_agg(rows.c.id)).where(rows.c.search_vector.op("@@")(wanted))
        return model.id == any_(cast(ids.scalar_subquery(), ARRAY(Integer)))
    fts = table(index.fts_table, column("rowid"))
    hidden = literal_column(index.fts_table)
    found = select(fts.c.rowid).where(hidden.op("MATCH")(" AND ".join(f'"{w}"*' for w in words)))
    return (model.id + 0 if among_few else model.id).in_(found)


def ranked(index: FullTextIndex, query: str) -> Select | None:
    """The records matching any word of ``query``, best first (as ``search`` orders them), as a
    select of the model alone. None when ``query`` has no word."""
    words = terms(query)
    if not words:
        return None
    ranking, _score, _best = _builder()(index, words)
    return ranking.with_only_columns(index.model)


def search(index: FullTextIndex, query: str, *, limit: int = 10, where=()) -> list[Hit]:
    """The best matches of ``query`` the reader may see, best first, narrowed by ``where``
    (conditions on the model), each with its highlighted snippet."""
    words = terms(query)
    if not words:
        return []
    ranking, score, best = _builder()(index, words)
    for condition in where:
        ranking = ranking.where(condition)
    rows = db.session.execute(best(ranking, limit)).all()
    return [Hit(row[0], score(row[1]), _highlight(row[2])) for row in rows]


# Search across the portal.

PER_KIND = 5  # records shown per kind; the rest through the kind's filtered list
COUNT_CAP = 100  # counted up to this, shown as "100+" past it: a common word costs no more


@dataclass(frozen=True)
class Found:
    """One record as the results page shows it."""

    title: str
    url: str
    detail: str = ""


@dataclass(frozen=True)
class Source:
    """A kind of record the portal-wide search finds.

    ``records(query, principal)`` is a select of the matching records, best first, through the
    wall (None when the query has nothing to look for); ``found(record)`` says how one is shown
    and linked; ``see_all(query)`` is the URL of the kind's list filtered by the query, where
    there is one. Only principals whose role allows ``action`` are searched for this kind."""

    kind: str
    label: object
    action: str
    records: Callable[[str, object], Select | None]
    found: Callable[[object], Found]
    see_all: Callable[[str], str] | None = None
    order: int = 50


@dataclass
class Group:
    source: Source
    items: list[Found] = field(default_factory=list)
    count: int = 0  # capped at COUNT_CAP + 1
    see_all: str | None = None  # the kind's list, filtered by the query

    @property
    def more(self) -> bool:
        return self.count > len(self.items)

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP


_SOURCES: dict[str, Source] = {}


def add_source(*sources: Source) -> None:
    """Add kinds of record to the portal-wide search (a source of a kind already there replaces
    it)."""
    for source in sources:
        _SOURCES[source.kind] = source


def sources_for(principal) -> list[Source]:
    if principal is None:
        return []
    return sorted(
        (s for s in _SOURCES.values() if principal.can(s.action)), key=lambda s: (s.order, s.kind)
    )


def everywhere(principal, query: str, *, per_kind: int = PER_KIND) -> list[Group]:
    """For each kind the principal may search, the first ``per_kind`` records matching ``query``
    that it may see and how many match (counted up to ``COUNT_CAP`` + 1), with the URL of the
    kind's filtered list. Kinds with no match are left out.

    One statement for every kind's matches: the ids of each kind's first ``COUNT_CAP`` + 1 in
    the source's order, each kind a branch of one UNION ALL (the tenant wall adds the reader's
    rule to every branch, as to any subquery); then one statement a kind with matches, loading
    the few records shown. A statement costs its wall and its round trip however little it
    finds, so eight kinds asked one by one cost eight of each (issue 18). Each branch is a
    sorted, limited subquery, and both databases return a UNION ALL's branches one after the
    other, each in its own order (SQLite's compound select; PostgreSQL's Append)."""
    asked = []
    for source in sources_for(principal):
        stmt = source.records(query, principal)
        if stmt is not None:
            asked.append((source, stmt.column_descriptions[0]["entity"], stmt))
    if not asked:
        return []
    branches = [
        select(*branch.c)
        for branch in (
            stmt.with_only_columns(literal(n, Integer).label("kind"), model.id.label("id"))
            .limit(COUNT_CAP + 1)
            .subquery(f"kind_{n}")
            for n, (_source, model, stmt) in enumerate(asked)
        )
    ]
    found: dict[int, list[int]] = {}
    for kind, record_id in db.session.execute(union_all(*branches)).all():
        found.setdefault(kind, []).append(record_id)
    groups = []
    for n, (source, model, _stmt) in enumerate(asked):
        ids = found.get(n)
        if not ids:
            continue
        shown = ids[:per_kind]
        loaded = {r.id: r for r in db.session.scalars(select(model).where(model.id.in_(shown)))}
        items = [source.found(loaded[i]) for i in shown if i in loaded]
        see_all = source.see_all(query) if source.see_all else None
        groups.append(Group(source, items, len(ids), see_all))
    return groups
