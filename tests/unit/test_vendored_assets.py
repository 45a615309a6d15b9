"""Front-end libraries are served from the portal's own static files, pinned, with their
licence beside them: the portal works with no internet."""

from __future__ import annotations

import hashlib
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "portal" / "static" / "vendor"


def test_every_vendored_library_has_its_licence_and_a_pinned_version():
    libraries = [p for p in VENDOR.iterdir() if p.is_dir()]
    assert libraries
    for library in libraries:
        assert (library / "LICENSE.md").exists() or (library / "LICENSE").exists(), library
        assert (library / "VERSION").exists(), library


def test_chartjs_is_the_pinned_file():
    note = (VENDOR / "chartjs" / "VERSION").read_text()
    digest = hashlib.sha256((VENDOR / "chartjs" / "chart.umd.min.js").read_bytes()).hexdigest()
    assert f"sha256 {digest}" in note
    assert "Chart.js v4.6.1" in (VENDOR / "chartjs" / "chart.umd.min.js").read_text()[:200]
