"""Reading one incoming email: who sent it, to whom, what it says (the new text only: quoted
history and signature stripped), its files, and whether a machine wrote it."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from mailparser_reply import EmailReplyParser

# Languages whose reply headers ("On … wrote:", "Am … schrieb …:") are recognised.
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
# Parts that are a message's signature, not a file the sender attached.
SIGNATURE_TYPES = {
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
}
AUTOMATIC_PRECEDENCE = {"bulk", "auto_reply", "junk"}


@dataclass
class Incoming:
    message_id: str
    sender: str  # the From address, lower-cased
    recipients: list[str]  # lower-cased, envelope recipients first
    subject: str
    text: str
    files: list[tuple[str, bytes]] = field(default_factory=list)
    automatic: str | None = None  # why it is an automatic message, or None

    @property
    def key(self) -> str:
        return hashlib.sha256(self.message_id.encode()).hexdigest()


def automatic_reason(msg: EmailMessage, envelope_sender: str | None) -> str | None:
    """Why this is mail no person wrote (an auto-reply, a bounce, a list), or None."""
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if msg.get(name) is not None:
            return name
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    if envelope_sender is not None and envelope_sender.strip("<> ") == "":
        return "empty envelope sender (a bounce)"
    senders = [envelope_sender or "", parseaddr(msg.get("From", ""))[1], msg.get("Return-Path", "")]
    if any(s.strip("<> ").lower().startswith("mailer-daemon") for s in senders):
        return "MAILER-DAEMON (a bounce)"
    if msg.get_content_type() == "multipart/report":
        return "multipart/report (a delivery report)"
    return None


def _text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset
        content = part.get_payload(decode=True).decode("utf-8", "replace")
    if part.get_content_type() == "text/html":
        content = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", content)
        content = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>", "\n", content)
        content = re.sub(r"(?is)<blockquote\b.*?</blockquote>", "", content)
        content = html.unescape(re.sub(r"<[^>]+>", "", content))
    return content.replace("\r\n", "\n")


def new_text(text: str) -> str:
    """The sender's own words: the reply without the history it quotes or their signature."""
    replies = EmailReplyParser(languages=REPLY_LANGUAGES).read(text=text).replies
    kept = replies[0].body if replies else text
    # Quoted lines with no "On … wrote:" above them are history all the same.
    return "\n".join(line for line in kept.splitlines() if not line.startswith(">")).strip()


def _files(msg: EmailMessage) -> list[tuple[str, bytes]]:
    files = []
    for part in msg.iter_attachments():
        if part.get_content_type() in SIGNATURE_TYPES:
            continue
        name = part.get_filename()
        if not name and part.get_content_disposition() != "attachment":
            continue  # an inline picture (a logo in a signature), not a file
        files.append((name or "attachment", part.get_payload(decode=True) or b""))
    return files


def parse(raw: bytes, envelope_sender: str | None = None, envelope_to: list[str] | None = None):
    """An ``Incoming`` from the message's bytes and, over SMTP, its envelope."""
    msg = message_from_bytes(raw, policy=policy.default)
    recipients = [a.lower() for a in envelope_to or []]
    headers = [str(v) for name in ("Delivered-To", "To", "Cc") for v in msg.get_all(name, [])]
    recipients += [a.lower() for _, a in getaddresses(headers) if a]
    message_id = (msg.get("Message-ID") or "").strip()
    if not message_id:  # no id: the message's own bytes tell a second delivery from another
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    automatic = automatic_reason(msg, envelope_sender)
    return Incoming(
        message_id=message_id,
        sender=parseaddr(str(msg.get("From", "")))[1].lower(),
        recipients=list(dict.fromkeys(recipients)),
        subject=str(msg.get("Subject", "")).strip(),
        text="" if automatic else new_text(_text_of(msg)),
        files=[] if automatic else _files(msg),
        automatic=automatic,
    )
