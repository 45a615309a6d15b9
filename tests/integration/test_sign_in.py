"""Sign-in, sign-out and the server-side session behind the cookie."""

import pytest
import time_machine
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.db import db as portal_db
from portal.identity import passwords
from portal.identity.models import UserSession
from tests.factories import PASSWORD


def test_sign_in_lands_on_home_page_of_the_audience(client, org_factory, user_factory):
    user = user_factory(org_factory("reseller"))
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"
    page = client.get("/home").get_data(as_text=True)
    assert "Partner home" in page
    assert user.name in page


def test_wrong_password_and_unknown_email_get_the_same_clear_message(
    client, org_factory, user_factory
):
    user = user_factory(org_factory())
    wrong = client.post("/login", data={"email": user.email, "password": "not-it-at-all"})
    unknown = client.post("/login", data={"email": "nobody@nowhere.test", "password": "x" * 12})
    assert wrong.status_code == unknown.status_code == 422
    for response in (wrong, unknown):
        assert "Email or password is not correct." in response.get_data(as_text=True)


def test_empty_form_says_what_is_missing(client):
    response = client.post("/login", data={})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


def test_sign_out_ends_the_session_even_for_a_replayed_cookie(
    client_as, org_factory, user_factory, db
):
    user = user_factory(org_factory())
    client = client_as(user)
    cookie = client.get_cookie("portal")
    assert client.post("/logout").status_code == 302
    assert client.get("/home").status_code == 302  # back to the sign-in page
    client.set_cookie("portal", cookie.value)  # an attacker replays the old cookie
    response = client.get("/home")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert db.query(UserSession).filter_by(user_id=user.id).one().revoked_at is not None


def test_deactivated_user_cannot_sign_in(client, org_factory, user_factory):
    user = user_factory(org_factory(), active=False)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 422


def test_session_expires_after_its_lifetime(app, client_as, org_factory, user_factory):
    user = user_factory(org_factory())
    with time_machine.travel("2026-03-02 09:00 +0000", tick=False) as traveller:
        client = client_as(user)
        assert client.get("/home").status_code == 200
        traveller.shift(app.config["PERMANENT_SESSION_LIFETIME"])
        assert client.get("/home").status_code == 302


def test_open_redirect_after_sign_in_is_refused(client, org_factory, user_factory):
    user = user_factory(org_factory())
    for target in ("https://evil.test/", "//evil.test/", "/\\evil.test"):
        response = client.post(
            f"/login?next={target}", data={"email": user.email, "password": PASSWORD}
        )
        assert response.headers["Location"] == "/home"
        client.post("/logout")


def test_next_page_after_sign_in(client, org_factory, user_factory):
    user = user_factory(org_factory())
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.post("/login?next=/account", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/account"


@pytest.fixture
def sign_in_steps(app, db, monkeypatch):
    """What a sign-in does, in order: ("check", whether a transaction was open) when the password
    is checked, ("write", table) for each INSERT, UPDATE or DELETE, ("commit",) for each commit of
    the app's session."""
    steps = []
    verify = passwords.verify_password

    def checked(password_hash, password):
        steps.append(("check", portal_db.session.in_transaction()))
        return verify(password_hash, password)

    def wrote(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        if words[0] in {"INSERT", "UPDATE", "DELETE"}:
            steps.append(("write", words[2] if words[0] != "UPDATE" else words[1]))

    def committed(session):
        if session is not db and not session.in_nested_transaction():
            steps.append(("commit",))

    monkeypatch.setattr(passwords, "verify_password", checked)
    engine = app.extensions["db"].engine
    event.listen(engine, "before_cursor_execute", wrote)
    event.listen(Session, "after_commit", committed)
    yield steps
    event.remove(Session, "after_commit", committed)
    event.remove(engine, "before_cursor_execute", wrote)


def test_a_sign_in_checks_the_password_outside_any_transaction_and_writes_once(
    client, org_factory, user_factory, sign_in_steps
):
    """On SQLite a POST's transaction holds the database's one write lock, and a password check
    takes tens of milliseconds on purpose: held through it, every sign-in (a wrong one too) made
    every other writer wait. The reading is committed before the check; one short transaction
    after it writes the session and the time of sign-in."""
    user = user_factory(org_factory())
    sign_in_steps.clear()  # the arranging above
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    check = sign_in_steps.index(("check", False))
    assert ("write", "users") not in sign_in_steps[:check]
    assert sorted(sign_in_steps[check + 1 : -1]) == [("write", "user_sessions"), ("write", "users")]
    assert sign_in_steps[-1] == ("commit",)


def test_a_failed_sign_in_writes_nothing(client, org_factory, user_factory, sign_in_steps):
    user = user_factory(org_factory())
    sign_in_steps.clear()  # the arranging above
    for email in (user.email, "nobody@nowhere.test"):
        response = client.post("/login", data={"email": email, "password": "not-it-at-all"})
        assert response.status_code == 422
    assert [s for s in sign_in_steps if s[0] != "commit"] == [("check", False)] * 2


def test_a_sign_in_does_not_fail_when_the_account_changed_meanwhile(
    app, client, org_factory, user_factory
):
    """Two sign-ins of one account at once, or one during an admin's edit, used to answer 500
    (a stale versioned row, seen under load on PostgreSQL): the sign-in time is written past
    the account's version, which someone else's write has just moved."""
    from tests.integration.race_support import written_first

    user = user_factory(org_factory("reseller"), "partner_user")
    moved = f"UPDATE users SET version = version + 1 WHERE id = {user.id}"
    with written_first(app, "UPDATE users", moved) as preceded:
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert preceded, "the sign-in wrote no UPDATE users"
    assert response.status_code == 302
    assert client.get("/home").status_code == 200
