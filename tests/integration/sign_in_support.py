"""The portal in a process of its own, for the sign-in limit tests: two such processes share limits
only through Redis (each has its own memory), as two app servers do in production.

``portal_process(config)`` starts one on a free port of 127.0.0.1 and yields its base URL; the
process runs ``python -m tests.integration.sign_in_support PORT CONFIG_JSON``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.conftest import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60.0


@contextmanager
def portal_process(config: dict, log_path: Path) -> Iterator[str]:
    """The app built with ``config`` (added to test settings), served by Werkzeug until the block
    ends; its output goes to ``log_path``."""
    port = free_port()
    settings = {
        "PORTAL_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SMTP_URL": None,
        "SERVER_NAME": None,
        **config,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.sign_in_support",
                str(port),
                json.dumps(settings),
            ],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_up(process, base_url, log_path)
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_until_up(process: subprocess.Popen, base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the portal process ended: {log_path.read_text()[-2000:]}")
        try:
            if requests.get(base_url + "/login", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the portal process did not answer: {log_path.read_text()[-2000:]}")


def main(port: str, settings: str) -> None:
    import email_validator
    from werkzeug.serving import make_server

    from portal.app import create_app

    email_validator.TEST_ENVIRONMENT = True  # test addresses use the reserved .test domain
    app = create_app(json.loads(settings))
    make_server("127.0.0.1", int(port), app, threaded=True).serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:])
