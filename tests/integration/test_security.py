"""The security baseline: headers, CSRF, sign-in throttling, start-up refusal without a key."""

import pytest

from portal.app import create_app
from portal.config import ConfigurationError, from_environment
from tests.factories import PASSWORD


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # not in development


def test_production_sends_hsts_and_secure_cookies(tmp_dir):
    app = create_app(
        {
            "PORTAL_ENV": "production",
            "SECRET_KEY": "k" * 40,
            "HSTS": True,
            "SESSION_COOKIE_SECURE": True,
            "DATABASE_URL": f"sqlite:///{tmp_dir / 'prod.sqlite3'}",
        }
    )
    response = app.test_client().get("/login", base_url="https://portal.test")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    assert "Secure" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]


def test_pages_with_tenant_data_are_not_cached(client_as, org_factory, user_factory):
    client = client_as(user_factory(org_factory()))
    assert client.get("/home").headers["Cache-Control"] == "no-store"


def test_missing_secret_key_outside_development_is_a_clear_startup_error():
    with pytest.raises(ConfigurationError, match="SECRET_KEY is not set"):
        from_environment({"PORTAL_ENV": "production"})
    assert from_environment({})["SECRET_KEY"]  # development has a default


def test_database_url_spellings_are_normalised():
    config = from_environment({"DATABASE_URL": "postgres://u@h/db"})
    assert config["DATABASE_URL"] == "postgresql+psycopg://u@h/db"


def test_csrf_is_enforced_and_expiry_gets_a_clear_page(app, db, org_factory, user_factory):
    user = user_factory(org_factory())
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 400
        assert "This form has expired" in response.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_sign_in_is_throttled_per_account(client, org_factory, user_factory):
    user = user_factory(org_factory())
    for _ in range(5):
        assert (
            client.post(
                "/login", data={"email": user.email, "password": "wrong-password"}
            ).status_code
            == 422
        )
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    # Another account from the same address is still allowed (the address limit is higher).
    other = user_factory(org_factory())
    assert (
        client.post("/login", data={"email": other.email, "password": PASSWORD}).status_code == 302
    )


def test_sign_in_is_throttled_per_address(app, client, org_factory, user_factory):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "3 per 15 minutes"
    try:
        for n in range(3):
            client.post("/login", data={"email": f"x{n}@nowhere.test", "password": "wrong-one!"})
        user = user_factory(org_factory())
        assert (
            client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code
            == 429
        )
    finally:
        app.config["LOGIN_LIMIT_PER_ADDRESS"] = from_environment({})["LOGIN_LIMIT_PER_ADDRESS"]


def test_successful_sign_ins_do_not_count_towards_the_limit(client, org_factory, user_factory):
    user = user_factory(org_factory())
    for _ in range(8):
        assert (
            client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code
            == 302
        )
        client.post("/logout")


def test_logout_is_post_only(client_as, org_factory, user_factory):
    client = client_as(user_factory(org_factory()))
    assert client.get("/logout").status_code == 405
    assert client.get("/home").status_code == 200


def test_error_pages_are_in_the_portal_style(client_as, org_factory, user_factory):
    client = client_as(user_factory(org_factory(), "partner_user"))
    missing = client.get("/admin/users/999999")
    assert missing.status_code == 403  # partner users may not view users at all
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "Not found" in page.get_data(as_text=True)
    assert "Sign out" in page.get_data(as_text=True)  # the normal shell, with navigation
