"""Sign-in, sign-out and the server-side session behind the cookie."""

import time_machine

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
