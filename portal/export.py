"""CSV export of the portal's lists: one platform, each feature package registers its lists.

How a package adds an export (in its ``init_app``, from its ``exports.py``)::

    from portal import export

    export.add(
        export.ExportSource(
            key="leads",                    # /export/leads.csv; the file: leads-2026-12-03.csv
            label=_l("Leads"),              # the list's name, on the pages of a big export
            action="leads.view",            # who may export: the list route's action
            audiences=("vendor", "partner"),
            columns=(
                export.Column(_l("Company"), lambda row: row.Lead.company),
                export.Column(_l("Value"), lambda row: row.Lead.value),       # Decimal: 1234.50
                export.Column(_l("Currency"), lambda row: row.Lead.currency),
                export.Column(_l("Partner"), partner_name, audiences=("vendor",)),
            ),
            statement=lead_rows,            # (principal, args) -> Select, below
        )
    )

``statement(principal, args)`` returns the list's rows as one ORM ``select``, **ordered as the
list shows them** and filtered by ``args`` (the list page's query string, a ``MultiDict``) with
the list's own filter parsing from its ``queries.py`` (never a copy of it). It is executed on
``db.session``, so the tenant wall (and PostgreSQL's row-level security) applies exactly as on
the list page; it never builds an unscoped query. Arguments the list would refuse raise
``InvalidFilters`` (a 422 here). Many-to-one ``joinedload``s are fine; no eager loading of
collections (rows are streamed, ``yield_per``). Each ``Column.value(row)`` gets one result
``Row`` (``row.Lead``, ``row[0]``) and returns a plain value:

- ``str``: written as is, except that text starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a leading ``'`` so that no spreadsheet runs it as a formula;
- ``datetime``: ISO 8601 in UTC (``2026-12-03T09:30:00Z``); ``date``: ``2026-12-03``;
- ``Decimal``/``int``: a plain number (``1234.50``; never a locale's separators): give money
  its own currency column; ``bool``: ``true``/``false``; ``None``: an empty cell;
- anything else (an enum, a lazy string): ``str(value)``.

The statement is built from ``principal`` and ``args`` alone (never ``request`` or ``g``): a big
export builds it again in a job, with no request, from the filters stored on the ``Export``,
under the requester's principal. It is counted first (``count_upto``), then streamed. The
isolation matrix asks every registered key without arguments and with ``q=<word>``: a source
that needs an argument (a segment's id) answers ``InvalidFilters`` without it.

Links: a list page shows ``{{ export_link("leads") }}`` (``templates/export/_link.html``; a
template global): "Export CSV", carrying the page's current filters, shown only to principals
whose role allows the source's action. ``GET /export/<key>.csv?<filters>`` streams the file
(UTF-8 with a byte-order mark, RFC 4180, ``\\r\\n``) in constant memory; past
``EXPORT_JOB_THRESHOLD`` rows (a setting, 10,000 by default) it offers instead to prepare the
file as a job (``portal.export_jobs``): the user is shown its progress and downloads it when
ready, and only that user may.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select

from portal.db import db

BOM = "\ufeff"
# Cells a spreadsheet would take for a formula (or a DDE call): OWASP's "CSV injection" list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 500  # rows written to the response (or the stored file) at a time
YIELD_PER = 1000  # rows fetched from the database at a time (a server-side cursor on PostgreSQL)
DEFAULT_JOB_THRESHOLD = 10_000
_KEY = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


class InvalidFilters(ValueError):
    """The list's query string holds a filter the list refuses (the message says which)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Column:
    """One column of an export: its header (translated) and how a result row gives its value.
    ``audiences``: the kinds of principal the column is written for (all by default)."""

    header: object
    value: Callable[[Any], Any]
    audiences: tuple[str, ...] = ("vendor", "partner", "customer")


@dataclass(frozen=True)
class ExportSource:
    """A list that can be exported (see the module's docstring)."""

    key: str
    label: object
    action: str
    columns: Sequence[Column]
    statement: Callable[[Any, Any], Select]
    audiences: tuple[str, ...] = ("vendor", "partner", "customer")

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError(f"export key {self.key!r}: lower-case letters, digits and dashes")

    def allows(self, principal) -> bool:
        return (
            principal is not None
            and principal.audience in self.audiences
            and principal.can(self.action)
        )

    def columns_for(self, principal) -> list[Column]:
        return [c for c in self.columns if principal.audience in c.audiences]

    def filename(self, today: date) -> str:
        return f"{self.key}-{today.isoformat()}.csv"


_SOURCES: dict[str, ExportSource] = {}


def add(*sources: ExportSource) -> None:
    """Register lists that can be exported (a source whose key is already there replaces it)."""
    for source in sources:
        _SOURCES[source.key] = source


def source(key: str) -> ExportSource | None:
    return _SOURCES.get(key)


def keys() -> list[str]:
    """Every registered export's key, sorted (the isolation matrix asks for each)."""
    return sorted(_SOURCES)


def sources_for(principal) -> list[ExportSource]:
    return [s for k, s in sorted(_SOURCES.items()) if s.allows(principal)]


# Cells and lines.


def cell(value: Any) -> str | int | Decimal:
    """A value as the CSV writes it (see the module's docstring)."""
    if type(value) is str:  # the common case first: a million rows call this ten times each
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo is not None else value
        return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return value
    return neutralised(str(value))


def neutralised(text: str) -> str:
    """``text``, with a leading ``'`` if a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class LineWriter:
    """RFC 4180 lines (``csv`` module, minimal quoting, ``\\r\\n``) into a buffer that is taken
    out as UTF-8 bytes a chunk at a time."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def row(self, values: Iterable[Any]) -> None:
        self.writer.writerow(values)

    def take(self) -> bytes:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text.encode("utf-8")


def header_line(columns: Sequence[Column]) -> bytes:
    lines = LineWriter()
    lines.row(neutralised(str(c.header)) for c in columns)
    return BOM.encode("utf-8") + lines.take()


def streamed(stmt: Select, session=None) -> Iterator:
    """The rows of ``stmt``, fetched ``YIELD_PER`` at a time (PostgreSQL: a server-side cursor),
    through the tenant wall of ``session`` (default: the shared one)."""
    session = session if session is not None else db.session
    return iter(session.execute(stmt.execution_options(yield_per=YIELD_PER)))


def csv_chunks(
    columns: Sequence[Column], rows: Iterable, *, on_chunk: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The file as byte chunks: the header line (after the byte-order mark), then the rows,
    ``ROWS_PER_CHUNK`` at a time. ``on_chunk(rows)`` is told the rows written so far, the
    chunk about to be yielded included, before each row chunk and once at the end."""
    yield header_line(columns)
    lines = LineWriter()
    written = 0
    pending = 0
    for row in rows:
        lines.row(cell(c.value(row)) for c in columns)
        written += 1
        pending += 1
        if pending == ROWS_PER_CHUNK:
            chunk, pending = lines.take(), 0
            if on_chunk is not None:
                on_chunk(written)
            yield chunk
    if on_chunk is not None:
        on_chunk(written)
    if pending:
        yield lines.take()


def count_upto(stmt: Select, limit: int, session=None) -> int:
    """How many rows ``stmt`` gives, counted up to ``limit`` + 1 (through the wall): enough to
    tell a big export from a small one without counting a million rows."""
    session = session if session is not None else db.session
    capped = stmt.order_by(None).limit(limit + 1).subquery()
    return session.scalar(select(func.count()).select_from(capped)) or 0


def count(stmt: Select, session=None) -> int:
    """How many rows ``stmt`` gives (through the wall): the total a job's progress is out of."""
    session = session if session is not None else db.session
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def ordered(stmt: Select, sorts: dict, sort: str) -> Select:
    """``stmt`` in the order a keyset-paged list shows it (``portal.keyset``'s sorts: the first
    page's order), for the lists whose query leaves the order to the pager."""
    columns, descending = sorts[sort]
    return stmt.order_by(*(c.desc() if descending else c.asc() for c in columns))


def list_args(args) -> dict[str, list[str]]:
    """A list page's filters from its query string, without the pager's cursors: what the
    "Export CSV" link carries and what a job stores."""
    return {
        k: [v for v in args.getlist(k) if v]
        for k in args
        if k not in ("after", "before", "page") and any(args.getlist(k))
    }


def init_app(app) -> None:
    """The export pages, the lists' "Export CSV" link (template global ``export_link``) and the
    tick that removes old exports. The lists themselves come from the feature packages."""
    from portal import jobs
    from portal.export_jobs import remove_old_exports
    from portal.export_views import bp, export_link

    app.register_blueprint(bp)
    app.add_template_global(export_link, "export_link")
    jobs.add_periodic("remove_old_exports", remove_old_exports)
