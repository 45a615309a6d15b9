"""What a web worker loads: libraries that only a rare request or a command needs are imported
where they are used, so a worker that never needs them does not carry them (issue 18: worker
memory). A fresh interpreter builds the app as gunicorn does (``wsgi``) and lists its modules."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Library → what loads it when needed.
LOADED_WHEN_NEEDED = {
    "alembic": "the flask db commands",
    "webauthn": "a passkey ceremony",
    "rapidfuzz": "comparing two deal registrations",
    "tldextract": "comparing two deal registrations",
    "holidays": "a business-hours calendar (SLA deadlines)",
    "segno": "the authenticator enrolment's QR code",
    "imapclient": "flask mail-in",
    "aiosmtpd": "flask mail-in",
}


def test_a_web_worker_loads_no_library_only_a_rare_request_needs(tmp_path):
    script = "import json, sys, wsgi; print(json.dumps(sorted(sys.modules)))"
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'footprint.db'}",
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    modules = {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}
    loaded = {name: why for name, why in LOADED_WHEN_NEEDED.items() if name in modules}
    assert not loaded, f"imported by every web worker, though only needed by: {loaded}"
