"""``flask backup`` and ``flask restore``: a live demo world backed up while a customer keeps
replying to a case (with an attachment each time), restored into a fresh database that matches
the manifest written at backup time; a backup whose file or rows were changed is refused, naming
what differs, and one from a schema this code does not know is refused before anything is touched.

The demo world lives in databases of their own (SQLite files, or two databases beside the
PostgreSQL test one), never the rolled-back ``db`` of the other tests.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal import backup, migrate
from portal.app import create_app
from portal.engine import make_engine
from portal.seed import DEMO_PASSWORD, seed_demo_world
from tests.conftest import reset_schema

CUSTOMER = "admin@granite.example"
REPLY = "Reply written while the backup ran"


@pytest.fixture(scope="module")
def urls(tmp_path_factory):
    """The demo's database and the database restores go to (created empty)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        tmp = tmp_path_factory.mktemp("backup")
        yield f"sqlite:///{tmp / 'demo.sqlite3'}", f"sqlite:///{tmp / 'restored.sqlite3'}"
        return
    base = make_url(url)
    names = [f"{base.database}_backup", f"{base.database}_backup_restore"]
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _app(url: str, role: str | None):
    return create_app(
        {
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "backup-test-secret",
            "DATABASE_URL": url,
            "DATABASE_ROLE": role,
            "WTF_CSRF_ENABLED": False,
            "SMTP_URL": None,
            "REDIS_URL": None,
            "SERVER_NAME": None,
        }
    )


@pytest.fixture(scope="module")
def apps(urls):
    """The portal on the seeded demo world, and the portal on the restore target (as the ordinary
    role on PostgreSQL, so the restored grants and row-level security are what it meets)."""
    source_url, target_url = urls
    role = reset_schema(source_url)
    source = _app(source_url, role)
    with source.app_context():
        seed_demo_world()
    target = _app(target_url, role)
    yield source, target
    for app in (source, target):
        app.extensions["db"].engine.dispose()


def _query(url: str, sql: str, **params) -> list:
    """Rows read as the owner (past row-level security), for checking what is stored."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def _contents(url: str) -> dict:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT set_config('app.scope', 'all', false)"))
            return backup.database_contents(conn)
    finally:
        engine.dispose()


def _run(app, *args: str):
    result = app.test_cli_runner().invoke(args=list(args))
    app.extensions["db"].engine.dispose()  # a restore replaced what pooled connections knew
    return result


class Replies:
    """A customer replying to one case in a loop (each reply with a small attachment), counting
    the replies the portal acknowledged, until stopped."""

    def __init__(self, app, case_id: int) -> None:
        self.client = app.test_client()
        response = self.client.post("/login", data={"email": CUSTOMER, "password": DEMO_PASSWORD})
        assert response.status_code == 302
        self.case_id = case_id
        self.acknowledged = 0
        self.refused: list = []  # a status other than the redirect, or what the thread raised
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._write, name="replies", daemon=True)

    def _write(self) -> None:
        while not self.stopping.is_set() and not self.refused:
            n = self.acknowledged + 1
            try:
                status = self.client.post(
                    f"/cases/{self.case_id}/reply",
                    data={
                        "body": f"{REPLY} #{n}",
                        "files": (io.BytesIO(b"log line %d\n" % n), "a.log"),
                    },
                    content_type="multipart/form-data",
                ).status_code
            except Exception as error:  # noqa: BLE001 - reported by wait_for and stop
                status = repr(error)
            with self.changed:
                if status == 302:
                    self.acknowledged = n
                else:
                    self.refused.append(status)
                self.changed.notify_all()

    def wait_for(self, count: int) -> int:
        with self.changed:
            assert self.changed.wait_for(lambda: self.acknowledged >= count or self.refused, 30)
        assert not self.refused, self.refused
        return self.acknowledged

    def stop(self) -> int:
        self.stopping.set()
        self.thread.join(timeout=30)
        assert not self.refused, self.refused
        return self.acknowledged


@dataclass
class BackupUnderWrites:
    archive: Path
    case_id: int
    before: int  # replies acknowledged before the backup began
    written: int  # replies acknowledged in all


@pytest.fixture(scope="module")
def under_writes(apps, urls, tmp_path_factory) -> BackupUnderWrites:
    """``flask backup`` of the demo while a customer replies to a case, before, during and after."""
    source, _ = apps
    [case_id] = _query(
        urls[0],
        "SELECT c.id FROM cases c JOIN organizations o ON o.id = c.org_id "
        "WHERE o.name = 'Granite Bank' ORDER BY c.id LIMIT 1",
    )[0]
    archive = tmp_path_factory.mktemp("archive") / "portal.tar"
    replies = Replies(source, case_id)
    replies.thread.start()
    try:
        before = replies.wait_for(3)
        result = _run(source, "backup", str(archive))
        replies.wait_for(replies.acknowledged + 2)  # the writes went on past the backup
    finally:
        written = replies.stop()
    assert result.exit_code == 0, result.output
    assert f"Backed up {backup.describe(urls[0])} to {archive}" in result.output
    return BackupUnderWrites(archive, case_id, before, written)


def test_a_backup_taken_under_writes_restores_into_a_fresh_database_as_it_was(
    apps, urls, under_writes
):
    _, target = apps
    source_url, target_url = urls
    archive, case_id = under_writes.archive, under_writes.case_id
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert sorted(tar.getnames()) == sorted(["manifest.json", *manifest["files"]])
    assert manifest["format"] == backup.FORMAT_VERSION
    assert [(manifest["revision"],)] == _query(
        source_url, "SELECT version_num FROM alembic_version"
    )

    result = _run(target, "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "verified" in result.output
    assert _contents(target_url) == {"revision": manifest["revision"], "tables": manifest["tables"]}

    # Spot checks: the replies and their attachments acknowledged before the backup began (and
    # perhaps some written while it ran, none after), the sent quotes' stored PDFs.
    sql = (
        "SELECT m.body, a.content FROM case_comments m JOIN case_attachments a "
        "ON a.comment_id = m.id WHERE m.case_id = :case ORDER BY m.id"
    )
    kept = [tuple(r) for r in _query(target_url, sql, case=case_id)]
    assert under_writes.before <= len(kept) < under_writes.written
    assert kept == [tuple(r) for r in _query(source_url, sql, case=case_id)][: len(kept)]
    assert kept[0] == (f"{REPLY} #1", b"log line 1\n")
    sql = "SELECT id, pdf FROM quotes WHERE pdf IS NOT NULL ORDER BY id"
    pdfs = _query(target_url, sql)
    assert pdfs and pdfs == _query(source_url, sql)
    assert bytes(pdfs[0].pdf).startswith(b"%PDF-")
    # The restored portal works, as its ordinary role on PostgreSQL (grants, policies restored).
    browser = target.test_client()
    response = browser.post("/login", data={"email": CUSTOMER, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert f"{REPLY} #1" in browser.get(f"/cases/{case_id}").get_data(as_text=True)

    # A database that holds data is replaced only when asked to.
    result = _run(target, "restore", str(archive))
    assert result.exit_code != 0
    assert "holds data" in result.output and "--force" in result.output


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {name: tar.extractfile(name).read() for name in tar.getnames()}


def _write_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


def test_a_changed_file_or_an_unknown_schema_is_refused_before_anything_is_touched(
    apps, urls, under_writes, tmp_path
):
    _, target = apps
    members = _members(under_writes.archive)
    manifest = json.loads(members["manifest.json"])
    [name] = manifest["files"]
    damaged = bytearray(members[name])
    damaged[len(damaged) // 2] ^= 0xFF
    before = _contents(urls[1])

    result = _run(
        target,
        "restore",
        "--force",
        str(_write_tar(tmp_path / "a.tar", {**members, name: bytes(damaged)})),
    )
    assert result.exit_code != 0
    assert f"{name} does not match its checksum in the manifest" in result.output

    newer = {**manifest, "revision": "9999_from_the_future"}
    forged = {**members, "manifest.json": json.dumps(newer).encode()}
    result = _run(target, "restore", "--force", str(_write_tar(tmp_path / "b.tar", forged)))
    assert result.exit_code != 0
    assert "schema revision 9999_from_the_future is not one this portal knows" in result.output
    assert _contents(urls[1]) == before


def test_a_backup_whose_rows_were_changed_fails_its_restore_naming_the_table_and_organisation(
    apps, urls, under_writes, tmp_path
):
    """The dump is swapped for one of a database where one case's subject was changed, and its
    file checksum forged to match: the rows' checksums still tell."""
    _, target = apps
    target_url, archive = urls[1], under_writes.archive
    assert _run(target, "restore", "--force", str(archive)).exit_code == 0
    [(case_id, org_id)] = _query(target_url, "SELECT id, org_id FROM cases ORDER BY id LIMIT 1")
    engine = make_engine(target_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE cases SET subject = 'Tampered' WHERE id = :id"), {"id": case_id})
    engine.dispose()
    changed = tmp_path / "changed.tar"
    assert _run(target, "backup", str(changed)).exit_code == 0

    members = _members(archive)
    manifest = json.loads(members["manifest.json"])
    [name] = manifest["files"]
    swapped = _members(changed)[name]
    manifest["files"][name] = json.loads(_members(changed)["manifest.json"])["files"][name]
    forged = {"manifest.json": json.dumps(manifest).encode(), name: swapped}

    result = _run(target, "restore", "--force", str(_write_tar(tmp_path / "forged.tar", forged)))
    assert result.exit_code != 0
    assert "the restored database differs from the backup's manifest (do not use it):" in (
        result.output
    )
    [difference] = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert difference.startswith(f"  cases, org {org_id}: ")


def test_a_backup_of_an_older_schema_is_verified_as_made_then_migrated(apps, urls, tmp_path):
    source, target = apps
    source_url, target_url = urls
    script = ScriptDirectory.from_config(migrate.alembic_config())
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    older = tmp_path / "older.tar"
    engine = make_engine(source_url)
    try:
        with engine.begin() as conn:
            migrate.downgrade(conn, previous)
        result = _run(source, "backup", str(older))
    finally:
        with engine.begin() as conn:
            migrate.upgrade(conn)
        engine.dispose()
    assert result.exit_code == 0, result.output

    result = _run(target, "restore", "--force", str(older))
    assert result.exit_code == 0, result.output
    assert f"Migrated from {previous} to {head}." in result.output
    assert _query(target_url, "SELECT version_num FROM alembic_version") == [(head,)]
