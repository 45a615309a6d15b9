"""Outgoing mail, read from the real loopback SMTP server (``mailbox``): a proper From, a
Message-ID per message on the portal's domain, every email about one record threaded on that
record's stable id, and for a customer a Reply-To carrying a token signed for them and the
record; then the round trip: the customer answers the notification with their mail program's
Reply, through the mail-in receiver, and the answer is on the case page."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from email.utils import parseaddr

import pytest
from sqlalchemy import select

from portal.db import unscoped
from portal.mailin import smtp, tokens
from portal.notify import services as notify
from selfservice.cases.models import CaseComment, CaseWatcher
from tests.conftest import free_port
from tests.factories import make_case, make_idea

MESSAGE_ID = re.compile(r"^<portal-\d+\.\d+@portal\.test>$")


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    class People:
        customer = org_factory("customer", name="Acme Customer")
        agent = user_factory(vendor, "support_agent", email="agent@vendor.test")

    People.customer_user = user_factory(People.customer, "customer_user", email="cu@acme.test")
    return People


@pytest.fixture
def receiver(app, db):
    controller = smtp.controller(app, host="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port
    controller.stop()


def token_of(app, mail) -> tokens.ReplyToken:
    with app.app_context():
        return tokens.read_token(tokens.token_in(parseaddr(mail["Reply-To"])[1]))


def test_settings_give_a_proper_sender_and_reply_address(app):
    from portal.config import ConfigurationError, from_environment

    assert app.config["MAIL_FROM"] == "Partner Portal <portal@portal.test>"  # BASE_URL's host
    assert app.config["MAIL_REPLY_ADDRESS"] == "support@portal.test"
    production = {"PORTAL_ENV": "production", "SECRET_KEY": "k" * 40}
    assert from_environment(production)["MAIL_FROM"] == "Partner Portal <portal@localhost>"
    acme = from_environment(
        {**production, "MAIL_FROM": '"Acme Partner Portal" <portal@acme.example>'}
    )
    assert (acme["MAIL_DOMAIN"], acme["MAIL_REPLY_ADDRESS"]) == (
        "acme.example",
        "support@acme.example",
    )
    for bad in ({"MAIL_FROM": "nobody"}, {"MAIL_REPLY_ADDRESS": "support+x@acme.example"}):
        with pytest.raises(ConfigurationError):
            from_environment({**production, **bad})


def test_case_mail_is_threaded_and_answerable_by_its_customer(app, db, people, client_as, mailbox):
    case = make_case(db, people.customer, people.customer_user, subject="Printer stalls")
    agent = client_as(people.agent)
    mailbox.clear()
    for text in ("Try restarting the spooler.", "Did that help?"):
        assert agent.post(f"/cases/{case.id}/reply", data={"body": text}).status_code == 302

    first, second = mailbox.to("cu@acme.test")
    for mail in (first, second):
        assert mail["From"] == "Partner Portal <portal@portal.test>"
        assert MESSAGE_ID.match(mail["Message-ID"])
        assert mail["In-Reply-To"] == mail["References"] == f"<case-{case.id}@portal.test>"
        assert mail["Auto-Submitted"] == "auto-generated"
        assert re.fullmatch(
            rf"support\+c{case.id}-{people.customer_user.id}-\d+-[a-z2-7]{{26}}@portal\.test",
            mail["Reply-To"],
        )
        token = token_of(app, mail)
        assert (token.kind, token.record_id, token.user_id) == (
            "case",
            case.id,
            people.customer_user.id,
        )
    assert first["Message-ID"] != second["Message-ID"]


def test_agents_get_the_thread_but_no_reply_address(app, db, people, client_as, mailbox):
    case = make_case(db, people.customer, people.customer_user)
    mailbox.clear()
    customer = client_as(people.customer_user)
    assert (
        customer.post(f"/cases/{case.id}/reply", data={"body": "Still broken"}).status_code == 302
    )
    [mail] = mailbox.to("agent@vendor.test")
    assert mail["References"] == f"<case-{case.id}@portal.test>"
    assert (
        mail["Reply-To"] is None
    )  # an agent's email answer to an internal note must not go public


def test_a_reseller_following_its_customers_case_gets_no_reply_address(
    app, db, people, org_factory, user_factory, client_as, mailbox
):
    reseller = org_factory("reseller")
    people.customer.managed_by_id = reseller.id
    follower = user_factory(reseller, "partner_user", email="pu@reseller.test")
    case = make_case(db, people.customer, people.customer_user)
    db.add(CaseWatcher(org_id=case.org_id, case_id=case.id, user_id=follower.id))
    db.flush()
    mailbox.clear()
    agent = client_as(people.agent)
    assert agent.post(f"/cases/{case.id}/reply", data={"body": "Fixed."}).status_code == 302
    [mail] = mailbox.to("pu@reseller.test")
    assert mail["References"] == f"<case-{case.id}@portal.test>" and mail["Reply-To"] is None
    [mail] = mailbox.to("cu@acme.test")
    assert mail["Reply-To"].startswith(f"support+c{case.id}-")


def test_idea_mail_is_threaded_on_the_idea(app, db, people, mailbox):
    idea = make_idea(db, people.customer_user, title="Dark mode")
    mailbox.clear()
    with app.test_request_context(), unscoped():
        notify.notify(
            [people.customer_user],
            "ideas.status",
            "Dark mode is planned",
            link=notify.link("ideas.detail", idea_id=idea.id),
        )
        from portal.db import db as portal_db

        portal_db.session.commit()
    [mail] = mailbox.to("cu@acme.test")
    assert mail["References"] == f"<idea-{idea.id}@portal.test>"
    assert token_of(app, mail).thread == f"idea-{idea.id}"


def test_mail_about_no_record_has_no_thread_and_no_reply_address(app, db, people, mailbox):
    mailbox.clear()
    with app.test_request_context(), unscoped():
        notify.notify(
            [people.customer_user],
            "admin.organization_changed",
            "Settings changed",
            link=notify.link("dashboard.home"),
        )
        from portal.db import db as portal_db

        portal_db.session.commit()
    [mail] = mailbox.to("cu@acme.test")
    assert MESSAGE_ID.match(mail["Message-ID"])
    assert mail["In-Reply-To"] is None and mail["References"] is None and mail["Reply-To"] is None


def test_round_trip_the_customer_answers_the_email_and_it_is_on_the_case_page(
    app, db, people, client_as, mailbox, receiver
):
    case = make_case(db, people.customer, people.customer_user, subject="Printer stalls")
    mailbox.clear()
    agent = client_as(people.agent)
    assert (
        agent.post(
            f"/cases/{case.id}/reply", data={"body": "Try restarting the spooler."}
        ).status_code
        == 302
    )
    [notification] = mailbox.to("cu@acme.test")

    # What a mail program's Reply writes: to the Reply-To, in the thread, quoting the mail.
    answer = EmailMessage()
    answer["From"] = "Anna Customer <cu@acme.test>"
    answer["To"] = notification["Reply-To"]
    answer["Subject"] = "Re: " + notification["Subject"]
    answer["Message-ID"] = "<answer-1@acme.test>"
    answer["In-Reply-To"] = notification["Message-ID"]
    answer["References"] = f"{notification['References']} {notification['Message-ID']}"
    quoted = "\n".join("> " + line for line in notification.get_content().splitlines())
    answer.set_content(
        "That worked, thank you ROUND-TRIP-OK.\n\n"
        f"On Mon, 1 Mar 2027, Partner Portal <portal@portal.test> wrote:\n{quoted}\n"
    )
    mailbox.clear()
    with smtplib.SMTP("127.0.0.1", receiver, timeout=30) as client:
        client.send_message(answer)

    page = client_as(people.customer_user).get(f"/cases/{case.id}").get_data(as_text=True)
    assert "ROUND-TRIP-OK" in page
    assert "You can also answer by replying to the email" in page
    db.expire_all()
    comments = db.scalars(
        select(CaseComment).where(CaseComment.case_id == case.id).order_by(CaseComment.id)
    ).all()
    assert [c.body for c in comments] == [
        "Try restarting the spooler.",
        "That worked, thank you ROUND-TRIP-OK.",
    ]
    assert comments[1].author_id == people.customer_user.id
    # The agent hears of the answer, in the same thread.
    [told] = mailbox.to("agent@vendor.test")
    assert told["References"] == notification["References"]
