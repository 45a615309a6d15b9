"""The SMTP receiver of ``flask mail-in``: aiosmtpd on ``MAIL_IN_HOST``:``MAIL_IN_PORT``.

It answers at RCPT time for an address that is neither the support address nor one of its
tokened forms (550 5.1.1), at DATA time 552 for a message past ``MAIL_IN_MAX_BYTES``, and after
the message is read, 250 when it was taken in (or ignored on purpose) and 550 with the reason
when it was refused: the sending server then tells its sender, in a bounce, why. It is meant to
sit behind the organisation's mail server (an MX or a forwarding rule for the support
address), on a private address; it speaks no TLS or authentication of its own.
"""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.controller import Controller
from flask import Flask

from portal.mailin import services, tokens

log = logging.getLogger("portal.mailin")


class Handler:
    """aiosmtpd's handler protocol; each message is taken in on a worker thread, inside the
    app's context, so the event loop keeps serving other connections meanwhile."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.app.app_context():
            ours = tokens.token_in(address) is not None or tokens.is_support_address(address)
        if not ours:
            log.info("mail to %s refused: no such recipient", address)
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        verdict = await loop.run_in_executor(None, self._take_in, envelope)
        return verdict.answer

    def _take_in(self, envelope):
        with self.app.app_context():
            try:
                return services.take_in(
                    envelope.original_content or envelope.content,
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                )
            except Exception:
                log.exception("mail from %s could not be taken in", envelope.mail_from)
                return services.Verdict(False, "451 4.3.0 Try again later")


def controller(app: Flask, host: str | None = None, port: int | None = None) -> Controller:
    """The receiver, not yet started (``.start()`` runs it on a thread, ``.stop()`` ends it)."""
    config = app.config
    return Controller(
        Handler(app),
        hostname=host or config["MAIL_IN_HOST"],
        port=port or config["MAIL_IN_PORT"],
        data_size_limit=config["MAIL_IN_MAX_BYTES"],
        server_hostname=config["MAIL_DOMAIN"],
        ident="portal mail-in",
    )
