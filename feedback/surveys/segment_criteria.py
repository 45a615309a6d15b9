"""What NPS adds to segments: the category of an organisation's latest NPS answer, whoever of
its people gave it (``portal.segments``). A segment can also be a campaign's audience: a
campaign not sent yet keeps its segment from being deleted."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from feedback.surveys.models import NpsCampaign, SurveyResponse
from feedback.surveys.services import NOT_SENT
from portal import segments
from portal.db import db
from portal.identity.models import Organization

# score ranges of the categories (feedback.surveys.nps)
CATEGORIES = {
    "promoter": (_l("Promoter (9–10)"), 9, 10),
    "passive": (_l("Passive (7–8)"), 7, 8),
    "detractor": (_l("Detractor (0–6)"), 0, 6),
}


def _latest_in(categories: list[str]):
    """The organisation's latest answer (by time, then id) has a score in these categories."""
    later = aliased(SurveyResponse)
    latest = select(SurveyResponse.org_id).where(
        ~exists().where(
            later.org_id == SurveyResponse.org_id,
            or_(
                later.answered_at > SurveyResponse.answered_at,
                and_(
                    later.answered_at == SurveyResponse.answered_at,
                    later.id > SurveyResponse.id,
                ),
            ),
        ),
        or_(
            *(SurveyResponse.score.between(CATEGORIES[c][1], CATEGORIES[c][2]) for c in categories)
        ),
    )
    return Organization.id.in_(latest)


def _campaigns_waiting(segment_id: int) -> list[str]:
    names = select(NpsCampaign.name).where(
        NpsCampaign.audience_segment_id == segment_id, NpsCampaign.status.in_(NOT_SENT)
    )
    return [_("NPS campaign “%(name)s”", name=name) for name in db.session.scalars(names)]


CRITERIA = (
    segments.Criterion(
        key="nps_category",
        label=_l("Last NPS answer"),
        input="many",
        choices=lambda: [(key, label) for key, (label, _low, _high) in CATEGORIES.items()],
        condition=_latest_in,
        order=70,
        description=_l("The category of the organisation's latest NPS answer."),
    ),
)


def register() -> None:
    segments.add_criterion(*CRITERIA)
    segments.add_usage("nps_campaigns", _campaigns_waiting)
