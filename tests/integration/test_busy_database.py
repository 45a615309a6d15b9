"""A busy embedded database is a 503, never a 500: while another connection holds SQLite's one
write lock longer than the busy timeout, a write (a form, an API call, a GET view that writes)
answers 503 with ``Retry-After`` and writes nothing; reading pages still answer. A read that
turns into a write after someone else committed (a stale snapshot, refused at once) is a 503 too.
On a real SQLite file with an app of its own (a busy timeout of 100 ms) and a world committed for
real: the lock is held from outside the test's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, func, select, text

from portal.app import create_app
from portal.config import ConfigurationError, from_environment
from portal.db import Base, db, unscoped
from portal.engine import make_engine, writes_on_get
from portal.identity.models import Invitation, Organization, User
from portal.notify.models import NotificationPreference, OutboxMessage
from tests import factories
from tests.integration.oauth_support import bearer, cc_token, make_api_client

BUSY_TIMEOUT_MS = 100
INVITEE = "busy-invitee@example.test"
# What another request commits between the stale view's read and its write.
_between: list[str] = []


@writes_on_get
def marked_view():
    """A GET view declared as writing: it begins as a writer, so it waits for the lock."""
    db.session.execute(select(func.count()).select_from(Organization))
    return "written"


def unmarked_view():
    """A GET view that writes without saying so: it reads deferred, another connection commits,
    and its write finds its snapshot stale (refused at once, whatever the timeout)."""
    db.session.execute(select(func.count()).select_from(Organization))
    for statement in _between:
        writer = sqlite3.connect(db.engine.url.database, isolation_level=None)
        writer.execute(statement)
        writer.close()
    db.session.execute(text("UPDATE organizations SET name = name WHERE id = -1"))
    db.session.commit()
    return "written"


@pytest.fixture
def busy_app(app):
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    busy = create_app(
        {
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": app.config["DATABASE_URL"],
            "SMTP_URL": app.config["SMTP_URL"],
            "WTF_CSRF_ENABLED": False,
            "BASE_URL": "http://portal.test",
            "SERVER_NAME": None,
            "REDIS_URL": None,
            "SQLITE_BUSY_TIMEOUT_MS": BUSY_TIMEOUT_MS,
        }
    )
    busy.add_url_rule("/testing/marked", "testing_marked", marked_view)
    busy.add_url_rule("/testing/unmarked", "testing_unmarked", unmarked_view)
    yield busy
    busy.extensions["db"].engine.dispose()


@pytest.fixture
def world(busy_app):
    """A partner with its admin and an API client that may invite, committed for real; removed
    afterwards."""
    session = busy_app.extensions["db"].session_factory()
    with unscoped(session):
        partner = factories.make_org(session, "reseller", name="Busy Reseller")
        admin = factories.make_user(session, partner)
        api_client = make_api_client(
            session, partner, service_role="partner_admin", scopes="users:write"
        )
        session.commit()
        org_id, user_id = partner.id, admin.id
    session.close()
    token = cc_token(busy_app.test_client(), api_client, "users:write")["access_token"]
    yield {"admin": admin, "token": token, "org_id": org_id}
    cleanup = make_engine(busy_app.config["DATABASE_URL"])
    with cleanup.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if "org_id" in table.c:
                conn.execute(delete(table).where(table.c.org_id == org_id))
        for table in reversed(Base.metadata.sorted_tables):
            if "user_id" in table.c:
                conn.execute(delete(table).where(table.c.user_id == user_id))
        conn.execute(delete(User.__table__).where(User.__table__.c.id == user_id))
        conn.execute(delete(Organization.__table__).where(Organization.__table__.c.id == org_id))
    cleanup.dispose()


@contextmanager
def write_lock_held(app) -> Iterator[None]:
    """Another connection holds SQLite's write lock (a long write of another process)."""
    holder = sqlite3.connect(app.config["DATABASE_URL"].split("///", 1)[1], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def count(app, model, *where) -> int:
    session = app.extensions["db"].session_factory()
    with unscoped(session):
        found = session.scalar(select(func.count()).select_from(model).where(*where))
    session.close()
    return found


def test_the_busy_timeout_is_a_setting_the_engine_applies(busy_app):
    assert from_environment({})["SQLITE_BUSY_TIMEOUT_MS"] == 5000
    for wrong in ("-1", "five", "600001"):
        with pytest.raises(ConfigurationError, match="SQLITE_BUSY_TIMEOUT_MS"):
            from_environment({"SQLITE_BUSY_TIMEOUT_MS": wrong})
    with busy_app.app_context():
        applied = db.session.execute(text("PRAGMA busy_timeout")).scalar()
    assert applied == BUSY_TIMEOUT_MS


def test_a_form_that_cannot_get_the_lock_is_503_and_writes_nothing(busy_app, world, client_as):
    browser = client_as(world["admin"], app=busy_app)
    choice = {"email_kinds": ["deal.approved"]}
    mine = NotificationPreference.user_id == world["admin"].id

    with write_lock_held(busy_app):
        busy = browser.post("/account/notifications", data=choice)
        reading = browser.get("/notifications/")  # reads do not wait for the writer

    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "1"
    page = busy.get_data(as_text=True)
    assert "The portal is busy" in page and "try again" in page
    assert reading.status_code == 200
    assert count(busy_app, NotificationPreference, mine) == 0

    again = browser.post("/account/notifications", data=choice)  # the lock is free again
    assert again.status_code == 302
    assert count(busy_app, NotificationPreference, mine) > 0


def test_an_api_write_that_cannot_get_the_lock_is_a_503_problem(busy_app, world):
    http = busy_app.test_client()
    body = {"email": INVITEE, "name": "Ivy Busy", "role": "partner_user"}
    with write_lock_held(busy_app):
        busy = http.post("/api/v1/invitations", json=body, headers=bearer(world["token"]))

    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "1"
    assert busy.mimetype == "application/problem+json"
    assert busy.get_json() == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The portal is busy. Try again in a moment.",
    }
    assert count(busy_app, Invitation, Invitation.email == INVITEE) == 0
    assert count(busy_app, OutboxMessage, OutboxMessage.to_address == INVITEE) == 0

    done = http.post("/api/v1/invitations", json=body, headers=bearer(world["token"]))
    assert done.status_code == 201, done.get_data(as_text=True)
    assert count(busy_app, Invitation, Invitation.email == INVITEE) == 1


def test_a_get_view_that_writes_waits_for_the_lock_like_a_post(busy_app, world):
    http = busy_app.test_client()
    with write_lock_held(busy_app):
        busy = http.get("/testing/marked")
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "1")
    assert http.get("/testing/marked").status_code == 200


def test_a_read_turned_write_on_a_stale_snapshot_is_a_503_not_a_500(busy_app, world):
    renamed = f"UPDATE organizations SET name = 'Renamed' WHERE id = {world['org_id']}"
    _between[:] = [renamed]
    try:
        stale = busy_app.test_client().get("/testing/unmarked")
    finally:
        _between.clear()
    assert (stale.status_code, stale.headers["Retry-After"]) == (503, "1")
