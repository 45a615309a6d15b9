"""Email transport: SMTP when ``SMTP_URL`` is set, otherwise the log (the embedded mode).

``SMTP_URL`` looks like ``smtp://user:pass@host:587`` (STARTTLS when the server offers it),
``smtps://host:465`` (TLS from the start) or ``smtp://127.0.0.1:1025`` (plain, for loopback).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

log = logging.getLogger("portal.mail")
# How long one step of an SMTP exchange (connect, a command, the data) may take.
TIMEOUT_SECONDS = 15.0


def build_message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


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
