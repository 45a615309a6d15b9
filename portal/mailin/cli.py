"""``flask mail-in``: run beside the worker; replies by email become comments."""

from __future__ import annotations

import threading

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command(
    "mail-in",
    help="Receive mail: an SMTP receiver on MAIL_IN_HOST:MAIL_IN_PORT, or, with "
    "MAIL_IN_IMAP_URL set, poll that IMAP folder. Replies become comments, mail to the support "
    "address opens cases.",
)
@click.option("--once", is_flag=True, help="IMAP: poll once and stop.")
@click.option("--interval", default=60, show_default=True, help="IMAP: seconds between polls.")
@with_appcontext
def mail_in_command(once: bool, interval: int) -> None:
    # The receivers (imapclient, aiosmtpd and asyncio) are loaded by this command only, not by
    # every web worker that registers it.
    from portal.mailin import imap, smtp

    app = current_app._get_current_object()
    stop = threading.Event()
    url = app.config["MAIL_IN_IMAP_URL"]
    if url:
        click.echo(f"mail-in: polling {url.split('@')[-1]} every {interval} s")
        while True:
            click.echo(f"mail-in: {imap.poll_once(app, url)} messages read")
            if once or stop.wait(interval):
                return
    receiver = smtp.controller(app)
    receiver.start()
    click.echo(
        f"mail-in: SMTP on {app.config['MAIL_IN_HOST']}:{app.config['MAIL_IN_PORT']} "
        f"for {app.config['MAIL_REPLY_ADDRESS']} (Ctrl-C stops)"
    )
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
