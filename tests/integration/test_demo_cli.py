"""``flask demo --port N``: the demo serves on port N and the links it emails point there too."""

from __future__ import annotations

import re

import pytest

from portal import cli
from portal import seed as demo_seed
from portal.config import DEFAULT_BASE_URL, base_url_on_port


@pytest.mark.parametrize(
    ("base_url", "port", "expected"),
    [
        (DEFAULT_BASE_URL, 8123, "http://127.0.0.1:8123"),
        ("http://localhost:5000/", 5001, "http://localhost:5001"),
        ("http://127.0.0.1", 8080, "http://127.0.0.1:8080"),
        ("http://[::1]:5000", 9000, "http://[::1]:9000"),
        ("http://127.0.0.1:5000/portal", 8000, "http://127.0.0.1:8000/portal"),
        # A host in front of the demo (a proxy, a tunnel) decides the links itself.
        ("https://portal.example.com", 8123, "https://portal.example.com"),
        ("http://demo.example.test:5000", 8123, "http://demo.example.test:5000"),
    ],
)
def test_a_loopback_base_url_follows_the_port(base_url, port, expected):
    assert base_url_on_port(base_url, port) == expected


def test_flask_demo_on_another_port_emails_links_to_that_port(
    app, db, mailbox, monkeypatch, org_factory, user_factory
):
    user = user_factory(org_factory("reseller"), "partner_user")
    monkeypatch.setitem(app.config, "BASE_URL", DEFAULT_BASE_URL)  # restored after the test
    # The test database is migrated already (and its transaction, which holds SQLite's write
    # lock, is this test's), and the demo world is not this test's.
    monkeypatch.setattr(cli, "upgrade_database", lambda: None)
    monkeypatch.setattr(demo_seed, "seed_demo_world", lambda: 0)
    served = {}

    def serve(host, port, application, **options):
        """Instead of serving: what a visitor of the running demo gets by email."""
        served.update(host=host, port=port)
        client = application.test_client()
        response = client.post("/password/forgot", data={"email": user.email}, buffered=True)
        assert response.status_code == 302

    monkeypatch.setattr("werkzeug.serving.run_simple", serve)
    result = app.test_cli_runner().invoke(args=["demo", "--port", "5123"])

    assert result.exit_code == 0, result.output
    assert served == {"host": "127.0.0.1", "port": 5123}
    assert "The portal is at http://127.0.0.1:5123/" in result.output
    [mail] = mailbox.to(user.email)
    links = re.findall(r"https?://[^\s/]+/password/reset/\S+", mail.get_content())
    assert links and all(link.startswith("http://127.0.0.1:5123/") for link in links), links
