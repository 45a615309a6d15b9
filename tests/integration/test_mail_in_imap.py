"""Mail in, by IMAP polling, against a real IMAP server on loopback: hoodiecrow-imap (npm, see
package.json) runs under ``node`` with one user and an INBOX holding the test's messages, and
``portal.mailin.imap.poll_once`` reads it as ``flask mail-in`` does with ``MAIL_IN_IMAP_URL``.
The test reads what was stored and, through its own IMAP connection, the flags the poller left:
a reply becomes the sender's public comment (seen), a refusal writes nothing (seen and flagged,
for a person to look at), an auto-reply is dropped, and the next round reads nothing again."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from imapclient import IMAPClient

from feedback.ideas.models import IdeaComment
from portal.mailin import imap, services
from portal.mailin.models import ReceivedMail
from selfservice.cases.models import Case, CaseAttachment, CaseComment
from tests.conftest import free_port
from tests.factories import make_case
from tests.integration.test_mail_in import clock as clock  # a fixture
from tests.integration.test_mail_in import comments_of, email, reply_address
from tests.integration.test_mail_in import people as people  # a fixture
from tests.unchanged import unchanged

SERVER_SCRIPT = Path(__file__).with_name("imap_server.js")
# The mailbox's account; the password has characters the URL must quote.
USER = "support@portal.test"
PASSWORD = "s3cret/pass:word"
WRITTEN = [Case, CaseComment, CaseAttachment, IdeaComment, ReceivedMail]
SEEN = {b"\\Seen"}
SEEN_AND_FLAGGED = {b"\\Seen", b"\\Flagged"}


class Inbox:
    """A running hoodiecrow server: ``url`` for ``poll_once``, ``flags()`` to read its state."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = (
            f"imap://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/INBOX"
        )

    def flags(self) -> dict[int, set[bytes]]:
        """Each message's flags by UID, read with FETCH FLAGS (which marks nothing seen)."""
        with IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10) as client:
            client.login(USER, PASSWORD)
            client.select_folder("INBOX", readonly=True)
            found = client.fetch(client.search("ALL"), ["FLAGS"])
        return {uid: set(data[b"FLAGS"]) for uid, data in found.items()}


@pytest.fixture
def imap_inbox(tmp_path):
    """``imap_inbox(*messages)``: an IMAP server on a free loopback port whose INBOX holds
    ``messages`` (``EmailMessage``s, unseen, UIDs 1, 2, … in order); stopped after the test."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the IMAP test server (hoodiecrow-imap) runs on it")
    processes: list[subprocess.Popen] = []

    def start(*messages) -> Inbox:
        port = free_port()
        raw = [m.as_bytes(policy=m.policy.clone(linesep="\r\n")) for m in messages]
        config = tmp_path / f"imap-{port}.json"
        config.write_text(
            json.dumps(
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "user": USER,
                    "password": PASSWORD,
                    "messages": [base64.b64encode(r).decode() for r in raw],
                }
            )
        )
        log = tmp_path / f"imap-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [node, str(SERVER_SCRIPT), str(config)],
                cwd=SERVER_SCRIPT.parents[2],  # node finds hoodiecrow-imap in node_modules
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        _wait_until_it_answers(process, port, log)
        return Inbox(port)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_it_answers(process: subprocess.Popen, port: int, log: Path) -> None:
    # Counted tries rather than a deadline: the tests freeze the clock.
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(f"the IMAP server ended: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):  # the server's greeting
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the IMAP server did not answer: {log.read_text()[-2000:]}")


@pytest.fixture
def case(db, people):
    return make_case(db, people.customer, people.customer_user, subject="Printer stalls")


def poll(app, inbox: Inbox) -> int:
    return imap.poll_once(app, inbox.url)


def test_a_customer_reply_in_the_inbox_becomes_their_public_reply(
    app, db, people, case, imap_inbox, mailbox, clock
):
    to = reply_address(app, "case", case.id, people.customer_user.id)
    inbox = imap_inbox(email("Anna <CU@acme.test>", to))
    assert inbox.flags() == {1: set()}

    assert poll(app, inbox) == 1

    [comment] = comments_of(db, case.id)
    assert comment.body == "Thanks, restarting the spooler fixed it."
    assert "SECRET-QUOTED-HISTORY" not in comment.body and "+49 30" not in comment.body
    assert comment.author_id == people.customer_user.id
    assert not comment.internal and not comment.by_agent
    # The agents hear of it as of a reply on the page.
    [told] = mailbox.to("agent@vendor.test")
    assert told["Subject"] == f"Customer reply on {case.number}: Printer stalls"
    assert inbox.flags() == {1: SEEN}


def test_a_message_from_an_unknown_sender_is_refused_and_flagged(
    app, db, people, case, imap_inbox, clock
):
    to = reply_address(app, "case", case.id, people.customer_user.id)
    inbox = imap_inbox(email("nobody@elsewhere.test", to))

    with unchanged(db, case, counted=WRITTEN):
        assert poll(app, inbox) == 1

    assert inbox.flags() == {1: SEEN_AND_FLAGGED}


def test_an_automatic_reply_is_dropped(app, db, people, case, imap_inbox, clock):
    to = reply_address(app, "case", case.id, people.customer_user.id)
    away = email(
        "cu@acme.test",
        to,
        text="I am out of the office until Monday.",
        Auto_Submitted="auto-replied",
    )
    inbox = imap_inbox(away)

    with unchanged(db, case, counted=WRITTEN):
        assert poll(app, inbox) == 1

    assert inbox.flags() == {1: SEEN}  # ignored on purpose: nothing for a person to look at


def test_the_next_round_reads_nothing_new_and_writes_nothing_more(
    app, db, people, case, imap_inbox, clock
):
    to = reply_address(app, "case", case.id, people.customer_user.id)
    inbox = imap_inbox(
        email("cu@acme.test", to, text="Fixed, thank you."),
        email("nobody@elsewhere.test", to),
        email("cu@acme.test", to, text="Out of office.", Auto_Submitted="auto-replied"),
    )
    assert poll(app, inbox) == 3
    assert [c.body for c in comments_of(db, case.id)] == ["Fixed, thank you."]
    after_first = {1: SEEN, 2: SEEN_AND_FLAGGED, 3: SEEN}
    assert inbox.flags() == after_first

    with unchanged(db, case, counted=WRITTEN):
        assert poll(app, inbox) == 0

    assert inbox.flags() == after_first


def test_a_message_that_failed_on_our_side_stays_unseen_for_the_next_round(
    app, db, people, case, imap_inbox, monkeypatch, clock
):
    to = reply_address(app, "case", case.id, people.customer_user.id)
    inbox = imap_inbox(email("cu@acme.test", to, text="Fixed, thank you."))

    def broken(raw):
        raise RuntimeError("the database is away")

    with monkeypatch.context() as patch:
        patch.setattr(services, "take_in", broken)
        with unchanged(db, case, counted=WRITTEN):
            assert poll(app, inbox) == 1
    assert inbox.flags() == {1: set()}

    assert poll(app, inbox) == 1  # the next round, with the database back
    assert [c.body for c in comments_of(db, case.id)] == ["Fixed, thank you."]
    assert inbox.flags() == {1: SEEN}
