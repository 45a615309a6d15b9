"""Mail in, over real SMTP on loopback: the receiver runs as ``flask mail-in`` runs it
(``portal.mailin.smtp.controller``, started on a free port), real mail is sent to it with
``smtplib``, and the test reads what was stored: a reply becomes the sender's public comment
(quoted history and signature gone, files kept, the agents told as for a reply on the page), a
message to the support address opens a case, and every refusal writes nothing."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import time_machine
from sqlalchemy import func, select

from feedback.ideas.models import IdeaComment
from portal.mailin import smtp, tokens
from portal.mailin.models import ReceivedMail
from selfservice.cases.models import Case, CaseAttachment, CaseComment
from tests.conftest import free_port
from tests.factories import make_case, make_idea
from tests.unchanged import unchanged

MONDAY_10 = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
PDF = b"%PDF-1.4 a small test file\n%%EOF\n"
QUOTED = """Thanks, restarting the spooler fixed it.

--
Anna Customer
Acme Ltd., +49 30 1234

On Mon, 1 Mar 2027 at 10:00, Partner Portal <portal@portal.test> wrote:
> Try restarting the spooler.
> SECRET-QUOTED-HISTORY
"""


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def receiver(app, db):
    """The mail-in SMTP receiver, built as the CLI builds it, on a free loopback port."""
    controller = smtp.controller(app, host="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port
    controller.stop()


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    class People:
        customer = org_factory("customer", name="Acme Customer")
        other = org_factory("customer", name="Other Customer")
        agent = user_factory(vendor, "support_agent", email="agent@vendor.test")

    People.customer_user = user_factory(People.customer, "customer_user", email="cu@acme.test")
    People.colleague = user_factory(People.customer, "customer_user", email="col@acme.test")
    People.stranger = user_factory(People.other, "customer_user", email="st@other.test")
    return People


def reply_address(app, kind, record_id, user_id) -> str:
    with app.app_context():
        return tokens.reply_address(kind, record_id, user_id)


def email(sender, to, text=QUOTED, subject="Re: your case", files=(), **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash((sender, to, text, subject)))}.{free_port()}@mail.test>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    for name, data in files:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def send(port, msg, envelope_from=None, envelope_to=None) -> tuple[int, str]:
    """Send over SMTP as a mail server would; the receiver's last answer (code, text)."""
    envelope_from = msg["From"] if envelope_from is None else envelope_from
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        code, text = client.mail(envelope_from)
        for address in envelope_to or [msg["To"]]:
            if code == 250:
                code, text = client.rcpt(address)
        if code == 250:
            code, text = client.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
    return code, text.decode()


def comments_of(db, case_id):
    db.expire_all()
    db.connection().info.pop("tenant_scope", None)
    return db.scalars(
        select(CaseComment).where(CaseComment.case_id == case_id).order_by(CaseComment.id)
    ).all()


def test_a_reply_becomes_the_senders_public_comment_with_its_file(
    app, db, people, receiver, mailbox, clock
):
    case = make_case(db, people.customer, people.customer_user, subject="Printer stalls")
    to = reply_address(app, "case", case.id, people.customer_user.id)
    mailbox.clear()

    code, _ = send(receiver, email("Anna <CU@acme.test>", to, files=[("log.pdf", PDF)]))

    assert code == 250
    [comment] = comments_of(db, case.id)
    assert comment.body == "Thanks, restarting the spooler fixed it."
    assert "SECRET-QUOTED-HISTORY" not in comment.body and "+49 30" not in comment.body
    assert comment.author_id == people.customer_user.id
    assert not comment.internal and not comment.by_agent
    [attachment] = db.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case.id))
    assert (attachment.filename, attachment.content, attachment.comment_id) == (
        "log.pdf",
        PDF,
        comment.id,
    )
    assert not attachment.internal
    # The agents hear of it as of a reply on the page.
    [told] = mailbox.to("agent@vendor.test")
    assert told["Subject"] == f"Customer reply on {case.number}: Printer stalls"
    assert "Thanks, restarting the spooler fixed it." in told.get_content()


def test_the_same_message_delivered_twice_is_one_comment(app, db, people, receiver, clock):
    case = make_case(db, people.customer, people.customer_user)
    msg = email("cu@acme.test", reply_address(app, "case", case.id, people.customer_user.id))
    assert send(receiver, msg)[0] == 250
    with unchanged(db, counted=[CaseComment, ReceivedMail]):
        code, text = send(receiver, msg)
    assert (code, text) == (250, "2.0.0 Already received")
    assert len(comments_of(db, case.id)) == 1


def test_a_reply_on_an_idea_becomes_a_comment(app, db, people, receiver, clock):
    idea = make_idea(db, people.customer_user, title="Dark mode")
    to = reply_address(app, "idea", idea.id, people.colleague.id)
    code, _ = send(receiver, email("col@acme.test", to, text="Yes please, for night shifts."))
    assert code == 250
    db.expire_all()
    [comment] = db.scalars(select(IdeaComment).where(IdeaComment.idea_id == idea.id))
    assert (comment.body, comment.author_id) == (
        "Yes please, for night shifts.",
        people.colleague.id,
    )


def test_mail_to_the_support_address_opens_a_case(app, db, people, receiver, mailbox, clock):
    mailbox.clear()
    msg = email(
        "cu@acme.test",
        app.config["MAIL_REPLY_ADDRESS"],
        text="The scanner on floor 3 jams on every page.\n\n-- \nAnna",
        subject="Scanner jams",
        files=[("jam.pdf", PDF)],
    )
    code, _ = send(receiver, msg)
    assert code == 250
    db.expire_all()
    [case] = db.scalars(select(Case).where(Case.org_id == people.customer.id))
    assert (case.subject, case.description) == (
        "Scanner jams",
        "The scanner on floor 3 jams on every page.",
    )
    assert case.requester_id == people.customer_user.id and case.status == "new"
    [attachment] = db.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case.id))
    assert attachment.content == PDF and attachment.comment_id is None
    assert mailbox.to("agent@vendor.test")  # support hears of the new case
    [confirmation] = mailbox.to("cu@acme.test")
    assert case.number in confirmation["Subject"]


def refusal(app, db, people, receiver, msg, *records, **envelope):
    with unchanged(
        db, *records, counted=[Case, CaseComment, CaseAttachment, IdeaComment, ReceivedMail]
    ):
        return send(receiver, msg, **envelope)


def test_refusals_write_nothing(app, db, people, receiver, clock):
    case = make_case(db, people.customer, people.customer_user)
    to = reply_address(app, "case", case.id, people.customer_user.id)
    support = app.config["MAIL_REPLY_ADDRESS"]
    forged = to.replace(to.split("-")[-1].split("@")[0], "a" * 26)
    altered = to.replace(f"+c{case.id}-", f"+c{case.id + 1}-")
    cases = {
        "unknown sender": (email("nobody@elsewhere.test", to), "Unknown sender"),
        "unknown sender to support": (email("nobody@elsewhere.test", support), "Unknown sender"),
        "someone else's token": (email("col@acme.test", to), "belongs to someone else"),
        "forged token": (email("cu@acme.test", forged), "wrong signature"),
        "altered token": (email("cu@acme.test", altered), "wrong signature"),
        "not our address": (email("cu@acme.test", "sales@portal.test"), "No such recipient"),
        "bad file": (email("cu@acme.test", to, files=[("run.exe", b"MZ")]), "not accepted"),
        "only quotes": (email("cu@acme.test", to, text="> old text\n"), "no text of its own"),
        "subject too short": (email("cu@acme.test", support, subject="x"), "subject"),
    }
    for name, (msg, reason) in cases.items():
        code, text = refusal(app, db, people, receiver, msg, case)
        assert code == 550 and reason in text, (name, code, text)


def test_a_reply_from_someone_who_can_no_longer_see_the_case_is_refused(
    app, db, people, receiver, user_factory, clock
):
    case = make_case(db, people.customer, people.customer_user)
    # A token issued to a person of another organisation (it moved, or was never theirs).
    to = reply_address(app, "case", case.id, people.stranger.id)
    code, text = refusal(app, db, people, receiver, email("st@other.test", to), case)
    assert (code, text) == (550, "5.7.1 No such case for you")


def test_a_reply_on_a_closed_case_or_by_a_follower_is_refused(
    app, db, people, receiver, org_factory, user_factory, clock
):
    closed = make_case(db, people.customer, people.customer_user, status="closed")
    to = reply_address(app, "case", closed.id, people.customer_user.id)
    code, text = refusal(app, db, people, receiver, email("cu@acme.test", to), closed)
    assert code == 550 and "This case is closed" in text
    # A reseller managing the customer follows its cases, read only.
    reseller = org_factory("reseller")
    people.customer.managed_by_id = reseller.id
    follower = user_factory(reseller, "partner_user", email="pu@reseller.test")
    case = make_case(db, people.customer, people.customer_user)
    to = reply_address(app, "case", case.id, follower.id)
    code, text = refusal(app, db, people, receiver, email("pu@reseller.test", to), case)
    assert code == 550 and "not change it" in text


def test_an_agent_answers_cases_on_the_portal_not_by_email(app, db, people, receiver, clock):
    case = make_case(db, people.customer, people.customer_user)
    to = reply_address(app, "case", case.id, people.agent.id)
    code, text = refusal(app, db, people, receiver, email("agent@vendor.test", to), case)
    assert code == 550 and "on the portal" in text


def test_an_inactive_account_is_refused(app, db, people, receiver, clock):
    case = make_case(db, people.customer, people.customer_user)
    to = reply_address(app, "case", case.id, people.customer_user.id)
    people.customer_user.active = False
    db.flush()
    code, text = refusal(app, db, people, receiver, email("cu@acme.test", to), case)
    assert code == 550 and "not active" in text


def test_an_expired_token_is_refused(app, db, people, receiver, clock):
    case = make_case(db, people.customer, people.customer_user)
    to = reply_address(app, "case", case.id, people.customer_user.id)
    clock.shift(timedelta(days=app.config["MAIL_REPLY_DAYS"] + 1))
    code, text = refusal(app, db, people, receiver, email("cu@acme.test", to), case)
    assert code == 550 and "expired" in text
    clock.shift(timedelta(days=-2))  # within its days it is still good
    assert send(receiver, email("cu@acme.test", to, text="Still here."))[0] == 250


def test_oversized_mail_is_refused_at_data_time(app, db, people, monkeypatch, clock):
    monkeypatch.setitem(app.config, "MAIL_IN_MAX_BYTES", 64 * 1024)
    small = smtp.controller(app, host="127.0.0.1", port=free_port())
    small.start()
    try:
        case = make_case(db, people.customer, people.customer_user)
        to = reply_address(app, "case", case.id, people.customer_user.id)
        big = email("cu@acme.test", to, files=[("big.pdf", PDF + b"x" * 64 * 1024)])
        code, text = refusal(app, db, people, small.port, big, case)
    finally:
        small.stop()
    assert code == 552, text


def test_oversized_mail_is_refused_by_the_limit_whatever_the_transport(app, db, people, clock):
    from portal.mailin import services

    case = make_case(db, people.customer, people.customer_user)
    to = reply_address(app, "case", case.id, people.customer_user.id)
    raw = email("cu@acme.test", to, text="x" * (app.config["MAIL_IN_MAX_BYTES"] + 1)).as_bytes()
    with app.app_context(), unchanged(db, case, counted=[CaseComment, ReceivedMail]):
        verdict = services.take_in(raw)  # as IMAP polling hands it over
    assert not verdict.accepted and verdict.answer.startswith("552")


@pytest.mark.parametrize(
    "headers, envelope_from",
    [
        ({"Auto_Submitted": "auto-replied"}, None),
        ({"X_Autoreply": "yes"}, None),
        ({"X_Autorespond": "Out of office"}, None),
        ({"Precedence": "bulk"}, None),
        ({"Precedence": "auto_reply"}, None),
        ({"Precedence": "junk"}, None),
        ({}, ""),  # a bounce: the empty envelope sender
        ({}, "MAILER-DAEMON@mx.acme.test"),
    ],
)
def test_automatic_mail_is_ignored(app, db, people, receiver, clock, headers, envelope_from):
    case = make_case(db, people.customer, people.customer_user)
    to = reply_address(app, "case", case.id, people.customer_user.id)
    msg = email("cu@acme.test", to, text="I am out of the office until Monday.", **headers)
    code, text = refusal(app, db, people, receiver, msg, case, envelope_from=envelope_from)
    assert (code, text) == (250, "2.0.0 Ignored: an automatic message")


def test_a_delivery_report_is_ignored(app, db, people, receiver, clock):
    case = make_case(db, people.customer, people.customer_user)
    to = reply_address(app, "case", case.id, people.customer_user.id)
    msg = email("cu@acme.test", to, text="Delivery failed.")
    msg.make_mixed()
    msg.replace_header(
        "Content-Type", 'multipart/report; report-type=delivery-status; boundary="b"'
    )
    msg.set_boundary("b")
    code, text = refusal(app, db, people, receiver, msg, case)
    assert (code, text) == (250, "2.0.0 Ignored: an automatic message")


def test_auto_submitted_no_is_a_person(app, db, people, receiver, clock):
    case = make_case(db, people.customer, people.customer_user)
    to = reply_address(app, "case", case.id, people.customer_user.id)
    assert (
        send(receiver, email("cu@acme.test", to, text="Me, typing.", Auto_Submitted="no"))[0] == 250
    )
    assert [c.body for c in comments_of(db, case.id)] == ["Me, typing."]


def test_the_received_mail_table_keeps_no_message_content(app, db, people, receiver, clock):
    case = make_case(db, people.customer, people.customer_user)
    msg = email("cu@acme.test", reply_address(app, "case", case.id, people.customer_user.id))
    send(receiver, msg)
    [row] = db.scalars(select(ReceivedMail))
    assert row.outcome == "case_reply" and len(row.message_key) == 64
    assert db.scalar(select(func.count()).select_from(ReceivedMail)) == 1


def test_the_cli_command_is_there_and_imap_is_chosen_by_its_url(app):
    from portal.config import ConfigurationError, from_environment

    result = app.test_cli_runner().invoke(args=["mail-in", "--help"])
    assert result.exit_code == 0 and "MAIL_IN_IMAP_URL" in result.output
    env = {"PORTAL_ENV": "testing", "SECRET_KEY": "k"}
    imap = from_environment({**env, "MAIL_IN_IMAP_URL": "imaps://u:p@mail.acme.test/INBOX"})
    assert imap["MAIL_IN_IMAP_URL"] == "imaps://u:p@mail.acme.test/INBOX"
    with pytest.raises(ConfigurationError):
        from_environment({**env, "MAIL_IN_IMAP_URL": "pop3://mail.acme.test"})
