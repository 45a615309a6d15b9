"""Password reset, the whole journey: ask, read the email, follow its link, choose, sign in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event, select

from portal import jobs
from portal.audit import AuditEvent
from portal.identity.models import UserSession
from tests.factories import PASSWORD

NEW_PASSWORD = "a-much-better-secret"
SAME_ANSWER = "If an account has this address, we sent it a link to choose a new password."
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def reset_link(app, mail) -> str:
    """The path of the reset link in an email (the app's BASE_URL stripped)."""
    base = re.escape(app.config["BASE_URL"])
    found = re.search(base + r"(/password/reset/[^\s]+)", mail.get_content())
    assert found, mail.get_content()
    return found.group(1)


def ask_for_reset(client, email: str):
    # Buffered, the test client closes the answer as a server does once it has sent it: the
    # reset job runs then (jobs.after_answer).
    response = client.post("/password/forgot", data={"email": email}, buffered=True)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    return client.get("/login").get_data(as_text=True)


def choose(client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(link, data={"password": password, "confirm": confirm or password})


def sign_in(client, user, password: str):
    return client.post("/login", data={"email": user.email, "password": password})


@pytest.fixture
def user(org_factory, user_factory):
    return user_factory(org_factory("reseller"), "partner_user")


def test_the_whole_journey(app, client, db, mailbox, user):
    page = client.get("/password/forgot")
    assert page.status_code == 200

    assert SAME_ANSWER in ask_for_reset(client, user.email.upper())  # any case of the address
    [mail] = mailbox.to(user.email)
    assert mail["Subject"] == "Reset your password"
    assert f"within {app.config['PASSWORD_RESET_HOURS']} hours" in mail.get_content()
    link = reset_link(app, mail)

    form = client.get(link)
    assert form.status_code == 200
    assert "Choose a new password" in form.get_data(as_text=True)

    response = choose(client, link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "Your password is changed. Sign in with it." in client.get("/login").get_data(
        as_text=True
    )

    assert sign_in(client, user, PASSWORD).status_code == 422  # the old one no longer works
    response = sign_in(client, user, NEW_PASSWORD)
    assert response.status_code == 302
    assert client.get("/home").status_code == 200

    db.refresh(user)
    assert user.password_changed_at is not None
    assert db.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == "user.password_reset", AuditEvent.object_id == user.id
        )
    )


def test_unknown_address_gets_the_same_answer_and_no_mail(client, mailbox):
    assert SAME_ANSWER in ask_for_reset(client, "nobody@nowhere.test")
    assert mailbox == []


def test_deactivated_account_gets_the_same_answer_and_no_mail(
    client, mailbox, org_factory, user_factory
):
    user = user_factory(org_factory(), active=False)
    assert SAME_ANSWER in ask_for_reset(client, user.email)
    assert mailbox == []


def test_an_account_without_a_password_is_told_so_and_no_link_resets_it(
    app, client, db, mailbox, user
):
    """An account that signs in through single sign-on has no password. Its reset link would
    be made of its id alone, so anyone holding SECRET_KEY could sign one: none is sent, and a
    link signed with the real key is refused."""
    from portal.identity import tokens

    user.password_hash = None
    db.flush()
    assert SAME_ANSWER in ask_for_reset(client, user.email)
    (mail,) = mailbox.to(user.email)
    assert "has no password" in mail["Subject"]
    assert "/password/reset/" not in mail.get_content()
    with app.test_request_context():
        forged = "/password/reset/" + tokens.make_reset_token(user)
    assert client.get(forged).status_code == 410
    assert choose(client, forged).status_code == 410
    db.refresh(user)
    assert user.password_hash is None


def test_the_new_password_must_follow_the_rules(app, client, mailbox, user):
    ask_for_reset(client, user.email)
    link = reset_link(app, mailbox.to(user.email)[0])

    too_short = choose(client, link, "short")
    assert too_short.status_code == 422
    assert "Use at least" in too_short.get_data(as_text=True)
    differing = choose(client, link, NEW_PASSWORD, "something-else-entirely")
    assert differing.status_code == 422
    assert "The passwords differ." in differing.get_data(as_text=True)

    # Failed attempts do not use the link up.
    assert choose(client, link).status_code == 302
    assert sign_in(client, user, NEW_PASSWORD).status_code == 302


def test_the_link_works_once(app, client, mailbox, user):
    ask_for_reset(client, user.email)
    link = reset_link(app, mailbox.to(user.email)[0])
    assert choose(client, link).status_code == 302

    for response in (client.get(link), choose(client, link, "yet-another-password")):
        assert response.status_code == 410
        assert "no longer valid" in response.get_data(as_text=True)
    assert sign_in(client, user, "yet-another-password").status_code == 422
    assert sign_in(client, user, NEW_PASSWORD).status_code == 302


def test_a_forged_or_mangled_link_is_not_valid(app, client, mailbox, user):
    ask_for_reset(client, user.email)
    link = reset_link(app, mailbox.to(user.email)[0])
    for bad in (link[:-2] + ("AA" if not link.endswith("AA") else "BB"), "/password/reset/xyz"):
        response = client.get(bad)
        assert response.status_code == 410
        assert "no longer valid" in response.get_data(as_text=True)


def test_the_link_expires(app, client, mailbox, user):
    hours = app.config["PASSWORD_RESET_HOURS"]
    with time_machine.travel(START, tick=False) as traveller:
        ask_for_reset(client, user.email)
        link = reset_link(app, mailbox.to(user.email)[0])
        traveller.shift(timedelta(hours=hours) - timedelta(minutes=1))
        assert client.get(link).status_code == 200
        traveller.shift(timedelta(minutes=2))
        response = client.get(link)
        assert response.status_code == 410
        assert "no longer valid" in response.get_data(as_text=True)
        assert choose(client, link).status_code == 410
    assert sign_in(client, user, NEW_PASSWORD).status_code == 422


def test_a_newer_link_does_not_revive_an_older_one_after_use(app, client, mailbox, user):
    ask_for_reset(client, user.email)
    ask_for_reset(client, user.email)
    first, second = (reset_link(app, m) for m in mailbox.to(user.email))
    assert choose(client, second).status_code == 302
    assert client.get(first).status_code == 410  # the password changed: every older link is dead


def test_a_reset_ends_every_session_of_the_account(app, db, client_as, mailbox, user):
    client = client_as(user)  # the user's browser (or an attacker's) is signed in
    assert client.get("/home").status_code == 200

    other = app.test_client()  # the reset happens in another browser
    ask_for_reset(other, user.email)
    assert choose(other, reset_link(app, mailbox.to(user.email)[0])).status_code == 302

    response = client.get("/home")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    sessions = db.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id)
        .execution_options(populate_existing=True)
    ).all()
    assert sessions and all(s.revoked_at is not None for s in sessions)


class QueuedJobs(list):
    """A job backend that keeps what is dispatched, as RQ's queue does, for running later."""

    def dispatch(self, app, jobs):
        self.extend(jobs)


def asked_for_reset(app, client, address: str) -> tuple[list[str], QueuedJobs]:
    """The SQL statements of one forgot-password request, and the jobs it queued."""
    statements, queued = [], QueuedJobs()
    engine = app.extensions["db"].engine

    def executed(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    inline = app.extensions["jobs"]
    app.extensions["jobs"] = queued
    event.listen(engine, "before_cursor_execute", executed)
    try:
        ask_for_reset(client, address)
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        app.extensions["jobs"] = inline
    return statements, queued


def test_a_known_and_an_unknown_address_cost_the_request_the_same_work(app, client, mailbox, user):
    """Whether an account has the address is found out by the job, not by the request: the
    request's statements and its one job are the same for both, so its time tells nothing."""
    with time_machine.travel(START, tick=False):
        known, known_jobs = asked_for_reset(app, client, user.email)
        unknown, unknown_jobs = asked_for_reset(app, client, "nobody@nowhere.test")
        assert known == unknown
        assert [path for path, _ in known_jobs] == [path for path, _ in unknown_jobs]
        assert len(known_jobs) == 1
        assert mailbox == []  # nothing sent by the request itself

        with app.app_context():
            for path, args in unknown_jobs:
                jobs.run_job(path, args)
            assert mailbox == []
            for path, args in known_jobs:
                jobs.run_job(path, args)
        [mail] = mailbox.to(user.email)
        assert mail["Subject"] == "Reset your password"
        assert client.get(reset_link(app, mail)).status_code == 200


def test_the_reset_email_is_written_only_once_the_answer_is_sent(app, client, mailbox, user):
    """Without a queue (the embedded mode) the reset job runs in this process, but only when the
    server closes the answer it has sent: the answer's time is the same for any address (it
    took 55.9 ms for a known one and 1.9 ms for an unknown one when the job ran before it)."""
    response = client.post("/password/forgot", data={"email": user.email})
    assert response.status_code == 302
    assert mailbox == []  # answered; the job has not run
    response.close()  # what the server does once the answer is sent
    [mail] = mailbox.to(user.email)
    assert mail["Subject"] == "Reset your password"
