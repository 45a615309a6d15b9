"""How recorded values read in a history."""

from __future__ import annotations

from portal.audit import shown


def test_values_read_as_words(app):
    with app.test_request_context():
        assert shown(None) == "—" and shown("") == "—" and shown([]) == "—"
        assert shown(True) == "yes" and shown(False) == "no"
        assert shown(["switches", "firewalls"]) == "switches, firewalls"
        assert shown({"partner": "Alpine", "skipped": None}) == "partner: Alpine"
        moment = shown("2026-11-23T18:39:31.202044+00:00")
        assert "T18" not in moment and "39" in moment  # formatted for a person, not ISO
        assert shown("2026-13-99T99:99 not a time") == "2026-13-99T99:99 not a time"
        assert shown(42) == "42"
