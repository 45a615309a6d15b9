"""The organisation page's satisfaction section: the latest CSAT answers (vendor staff only:
answers are the vendor's to read)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from feedback.csat.models import CsatResponse
from portal.db import db
from portal.panels import Panel


def latest_answers(principal, *, org_id: int) -> dict | None:
    """One statement: the five latest answers with their surveys (the case they rate)."""
    answers = db.session.scalars(
        select(CsatResponse)
        .where(CsatResponse.org_id == org_id)
        .options(joinedload(CsatResponse.survey))
        .order_by(CsatResponse.answered_at.desc(), CsatResponse.id.desc())
        .limit(5)
    ).all()
    return {"answers": answers} if answers else None


PANELS = (
    Panel(
        "csat",
        "feedback/csat/_org_csat.html",
        latest_answers,
        action="feedback.view",
        audiences=("vendor",),
        order=60,
    ),
)
