"""The one place that reads the wall clock, so tests can freeze it (time-machine) and all
stored times are aware UTC datetimes."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
