"""Backups: ``flask --app wsgi backup PATH`` and ``flask --app wsgi restore PATH``.

A backup is one tar file (one thing to copy off the machine, rotate or encrypt; written under a
temporary name and renamed when complete, so a half-written backup never looks finished) holding:

- the database: SQLite copied through its online backup API (a consistent copy that includes what
  is still in the write-ahead log, taken while the portal writes), ``database.sqlite3``; or
  PostgreSQL dumped by ``pg_dump --format=custom``, ``database.pgdump``;
- ``manifest.json``: the format version, when it was made, the migration revision, per table
  (per organisation for tables with ``org_id``) the row count and a SHA-256 of the rows, and the
  SHA-256 of each file in the archive.

The portal keeps no files outside the database: case attachments, quote PDFs, certification
evidence, proofs of performance, supplier offers and finished exports are BLOB columns, so the
database is the whole state. The manifest is computed from the same snapshot as the copy (the
SQLite copy itself; on PostgreSQL the snapshot ``pg_dump`` is given), so it holds for writes made
while the backup runs.

``restore`` checks the files against the manifest, replaces the configured database (which must
be empty unless ``force``), recomputes the manifest from what it restored and fails naming every
table and organisation that differs. A backup from an older schema is verified as it was made and
then migrated to this code's newest revision; one from a newer schema (a revision this code does
not know) is refused before anything is touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import LargeBinary, MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import Connection, Engine, make_url

from portal import migrate
from portal.clock import utcnow
from portal.engine import make_engine

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_FILE = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# Whole tables (no org_id column) are one group; tenant tables one group per organisation.
WHOLE_TABLE = "all"
_CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup could not be made, or a backup could not be restored as it was made."""


# -- the manifest's contents: row counts and checksums, read past the tenant wall ---------------


def canonical(value: Any) -> Any:
    """A value as JSON that SQLite and PostgreSQL agree on: times in UTC with microseconds
    (SQLite keeps naive UTC), decimals without trailing zeros, binary as its SHA-256."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # a UUID, an enum


def _data_tables(connection: Connection) -> list[str]:
    """Tables that hold data: not the migration marker, not SQLite's full-text index tables
    (virtual and shadow tables, rebuilt from the data they index)."""
    if connection.dialect.name == "sqlite":
        names = connection.execute(
            text("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'")
        ).scalars()
        names = [n for n in names if not n.startswith("sqlite_")]
    else:
        names = inspect(connection).get_table_names()
    return sorted(n for n in names if n != "alembic_version")


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def database_contents(connection: Connection) -> dict:
    """The migration revision and, per table and group, the row count and a SHA-256 over the rows
    ordered by primary key (columns by name, values ``canonical``; generated columns such as
    PostgreSQL's search vectors left out: they are derived).

    Reads with Core statements on a connection of its own, so the ORM's tenant wall (a session
    listener) never applies; on PostgreSQL the caller connects as the owner with ``app.scope``
    set to ``all``, which every row-level security policy lets read every row."""
    metadata = MetaData()
    metadata.reflect(bind=connection, only=_data_tables(connection))
    tables: dict[str, dict[str, dict]] = {}
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        columns = sorted((c for c in table.columns if c.computed is None), key=lambda c: c.name)
        order = list(table.primary_key.columns) or columns
        org_id = table.columns.get("org_id")
        if org_id is not None:
            order = [org_id, *order]
        groups: dict[str, tuple[int, Any]] = {}
        # Streamed; a few rows at a time where they hold files (up to 10 MB each).
        files = any(isinstance(c.type, LargeBinary) for c in columns)
        rows = connection.execute(
            select(*columns).order_by(*order),
            execution_options={"stream_results": True, "yield_per": 20 if files else 2000},
        )
        org_index = columns.index(org_id) if org_id is not None else None
        for row in rows:
            group = WHOLE_TABLE if org_index is None else f"org {row[org_index]}"
            count, digest = groups.get(group) or (0, hashlib.sha256())
            line = json.dumps([canonical(v) for v in row], separators=(",", ":"), sort_keys=True)
            digest.update(line.encode() + b"\n")
            groups[group] = (count + 1, digest)
        tables[table.name] = {
            group: {"rows": count, "sha256": digest.hexdigest()}
            for group, (count, digest) in sorted(groups.items())
        }
    return {"revision": _revision(connection), "tables": tables}


def differences(expected: dict, found: dict) -> list[str]:
    """What ``found`` (recomputed from a database) lacks or has otherwise than ``expected`` (a
    backup's manifest), one line per table and group."""
    lines = []
    if expected["revision"] != found["revision"]:
        lines.append(f"revision: {found['revision']} (the backup says {expected['revision']})")
    names = sorted(set(expected["tables"]) | set(found["tables"]))
    for name in names:
        want, have = expected["tables"].get(name), found["tables"].get(name)
        if want is None or have is None:
            lines.append(f"{name}: {'not in the backup' if want is None else 'missing'}")
            continue
        for group in sorted(set(want) | set(have)):
            a, b = want.get(group, {"rows": 0}), have.get(group, {"rows": 0})
            if a != b:
                lines.append(
                    f"{name}, {group}: {b['rows']} rows {b.get('sha256', '-')[:12]} "
                    f"(the backup has {a['rows']} rows {a.get('sha256', '-')[:12]})"
                )
    return lines


# -- connections: the owner, never the row-level security role ----------------------------------


def dialect_of(database_url: str) -> str:
    name = make_url(database_url).get_backend_name()
    if name not in DATABASE_FILE:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def describe(database_url: str) -> str:
    """The database named for a person, without its password."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite {url.database}"
    return f"PostgreSQL database {url.database} on {url.host or 'localhost'}"


@contextmanager
def _owner_connection(database_url: str, **options) -> Iterator[Connection]:
    """A connection as the URL's user, which owns the tables (``DATABASE_ROLE`` is the app's
    ordinary role, bound by row-level security: not this one), in a transaction that may read
    every organisation's rows."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(**options) if options else connection
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT set_config('app.scope', 'all', true)"))
                yield connection
    finally:
        engine.dispose()


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL as a libpq connection URI for pg_dump and pg_restore (no SQLAlchemy driver, no
    password: that goes in the environment, never on a command line that ``ps`` and logs show),
    and that environment. ``app.scope=all`` lets every policy show every row (FORCE ROW LEVEL
    SECURITY binds the owner too)."""
    url = make_url(database_url)
    options = f"{os.environ.get('PGOPTIONS', '')} -c app.scope=all".strip()
    env = {**os.environ, "PGOPTIONS": options}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None)
    return uri.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client tools)")
    done = subprocess.run(  # noqa: S603 - a fixed tool, arguments built here
        [tool, *command[1:]], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


# -- backup ---------------------------------------------------------------------------------------


def _sqlite_copy(database_url: str, target: Path) -> dict:
    source_path = make_url(database_url).database
    if not source_path or source_path == ":memory:" or not Path(source_path).is_file():
        raise BackupError(f"there is no SQLite database at {source_path}")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # pages=-1: one step, one read transaction, so one consistent snapshot; in WAL mode the
        # portal's writers go on meanwhile, and what they committed before is in the copy.
        source.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        copy.close()
        source.close()
    uri = f"{target.resolve().as_uri()}?mode=ro"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    try:
        with engine.connect() as connection:
            return database_contents(connection)
    finally:
        engine.dispose()


def _postgres_dump(database_url: str, target: Path) -> dict:
    uri, env = _libpq(database_url)
    with _owner_connection(database_url, isolation_level="REPEATABLE READ") as connection:
        # pg_dump reads the snapshot this transaction exported: the checksums and the dump see
        # exactly the same rows, whatever the portal commits meanwhile.
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        _run(
            [
                "pg_dump",
                "--format=custom",
                f"--snapshot={snapshot}",
                "--enable-row-security",
                f"--file={target}",
                f"--dbname={uri}",
            ],
            env,
        )
        return database_contents(connection)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def create_backup(database_url: str, path: Path) -> dict:
    """Write a backup of the database at ``database_url`` to ``path`` (a tar file that must not
    exist yet); return its manifest. Raises BackupError."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists: a backup never replaces another")
    dialect = dialect_of(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=path.parent) as work:
        name = DATABASE_FILE[dialect]
        dump = Path(work) / name
        contents = (_sqlite_copy if dialect == "sqlite" else _postgres_dump)(database_url, dump)
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": utcnow().isoformat(timespec="seconds"),
            "database": dialect,
            **contents,
            "files": {name: {"bytes": dump.stat().st_size, "sha256": _sha256(dump)}},
        }
        (Path(work) / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        partial = Path(work) / "backup.tar"
        with tarfile.open(partial, "w") as archive:
            archive.add(Path(work) / MANIFEST, arcname=MANIFEST)
            archive.add(dump, arcname=name)
        os.replace(partial, path)
    return manifest


# -- restore --------------------------------------------------------------------------------------


def read_backup(path: Path, work: Path) -> dict:
    """Unpack the backup at ``path`` into ``work``; return its manifest once every file in it has
    the size and checksum the manifest gives. Only the named members are read (never a path the
    archive chooses)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"there is no backup at {path}")
    try:
        with tarfile.open(path, "r:*") as archive:
            manifest = json.load(_member(archive, MANIFEST))
            if manifest.get("format") != FORMAT_VERSION:
                raise BackupError(
                    f"{path}: backup format {manifest.get('format')!r}, this portal reads "
                    f"format {FORMAT_VERSION}"
                )
            for name, expected in manifest["files"].items():
                if name not in DATABASE_FILE.values():
                    raise BackupError(f"{path}: unexpected file {name} in the manifest")
                digest = hashlib.sha256()
                with (work / name).open("wb") as out:
                    source = _member(archive, name)
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != expected["sha256"]:
                    raise BackupError(
                        f"{path}: {name} does not match its checksum in the manifest: the file "
                        "was changed or damaged after the backup was made"
                    )
    except (tarfile.TarError, json.JSONDecodeError, KeyError) as error:
        raise BackupError(f"{path} is not a readable backup: {error}") from error
    return manifest


def _member(archive: tarfile.TarFile, name: str):
    member = archive.getmember(name)
    handle = archive.extractfile(member) if member.isfile() else None
    if handle is None:
        raise BackupError(f"{archive.name}: {name} is not a file")
    return handle


def _check_revision(revision: str | None) -> str:
    """This code's newest revision, once ``revision`` (a backup's) is known to it."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    try:
        known = revision is not None and script.get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
        known = False
    if not known:
        raise BackupError(
            f"the backup's schema revision {revision} is not one this portal knows (a newer "
            "version made it): restore it with that version"
        )
    return script.get_current_head()


def _rows_in(connection: Connection) -> int:
    return sum(
        connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()  # noqa: S608
        for name in _data_tables(connection)
    )


def _restore_sqlite(database_url: str, dump: Path, force: bool) -> None:
    target = make_url(database_url).database
    if not target or target == ":memory:":
        raise BackupError("restore needs a SQLite file, not an in-memory database")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    if Path(target).is_file():
        with _owner_connection(database_url) as connection:
            _refuse_unless_empty(connection, database_url, force)
    source = sqlite3.connect(dump)
    destination = sqlite3.connect(target, timeout=30)
    try:
        source.backup(destination, pages=-1)  # replaces every page, the schema included
        destination.execute("PRAGMA journal_mode=WAL")
    finally:
        destination.close()
        source.close()


def _restore_postgres(database_url: str, dump: Path, force: bool) -> None:
    with _owner_connection(database_url) as connection:
        _refuse_unless_empty(connection, database_url, force)
        # The dump holds the whole schema: what the target had (an empty migrated schema, or
        # with force everything) goes first, so nothing of it mixes with the restored one.
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    uri, env = _libpq(database_url)
    _run(
        [
            "pg_restore",
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            f"--dbname={uri}",
            str(dump),
        ],
        env,
    )


def _refuse_unless_empty(connection: Connection, database_url: str, force: bool) -> None:
    if not force and _rows_in(connection):
        raise BackupError(
            f"{describe(database_url)} holds data: restore into an empty database, or pass "
            "--force to replace it"
        )


def restore_backup(database_url: str, path: Path, *, force: bool = False) -> tuple[dict, str]:
    """Restore the backup at ``path`` into the database at ``database_url`` (empty, or replaced
    with ``force``), verify it against the backup's manifest and bring it to this code's newest
    migration. Returns the manifest and the revision the database is at now. Raises BackupError
    naming what differs; after a failed verification the database holds the restored copy, which
    must not be used."""
    dialect = dialect_of(database_url)
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as work:
        manifest = read_backup(Path(path), Path(work))
        if manifest["database"] != dialect:
            raise BackupError(
                f"{path} is a {manifest['database']} backup; the portal is configured for {dialect}"
            )
        head = _check_revision(manifest["revision"])
        dump = Path(work) / DATABASE_FILE[dialect]
        (_restore_sqlite if dialect == "sqlite" else _restore_postgres)(database_url, dump, force)
    with _owner_connection(database_url) as connection:
        found = database_contents(connection)
    wrong = differences(manifest, found)
    if wrong:
        raise BackupError(
            "the restored database differs from the backup's manifest (do not use it):\n"
            + "\n".join(f"  {line}" for line in wrong)
        )
    if manifest["revision"] != head:
        engine: Engine = make_engine(database_url)
        try:
            with engine.begin() as connection:
                migrate.upgrade(connection)
        finally:
            engine.dispose()
    return manifest, head


def summary(manifest: dict) -> str:
    """One line about a backup's contents."""
    tables = manifest["tables"]
    rows = sum(group["rows"] for table in tables.values() for group in table.values())
    return f"{rows} rows in {len(tables)} tables, schema revision {manifest['revision']}"
