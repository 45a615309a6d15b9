"""A person's signed-in sessions: the list (device, address, signed in at, last seen), signing out
one or all the others, and the "last seen" stamp, written at most once a minute after the answer.

The sessions themselves are ``portal.identity.models.UserSession`` rows (the cookie carries a
random token whose hash the row keeps): the user loader finds the row on every request, so a
session signed out here is signed out at its next request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select, update
from ua_parser import parse

from portal import audit
from portal.clock import utcnow
from portal.db import db
from portal.identity import services as identity
from portal.identity import tokens
from portal.identity.models import User, UserSession
from portal.tenancy import Principal

# A GET answered in a session seen less than this ago writes nothing.
LAST_SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionLine:
    id: int
    device: str
    ip_address: str | None
    signed_in_at: datetime
    last_seen_at: datetime
    signed_in_with: str | None
    current: bool


@functools.lru_cache(maxsize=512)
def _browser_and_system(user_agent: str) -> tuple[str | None, str | None]:
    result = parse(user_agent)  # ~10 ms a string: a page of sessions parses each once
    browser = result.user_agent.family if result.user_agent else None
    system = result.os.family if result.os else None
    return browser, system


def describe_device(user_agent: str | None) -> str:
    """ "Firefox on Windows" from a User-Agent header; the raw start of it when unknown."""
    browser, system = _browser_and_system(user_agent or "")
    if browser and system and system != "Other":
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    if browser and browser != "Other":
        return browser
    return (user_agent or "")[:60] or _("Unknown device")


def sessions_of(user: User) -> list[SessionLine]:
    """The person's live sessions, the most recently seen first (read through the wall: a
    session row is seen by its own person only)."""
    current = tokens.hash_token(user.session_token) if user.session_token else None
    rows = db.session.scalars(
        select(UserSession).where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > utcnow(),
        )
    ).all()
    lines = [
        SessionLine(
            id=row.id,
            device=describe_device(row.user_agent),
            ip_address=row.ip_address,
            signed_in_at=row.created_at,
            last_seen_at=row.last_seen_at or row.created_at,
            signed_in_with=row.signed_in_with,
            current=row.token_hash == current,
        )
        for row in rows
    ]
    return sorted(lines, key=lambda line: (not line.current, -line.last_seen_at.timestamp()))


def end_one_session(row: UserSession, *, actor: Principal) -> None:
    """Sign out one of the person's sessions (loaded through the wall by the caller)."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record("user.session_ended", row.user, actor=actor)
    db.session.flush()


def end_other_sessions(user: User, *, actor: Principal) -> None:
    """Sign out every session of the person but the one asking."""
    identity.end_all_sessions(user.id, keep_token=user.session_token)
    audit.record("user.other_sessions_ended", user, actor=actor)


# Last seen.


def note_last_seen() -> None:
    """``before_request``: remember to stamp this session seen, when it was last stamped over
    a minute ago and the request only reads (a writing request holds SQLite's write lock in its
    own transaction until it ends; the next page view stamps it)."""
    if request.method not in ("GET", "HEAD") or not current_user.is_authenticated:
        return
    seen = getattr(current_user, "session_last_seen_at", None)
    session_id = getattr(current_user, "session_id", None)
    if session_id is not None and (seen is None or utcnow() - seen >= LAST_SEEN_EVERY):
        g.stamp_session_seen = session_id


def stamp_last_seen(response):
    """``after_request``: the stamp noted, in a short transaction of its own after the page's
    reading one has ended, so a page view never turns its reads into a write. If the database is
    busy the stamp waits for a later page; a streamed answer (still reading) is not stamped."""
    session_id = g.pop("stamp_session_seen", None)
    if (
        session_id is None
        or g.get("principal") is None
        or response.status_code >= 500
        or response.is_streamed
    ):
        return response
    session = db.session  # bound to the person's principal: their own row, through the wall
    try:
        session.rollback()  # the page's transaction only read (a GET)
        session.execute(
            update(UserSession)
            .where(UserSession.id == session_id)
            .values(last_seen_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.commit()
    except Exception as error:  # noqa: BLE001 - a stamp is never worth a failed page
        session.rollback()
        current_app.logger.info("last seen of session %s not written: %s", session_id, error)
    return response
