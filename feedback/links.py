"""Signed survey links: bound to one survey and one recipient, expiring, needing no sign-in.

A link carries ``{"s": survey id, "r": recipient id}`` signed with the app's ``SECRET_KEY``
(itsdangerous, salted per purpose so a survey token is never accepted as anything else) and the
time it was made. Opening it checks the signature and the age; whether it was already answered
is the database's to say (a unique answer per recipient), never the link's.

NPS campaigns (purpose ``nps``: a campaign and a recipient row) and the CSAT survey after a
solved case (purpose ``csat``: a survey and its requester) use the same functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from portal.db import db, unscoped

DEFAULT_DAYS = 14
MAX_COMMENT = 2000


class LinkInvalid(Exception):
    """The link was not made by this portal, was altered, or is not for this purpose."""


class LinkExpired(Exception):
    """The link is genuine but older than its lifetime."""


class AlreadyAnswered(Exception):
    """The link's one answer is recorded already."""


@dataclass(frozen=True)
class SurveyLink:
    survey_id: int
    recipient_id: int


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"survey-link:{purpose}")


def lifetime_seconds() -> int:
    """How long a link stays valid: ``SURVEY_LINK_DAYS`` (default 14 days)."""
    return int(current_app.config.get("SURVEY_LINK_DAYS") or DEFAULT_DAYS) * 86400


def make_token(purpose: str, survey_id: int, recipient_id: int) -> str:
    return _serializer(purpose).dumps({"s": int(survey_id), "r": int(recipient_id)})


def read_token(purpose: str, token: str) -> SurveyLink:
    """The survey and recipient a token is for; raises LinkInvalid or LinkExpired."""
    try:
        data = _serializer(purpose).loads(token, max_age=lifetime_seconds())
    except SignatureExpired:
        raise LinkExpired() from None  # also a token stamped in the future (clock skew)
    except BadSignature:
        raise LinkInvalid() from None
    try:
        return SurveyLink(int(data["s"]), int(data["r"]))
    except (TypeError, KeyError, ValueError):
        raise LinkInvalid() from None


def record_answer_once(answer, *, check: Callable[[], None] | None = None) -> None:
    """Write a link's answer row. Once only: the unique answer per recipient decides between
    concurrent submits, whatever they read before, and the later one gets AlreadyAnswered.
    ``check`` runs first, in the same savepoint of the request's own transaction (a lock it
    takes lasts until the commit), and refuses by raising."""
    answer.comment = (answer.comment or "").strip()[:MAX_COMMENT]
    session = db.session
    try:
        # The answer belongs to the recipient's organisation, and no principal may create one.
        with unscoped(session), session.begin_nested():  # reason: a link has no principal
            if check is not None:
                check()
            session.add(answer)
    except IntegrityError:
        raise AlreadyAnswered() from None
