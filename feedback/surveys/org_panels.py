"""The organisation page's NPS section: the latest answers of its people (vendor staff only:
answers are the vendor's to read)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from feedback.surveys.models import SurveyRecipient, SurveyResponse
from portal.db import db
from portal.panels import Panel


def latest_answers(principal, *, org_id: int) -> dict | None:
    """One statement: the five latest answers, with who gave them and in which campaign."""
    answers = db.session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.org_id == org_id)
        .options(
            joinedload(SurveyResponse.recipient).joinedload(SurveyRecipient.campaign),
            joinedload(SurveyResponse.recipient).joinedload(SurveyRecipient.user),
        )
        .order_by(SurveyResponse.answered_at.desc(), SurveyResponse.id.desc())
        .limit(5)
    ).all()
    return {"answers": answers} if answers else None


PANELS = (
    Panel(
        "nps",
        "feedback/nps/_org_nps.html",
        latest_answers,
        action="feedback.view",
        audiences=("vendor",),
        order=65,
    ),
)
