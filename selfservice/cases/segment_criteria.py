"""What cases add to segments: organisations with open cases, or without (``portal.segments``).
A case is open until it is solved or closed (pending and on hold count as open)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists

from portal import segments
from portal.identity.models import Organization
from selfservice.cases.models import RESOLVED_STATUSES, Case

WITH, WITHOUT = "with", "without"


def _open_cases(value: str):
    has_open = exists().where(Case.org_id == Organization.id, Case.status.not_in(RESOLVED_STATUSES))
    return has_open if value == WITH else ~has_open


CRITERIA = (
    segments.Criterion(
        key="open_cases",
        label=_l("Open cases"),
        input="one",
        choices=lambda: [(WITH, _l("With open cases")), (WITHOUT, _l("Without open cases"))],
        condition=_open_cases,
        order=60,
        description=_l("Open: not solved or closed yet (pending and on hold count)."),
    ),
)


def register() -> None:
    segments.add_criterion(*CRITERIA)
