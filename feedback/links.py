"""Signed survey links: bound to one survey and one recipient, expiring, needing no sign-in.

A link carries ``{"s": survey id, "r": recipient id, "n": nonce}`` signed with the app's
``SECRET_KEY`` (itsdangerous, salted per purpose so a survey token is never accepted as anything
else) and the time it was made. The nonce is random and stored with the recipient's row when it
is created (``new_nonce``): the signature proves the portal made the link, the nonce that it was
made for that row, so someone who has the key but not the database cannot make a link that
answers. Opening it checks the signature and the age, then ``matches`` against the row; whether
it was already answered is the database's to say (a unique answer per recipient), never the
link's.

NPS campaigns (purpose ``nps``: a campaign and a recipient row) and the CSAT survey after a
solved case (purpose ``csat``: a survey and its requester) use the same functions.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from portal.db import db, unscoped

DEFAULT_DAYS = 14
MAX_COMMENT = 2000
NONCE_BYTES = 16  # 128 bits: 22 characters in a link


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
    nonce: str


def new_nonce() -> str:
    """A recipient row's random link nonce (the column default of ``link_nonce``)."""
    return secrets.token_urlsafe(NONCE_BYTES)


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"survey-link:{purpose}")


def lifetime_seconds() -> int:
    """How long a link stays valid: ``SURVEY_LINK_DAYS`` (default 14 days)."""
    return int(current_app.config.get("SURVEY_LINK_DAYS") or DEFAULT_DAYS) * 86400


def make_token(purpose: str, survey_id: int, recipient_id: int, nonce: str) -> str:
    """The link's token for a recipient row: its survey, its id and its stored ``nonce``."""
    if not nonce:
        raise ValueError("a survey link needs its recipient's nonce")
    return _serializer(purpose).dumps({"s": int(survey_id), "r": int(recipient_id), "n": nonce})


def read_token(purpose: str, token: str) -> SurveyLink:
    """The survey, recipient and nonce a token names; raises LinkInvalid or LinkExpired. The
    caller then checks them against the recipient's row with ``matches``."""
    try:
        data = _serializer(purpose).loads(token, max_age=lifetime_seconds())
    except SignatureExpired:
        raise LinkExpired() from None  # also a token stamped in the future (clock skew)
    except BadSignature:
        raise LinkInvalid() from None
    try:
        nonce = data["n"]
        if not isinstance(nonce, str) or not nonce:
            raise ValueError(nonce)  # a link made before nonces, or forged without one
        return SurveyLink(int(data["s"]), int(data["r"]), nonce)
    except (TypeError, KeyError, ValueError):
        raise LinkInvalid() from None


def matches(link: SurveyLink, *, survey_id: int, recipient_id: int, nonce: str | None) -> bool:
    """Whether ``link`` was made for this recipient row (its survey, id and stored nonce). The
    nonce is compared in constant time, so the answer's timing tells nothing of the stored one."""
    if not nonce or (link.survey_id, link.recipient_id) != (survey_id, recipient_id):
        return False  # the ids are no secret: only the nonce's comparison must not tell
    return hmac.compare_digest(link.nonce.encode(), nonce.encode())


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
