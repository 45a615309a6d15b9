"""The security baseline: headers, CSRF, sign-in throttling, start-up refusal without a key."""

import os
import subprocess
import sys

import pytest

from portal.app import create_app
from portal.config import DEV_SECRET_KEY, PROJECT_ROOT, ConfigurationError, from_environment
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


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("DATABASE_URL", "postgres://u@h/db"),
        ("DATABASE_URL", "sqlite:////srv/portal/other.sqlite3"),
        ("BASE_URL", "https://partners.example.com"),
        ("REDIS_URL", "redis://127.0.0.1:6379/0"),
        ("SMTP_URL", "smtp://mail.example.com:587"),
    ],
)
def test_settings_past_the_embedded_default_refuse_the_development_key(setting, value):
    """Fail closed: a real database, a public address, Redis or a mail server say this is no
    demo, so signing with the key in the source (anyone could forge a survey answer or a
    session) is refused, in one line that says what to set."""
    for mode in ({}, {"PORTAL_ENV": "testing"}):
        with pytest.raises(ConfigurationError, match=f"SECRET_KEY is not set and {setting}"):
            from_environment({setting: value, **mode})
    assert from_environment({setting: value, "SECRET_KEY": "k" * 40})["SECRET_KEY"] == "k" * 40
    # Saying it is development is a choice someone made, and keeps the development key.
    assert from_environment({setting: value, "PORTAL_ENV": "development"})["SECRET_KEY"]


def test_the_embedded_defaults_keep_the_development_key():
    for env in ({}, {"BASE_URL": "http://127.0.0.1:5123"}, {"BASE_URL": "http://localhost"}):
        assert from_environment(env)["SECRET_KEY"] == DEV_SECRET_KEY


def test_the_wsgi_entry_point_says_what_to_set_in_one_line(tmp_dir):
    env = {**os.environ, "DATABASE_URL": "postgres://u@h/db", "PYTHONPATH": str(PROJECT_ROOT)}
    for name in ("SECRET_KEY", "PORTAL_ENV"):
        env.pop(name, None)
    done = subprocess.run(  # noqa: S603 - our own interpreter and entry point
        [sys.executable, "-c", "import wsgi"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "portal: SECRET_KEY is not set and DATABASE_URL is set: set SECRET_KEY to a long random "
        "value (python -c 'import secrets; print(secrets.token_urlsafe(48))'), or "
        "PORTAL_ENV=development for a development setup."
    ]


def test_database_url_spellings_are_normalised():
    config = from_environment({"DATABASE_URL": "postgres://u@h/db", "SECRET_KEY": "k"})
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
