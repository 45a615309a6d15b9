"""Big exports, written by a job: the ``Export`` record, its stored file, the job and the clean-up.

A list past ``EXPORT_JOB_THRESHOLD`` rows is not streamed to the browser: ``request_export``
records an ``Export`` (its requester, the list and its filters) and queues ``write_export``
(``portal.jobs``: inline without Redis, RQ with it). The job reads the rows **as the requesting
user**: it binds the user's principal to its session and raises the tenant wall
(``portal.db.walled``) for the read, so it writes exactly the rows the list shows that user, and
on PostgreSQL row-level security binds the read as it binds the user's requests.

The file is stored in the database, as quote PDFs and case attachments are, in chunks of about
``CHUNK_BYTES`` (``ExportChunk``): neither writing nor downloading a million rows holds the file
in memory. While it runs, the job commits each chunk with the rows written so far on a second
session of the same principal, so the progress page (which refreshes itself) shows them; the
rows are read in one transaction of their own (one consistent snapshot, a server-side cursor on
PostgreSQL). Only the requester sees an export at all (``Export.visible_to``): anyone else gets
a 404 for its page and its file. The tick removes exports older than ``EXPORT_KEEP_DAYS``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, deferred, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.datastructures import MultiDict

from portal import audit, export, jobs
from portal.clock import utcnow
from portal.db import Base, TenantOwned, db, set_principal, walled
from portal.tenancy import Principal
from portal.workflow import Workflow, transition

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20  # about a megabyte of CSV per stored chunk
DEFAULT_KEEP_DAYS = 7


class ExportStatus(StrEnum):
    queued = "queued"
    running = "running"
    ready = "ready"
    failed = "failed"


STATUS_LABELS = {
    ExportStatus.queued: _l("Waiting to start"),
    ExportStatus.running: _l("Being written"),
    ExportStatus.ready: _l("Ready"),
    ExportStatus.failed: _l("Failed"),
}


class Export(TenantOwned, Base):
    """A CSV export prepared by a job, for the user who asked for it and nobody else."""

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source_key: Mapped[str] = mapped_column(String(40))
    args: Mapped[dict] = mapped_column(JSON, default=dict)  # the list's filters
    filename: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(10), default=ExportStatus.queued.value)
    rows_total: Mapped[int | None]
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    workflow = Workflow(
        name="export",
        noun=_l("export"),
        statuses=ExportStatus,
        moves={"queued": {"running", "failed"}, "running": {"ready", "failed"}},
        stamps={
            "running": ("started_at", None),
            "ready": ("finished_at", None),
            "failed": ("finished_at", None),
        },
        labels=STATUS_LABELS,
        audited=False,
        unaudited_reason=(
            "the job's progress, which no person changes; the request itself is audited "
            "(export.requested)"
        ),
    )

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        # The file holds what its requester may see, which a colleague (even an admin, even
        # vendor staff) may not: only the requester sees it.
        return cls.user_id == principal.user_id

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return org_id == principal.org_id

    @property
    def done(self) -> bool:
        return self.status in (ExportStatus.ready, ExportStatus.failed)

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.ready:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_written * 100 // self.rows_total)


class ExportChunk(TenantOwned, Base):
    """A piece of an export's file, in order; the first begins with the byte-order mark and the
    header line."""

    __tablename__ = "export_chunks"
    __table_args__ = (UniqueConstraint("export_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"))
    position: Mapped[int]
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        return cls.export_id.in_(select(Export.id).where(Export.user_id == principal.user_id))

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return org_id == principal.org_id


def job_threshold() -> int:
    """Past this many rows, a list is exported by a job (setting ``EXPORT_JOB_THRESHOLD``)."""
    value = current_app.config.get("EXPORT_JOB_THRESHOLD")
    return export.DEFAULT_JOB_THRESHOLD if value is None else int(value)


def keep_days() -> int:
    return int(current_app.config.get("EXPORT_KEEP_DAYS") or DEFAULT_KEEP_DAYS)


# Use cases.


def request_export(source: export.ExportSource, args: dict, *, actor: Principal) -> Export:
    """Record an export of ``source`` filtered by ``args`` (the list's query string as
    ``{name: [values]}``) for ``actor``, audit it and queue the job that writes it. Flushes."""
    record = Export(
        org_id=actor.org_id,
        user_id=actor.user_id,
        source_key=source.key,
        args=args,
        filename=source.filename(utcnow().date()),
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        "export.requested",
        record,
        actor=actor,
        after={"list": source.key, "filters": args, "filename": record.filename},
    )
    jobs.enqueue(write_export, record.id)
    return record


def write_export(export_id: int) -> None:
    """Job entry point (keep it here: queued jobs name it): write the export's file as its
    requester. A failure marks the export failed, with the reason, instead of leaving it
    running."""
    job = db.session  # the job's own session, unscoped (portal.jobs)
    record = job.get(Export, export_id)
    if record is None or record.status != ExportStatus.queued:
        return
    source = export.source(record.source_key)
    principal = _requester(record)
    if source is None or principal is None or not source.allows(principal):
        transition(record, "failed", actor=None, changes={"error": "not allowed any more"})
        return
    transition(record, "running", actor=None)
    job.commit()  # seen running; the rows are read in a transaction of their own
    set_principal(job, principal)
    # In a worker, the progress is committed beside the read, on a session of its own, for the
    # progress page. Run inline, the request that asked waits for the job: nobody can look, and
    # on SQLite that request's transactions take the write lock as they begin (portal.engine),
    # so a second one would wait for the first. The file is then written in the read's own
    # transaction.
    inline = has_request_context()
    progress = job if inline else db.new_session()
    if not inline:
        set_principal(progress, principal)
    try:
        with walled(job):
            written, size = _write_rows(job, progress, record, source, principal)
        job.commit()  # the read's transaction ends here
        transition(
            record, "ready", actor=None, changes={"rows_written": written, "size_bytes": size}
        )
    except Exception as error:
        log.exception("export %s failed", export_id)
        job.rollback()
        if progress is not job:
            progress.rollback()
        record = job.get(Export, export_id)
        if record is not None and record.status == ExportStatus.running:
            transition(record, "failed", actor=None, changes={"error": type(error).__name__})
    finally:
        if progress is not job:
            progress.close()


def _requester(record: Export) -> Principal | None:
    from portal.identity.models import User

    user = db.session.get(User, record.user_id)
    if user is None or not user.is_active:
        return None
    return Principal.for_user(user)


def _write_rows(
    reader: Session, progress: Session, record: Export, source, principal
) -> tuple[int, int]:
    """Read the rows through ``reader``'s wall and store the file in chunks with ``progress``,
    with the rows written so far (committed each time, unless ``progress`` is ``reader``).
    Returns (rows, bytes)."""
    stmt = source.statement(principal, MultiDict(record.args))
    _report(progress, record.id, rows_total=export.count(stmt, reader))
    _save(progress, reader)
    columns = source.columns_for(principal)
    pending: list[bytes] = []
    pending_size = size = position = written = 0

    def seen(rows: int) -> None:
        nonlocal written
        written = rows

    def store(content: bytes) -> int:
        chunk = ExportChunk(
            org_id=record.org_id, export_id=record.id, position=position, content=content
        )
        progress.add(chunk)
        _report(progress, record.id, rows_written=written)
        _save(progress, reader)
        progress.expunge(chunk)  # written: the session holds no megabyte of it any longer
        return len(content)

    for piece in export.csv_chunks(columns, export.streamed(stmt, reader), on_chunk=seen):
        pending.append(piece)
        pending_size += len(piece)
        if pending_size >= CHUNK_BYTES:
            position += 1
            size += store(b"".join(pending))
            pending, pending_size = [], 0
    if pending or position == 0:
        position += 1
        size += store(b"".join(pending))
    return written, size


def _save(progress: Session, reader: Session) -> None:
    """Commit the progress; when it shares the read's session (a job run inline), flush."""
    if progress is reader:
        progress.flush()
    else:
        progress.commit()


def _report(session: Session, export_id: int, **values) -> None:
    session.execute(
        update(Export)
        .where(Export.id == export_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def remove_old_exports() -> int:
    """Tick: remove the exports (and their files) made more than ``EXPORT_KEEP_DAYS`` ago.
    Safe to run twice or concurrently."""
    before = utcnow() - timedelta(days=keep_days())
    old = select(Export.id).where(Export.created_at < before)
    db.session.execute(
        delete(ExportChunk)
        .where(ExportChunk.export_id.in_(old))
        .execution_options(synchronize_session=False)
    )
    removed = db.session.execute(
        delete(Export)
        .where(Export.created_at < before)
        .execution_options(synchronize_session=False)
    ).rowcount
    return removed or 0


# Reads.


def my_exports(limit: int = 20) -> list[Export]:
    """The principal's own exports, newest first (the wall shows nobody anyone else's)."""
    return list(db.session.scalars(select(Export).order_by(Export.id.desc()).limit(limit)))


def file_chunks(export_id: int, session: Session | None = None) -> Iterator[bytes]:
    """The stored file of an export, chunk by chunk, through the wall of ``session`` (default:
    the shared one)."""
    session = session if session is not None else db.session
    stmt = (
        select(ExportChunk.content)
        .where(ExportChunk.export_id == export_id)
        .order_by(ExportChunk.position)
        .execution_options(yield_per=1)
    )
    for (content,) in session.execute(stmt):
        yield content
