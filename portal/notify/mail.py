"""Email transport: SMTP when ``SMTP_URL`` is set, otherwise the log (the embedded mode).

``SMTP_URL`` looks like ``smtp://user:pass@host:587`` (STARTTLS when the server offers it),
``smtps://host:465`` (TLS from the start) or ``smtp://127.0.0.1:1025`` (plain, for loopback).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from portal.clock import utcnow

log = logging.getLogger("portal.mail")
# How long one step of an SMTP exchange (connect, a command, the data) may take.
TIMEOUT_SECONDS = 15.0


def build_message(
    sender: str,
    to: str,
    subject: str,
    body: str,
    *,
    message_id: str | None = None,
    thread_id: str | None = None,
    reply_to: str | None = None,
) -> EmailMessage:
    """One plain-text email. ``message_id`` and ``thread_id`` are Message-IDs (``<x@domain>``):
    the mail's own, and the stable one of the record it is about, which every mail about that
    record names in ``In-Reply-To`` and ``References`` so that mail programs group them."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id or make_msgid(domain=_domain_of(sender))
    if thread_id:
        msg["In-Reply-To"] = thread_id
        msg["References"] = thread_id
    if reply_to:
        msg["Reply-To"] = reply_to
    # Sent by the portal, not a person: out-of-office responders answer nothing (RFC 3834).
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


def _domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def thread_id(thread: str, domain: str) -> str:
    """The stable Message-ID of a record's thread (``<case-12@portal.example>``)."""
    return f"<{thread}@{domain}>"


def outbox_message_id(message_id: int, created_at, domain: str) -> str:
    """The Message-ID of one outbox message: the same on every retry of its delivery, and
    unique to this portal (the time it was written tells two databases' message 12 apart)."""
    return f"<portal-{message_id}.{int(created_at.timestamp())}@{domain}>"


def send(smtp_url: str | None, msg: EmailMessage, timeout: float = TIMEOUT_SECONDS) -> None:
    """Send one message; raises on failure so the outbox can retry."""
    if not smtp_url:
        log.info("email (no SMTP_URL set, not sent)\n%s", msg.as_string())
        return
    url = urlsplit(smtp_url)
    if url.scheme not in {"smtp", "smtps"}:
        raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {url.scheme}://")
    host = url.hostname or "127.0.0.1"
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            host, url.port or 465, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, url.port or 25, timeout=timeout)
    with client:
        if url.scheme == "smtp":
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(msg)
