"""The page of one's sessions: device, address, signed in at, last seen (written at most once a
minute, after the answer); signing out one or all the others takes effect at that session's next
request; a password change ends the other sessions; another person's session is a 404."""

import time_machine
from sqlalchemy import select

from portal.identity.models import UserSession
from tests.factories import PASSWORD
from tests.unchanged import fresh, unchanged

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


def sign_in(app, user, agent: str, address: str = "127.0.0.1"):
    browser = app.test_client()
    response = browser.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        headers={"User-Agent": agent},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 302
    return browser


def rows(db, user):
    return fresh(db).scalars(select(UserSession).where(UserSession.user_id == user.id)).all()


def test_the_list_and_signing_out_the_others(app, org_factory, user_factory, db):
    user = user_factory(org_factory())
    here = sign_in(app, user, FIREFOX, "203.0.113.7")
    there = sign_in(app, user, SAFARI, "198.51.100.9")
    page = here.get("/account/security/sessions", headers={"User-Agent": FIREFOX})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Firefox on Windows" in text and "Mobile Safari on iOS" in text
    assert "203.0.113.7" in text and "198.51.100.9" in text
    assert text.count("This session") == 1
    assert there.get("/home").status_code == 200
    assert here.post("/account/security/sessions/end-others").status_code == 302
    response = there.get("/home")  # the other client's very next request
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert here.get("/home").status_code == 200
    assert sum(r.revoked_at is None for r in rows(db, user)) == 1


def test_signing_out_one_session(app, org_factory, user_factory, db):
    user = user_factory(org_factory())
    here = sign_in(app, user, FIREFOX)
    there = sign_in(app, user, SAFARI)
    other = next(r for r in rows(db, user) if r.user_agent == SAFARI)
    assert here.post(f"/account/security/sessions/{other.id}/end").status_code == 302
    assert there.get("/home").status_code == 302
    assert here.get("/home").status_code == 200


def test_another_persons_session_is_a_404(app, org_factory, user_factory, db):
    org = org_factory()
    user, colleague = user_factory(org), user_factory(org)
    mine = sign_in(app, user, FIREFOX)
    theirs = sign_in(app, colleague, SAFARI)
    target = rows(db, colleague)[0]
    with unchanged(db, target):
        assert mine.post(f"/account/security/sessions/{target.id}/end").status_code == 404
    assert theirs.get("/home").status_code == 200
    foreign = sign_in(app, user_factory(org_factory("customer")), FIREFOX)
    with unchanged(db, target):
        assert foreign.post(f"/account/security/sessions/{target.id}/end").status_code == 404
    assert "Mobile Safari" not in mine.get("/account/security/sessions").get_data(as_text=True)


def test_a_password_change_ends_the_other_sessions(app, org_factory, user_factory, db):
    user = user_factory(org_factory())
    here = sign_in(app, user, FIREFOX)
    there = sign_in(app, user, SAFARI)
    response = here.post(
        "/account/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-password": "a-new-long-password",
            "pw-confirm": "a-new-long-password",
        },
    )
    assert response.status_code == 302
    assert there.get("/home").status_code == 302
    assert here.get("/home").status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(app, org_factory, user_factory, db):
    user = user_factory(org_factory())
    with time_machine.travel("2026-03-02 09:00 +0000", tick=False) as clock:
        browser = sign_in(app, user, FIREFOX)
        clock.shift(90)
        browser.get("/home")
        first = rows(db, user)[0].last_seen_at
        assert first is not None and first.minute == 1 and first.second == 30
        clock.shift(30)
        browser.get("/home")
        assert rows(db, user)[0].last_seen_at == first  # within the minute: no write
        clock.shift(40)
        browser.get("/home")
        assert rows(db, user)[0].last_seen_at.second == 40
