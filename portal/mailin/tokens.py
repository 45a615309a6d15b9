"""Reply tokens: who may answer which record by email, until when.

A notification email about a case or an idea carries ``Reply-To: support+<token>@domain``. The
token names the record (``c12`` a case, ``i7`` an idea), the recipient's user id and the day it
was issued, and ends with an HMAC-SHA256 of those under ``SECRET_KEY`` (a key of its own derived
from it), in base32: lower case, so a mail server that folds the local part's case breaks
nothing, and short enough (about 45 characters) for the 64 an address's local part may have.
It expires ``MAIL_REPLY_DAYS`` after the day it was issued. Reading one refuses a forged,
altered or expired token with ``BadToken``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app

from portal.clock import utcnow

# What a token's first letter says the record is.
KIND_LETTERS = {"case": "c", "idea": "i"}
KINDS_BY_LETTER = {v: k for k, v in KIND_LETTERS.items()}
_SHAPE = re.compile(r"^([a-z])(\d{1,12})-(\d{1,12})-(\d{1,6})-([a-z2-7]{26})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BadToken(ValueError):
    """Forged, altered, malformed or expired: the reason is the message (for the log)."""


@dataclass(frozen=True)
class ReplyToken:
    kind: str  # "case" or "idea"
    record_id: int
    user_id: int
    issued_day: int  # days since 1970-01-01 (UTC)

    @property
    def thread(self) -> str:
        return f"{self.kind}-{self.record_id}"


def _today() -> int:
    return (utcnow() - _EPOCH).days


def _signature(payload: str) -> str:
    key = hashlib.sha256(b"portal.mailin.reply|" + current_app.config["SECRET_KEY"].encode())
    digest = hmac.new(key.digest(), payload.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:16]).decode().rstrip("=").lower()


def make_token(kind: str, record_id: int, user_id: int) -> str:
    payload = f"{KIND_LETTERS[kind]}{record_id}-{user_id}-{_today()}"
    return f"{payload}-{_signature(payload)}"


def read_token(text: str) -> ReplyToken:
    match = _SHAPE.match((text or "").strip().lower())
    if match is None:
        raise BadToken("not a reply token")
    letter, record_id, user_id, day, signature = match.groups()
    payload = f"{letter}{record_id}-{user_id}-{day}"
    if letter not in KINDS_BY_LETTER or not hmac.compare_digest(signature, _signature(payload)):
        raise BadToken("reply token with a wrong signature (forged or altered)")
    if _today() - int(day) > current_app.config["MAIL_REPLY_DAYS"]:
        raise BadToken(f"reply token expired (issued {_today() - int(day)} days ago)")
    return ReplyToken(KINDS_BY_LETTER[letter], int(record_id), int(user_id), int(day))


def reply_address(kind: str, record_id: int, user_id: int) -> str:
    """``support+<token>@domain`` from ``MAIL_REPLY_ADDRESS``."""
    box, _, domain = current_app.config["MAIL_REPLY_ADDRESS"].partition("@")
    return f"{box}+{make_token(kind, record_id, user_id)}@{domain}"


def token_in(address: str) -> str | None:
    """The token of an address ``support+<token>@domain`` to the reply address's box and
    domain, or None (another address, or the plain support address)."""
    box, _, domain = current_app.config["MAIL_REPLY_ADDRESS"].partition("@")
    local, _, at = (address or "").strip().lower().rpartition("@")
    if at != domain or not local.startswith(box + "+"):
        return None
    return local[len(box) + 1 :]


def is_support_address(address: str) -> bool:
    return (address or "").strip().lower() == current_app.config["MAIL_REPLY_ADDRESS"]
