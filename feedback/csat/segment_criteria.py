"""What CSAT adds to segments: the organisation's average satisfaction rating over all its
answers, at least or below a value (``portal.segments``).

The average is compared as the CSAT page shows it, to one decimal rounded half up: "at least
4.0" keeps an average of 3.96 (shown 4.0), "below 4.0" does not. In integers, so both databases
agree: a shown average of at least ``v`` tenths is ``20 * sum >= (2v - 1) * count``.
Organisations without answers are in neither.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from feedback.csat.models import CsatResponse
from portal import segments
from portal.identity.models import Organization


def _tenths(value: Decimal) -> int:
    return int(value * 10)


def _shown_at_least(value: Decimal):
    tenths = _tenths(value)
    return Organization.id.in_(
        select(CsatResponse.org_id)
        .group_by(CsatResponse.org_id)
        .having(20 * func.sum(CsatResponse.score) >= (2 * tenths - 1) * func.count())
    )


def _shown_below(value: Decimal):
    tenths = _tenths(value)
    return Organization.id.in_(
        select(CsatResponse.org_id)
        .group_by(CsatResponse.org_id)
        .having(20 * func.sum(CsatResponse.score) < (2 * tenths - 1) * func.count())
    )


_BOUNDS = {"input": "decimal", "choices": None, "minimum": Decimal(1), "maximum": Decimal(5)}

CRITERIA = (
    segments.Criterion(
        key="csat_at_least",
        label=_l("CSAT average at least"),
        condition=_shown_at_least,
        order=90,
        description=_l("1 to 5, over all the organisation's ratings, as the CSAT page shows it."),
        **_BOUNDS,
    ),
    segments.Criterion(
        key="csat_below",
        label=_l("CSAT average below"),
        condition=_shown_below,
        order=91,
        **_BOUNDS,
    ),
)


def register() -> None:
    segments.add_criterion(*CRITERIA)
