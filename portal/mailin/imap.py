"""IMAP polling, the other way in for ``flask mail-in``: when ``MAIL_IN_IMAP_URL`` is set
(``imaps://user:pass@host/INBOX``), read the unseen messages of that folder, take each in, and
mark it seen (and flagged when it was refused, for a person to look at). A message whose taking
in failed on our side stays unseen and is read again on the next round; one taken in twice is
one comment (``received_mail``). The mailbox's owner sees the bounces: IMAP has no way to answer
a refusal to the sender, so a refusal is a flag and a log line.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

from flask import Flask
from imapclient import IMAPClient

from portal.mailin import services

log = logging.getLogger("portal.mailin")
TIMEOUT = 30  # seconds: a server that stops answering ends the round, the next one tries again
BATCH = 20


def poll_once(app: Flask, url: str) -> int:
    """One round: take in every unseen message; returns how many were read."""
    parts = urlsplit(url)
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    secure = parts.scheme == "imaps"
    with IMAPClient(
        parts.hostname, port=parts.port or (993 if secure else 143), ssl=secure, timeout=TIMEOUT
    ) as imap:
        imap.login(unquote(parts.username or ""), unquote(parts.password or ""))
        imap.select_folder(folder)
        uids = imap.search(["UNSEEN"])
        for start in range(0, len(uids), BATCH):  # a few messages in memory at a time
            # BODY.PEEK: reading does not set \Seen (RFC 3501 6.4.5); a message is marked only
            # once it has been taken in, so one that failed here is read again next round.
            for uid, data in imap.fetch(uids[start : start + BATCH], ["BODY.PEEK[]"]).items():
                with app.app_context():
                    try:
                        verdict = services.take_in(data[b"BODY[]"])
                    except Exception:
                        log.exception("IMAP message %s could not be taken in; kept unseen", uid)
                        continue
                flags = [b"\\Seen"] if verdict.accepted else [b"\\Seen", b"\\Flagged"]
                imap.add_flags(uid, flags)
        return len(uids)
