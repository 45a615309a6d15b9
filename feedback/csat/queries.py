"""Read side of CSAT: results grouped per agent, team, organisation, managing partner, month and
product, and the rating of one case. Exact arithmetic: integers and ``Decimal``, never floats.

Satisfied means a rating of 4 or 5; the average is given to one decimal, rounded half up. A
survey counts in the month its case was solved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from feedback import links
from feedback.csat.models import SATISFIED, CsatResponse, CsatSurvey
from feedback.surveys.nps import TENTH, percent
from portal.clock import utcnow
from portal.db import db, read_across
from portal.identity.models import Organization, User


@dataclass(frozen=True)
class CsatSummary:
    responses: int
    total: int
    satisfied: int

    @property
    def average(self) -> Decimal | None:
        if self.responses == 0:
            return None
        return (Decimal(self.total) / Decimal(self.responses)).quantize(
            TENTH, rounding=ROUND_HALF_UP
        )

    @property
    def satisfied_percent(self) -> Decimal | None:
        return percent(self.satisfied, self.responses)


def summarise(scores: Iterable[int]) -> CsatSummary:
    scores = list(scores)
    return CsatSummary(len(scores), sum(scores), sum(1 for s in scores if s in SATISFIED))


@dataclass(frozen=True)
class Answer:
    score: int
    comment: str
    case_id: int
    case_number: str
    agent: str
    team: str
    organisation: str
    partner: str
    month: str
    product: str


def answer_rows(product: str | None = None) -> Select:
    """Every CSAT answer the principal may read (vendor staff: all), oldest solve first, as
    (score, comment, survey, agent's name, organisation's name, managing partner's name), with
    the answer itself as ``CsatResponse`` (its time): the results' rows and the CSV export's."""
    partner = aliased(Organization)
    stmt = (
        select(
            CsatResponse.score,
            CsatResponse.comment,
            CsatSurvey,
            User.name.label("agent"),
            Organization.name.label("organisation"),
            partner.name.label("partner"),
            CsatResponse.answered_at,
        )
        .join(CsatSurvey, CsatResponse.survey_id == CsatSurvey.id)
        .join(Organization, CsatSurvey.org_id == Organization.id)
        .outerjoin(partner, Organization.managed_by_id == partner.id)
        .outerjoin(User, CsatSurvey.agent_id == User.id)
        .order_by(CsatSurvey.solved_at, CsatResponse.id)
    )
    if product is not None:
        stmt = stmt.where(CsatSurvey.product == product)
    return stmt


def answers(product: str | None = None) -> list[Answer]:
    """Every CSAT answer the principal may read (vendor staff: all), oldest solve first."""
    stmt = answer_rows(product)
    return [
        Answer(
            score=score,
            comment=comment,
            case_id=survey.case_id,
            case_number=survey.case_number,
            agent=agent or "",
            team=survey.team_name,
            organisation=org,
            partner=managing or "",
            month=survey.solved_at.strftime("%Y-%m"),
            product=survey.product,
        )
        for score, comment, survey, agent, org, managing, _answered in db.session.execute(stmt)
    ]


def grouped(rows: list[Answer], key: Callable[[Answer], str]) -> list[tuple[str, CsatSummary]]:
    """``(group, summary)`` per non-empty key, sorted by key."""
    groups: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        name = key(row)
        if name:
            groups[name].append(row.score)
    return [(name, summarise(scores)) for name, scores in sorted(groups.items())]


BREAKDOWNS = ("agent", "team", "organisation", "partner", "month")


def results() -> dict:
    """The whole summary and one breakdown per dimension of ``BREAKDOWNS``."""
    rows = answers()
    return {
        "overall": summarise(r.score for r in rows),
        "breakdowns": {name: grouped(rows, lambda r, n=name: getattr(r, n)) for name in BREAKDOWNS},
        "comments": [r for r in reversed(rows) if r.comment][:20],
    }


def rating_of_case(case_id: int) -> list[tuple[int, str]]:
    """The ratings given to one case (one per solve that was answered), for vendor staff; the
    tenant wall gives nobody else any row."""
    rows = db.session.execute(
        select(CsatResponse.score, CsatResponse.comment)
        .join(CsatSurvey, CsatResponse.survey_id == CsatSurvey.id)
        .where(CsatSurvey.case_id == case_id)
        .order_by(CsatResponse.id)
    )
    return [(score, comment) for score, comment in rows]


@dataclass(frozen=True)
class RatingToGive:
    survey_id: int
    case_id: int
    case_number: str
    subject: str
    link_nonce: str  # for the answer page's link, as the emailed one


def ratings_to_give(
    user_id: int, org_id: int, since: datetime, limit: int = 5
) -> tuple[int, list[RatingToGive]]:
    """The surveys this person was asked and has not answered, sent after ``since`` (older
    links no longer work): how many, and the latest few, as plain values."""
    unanswered = (
        CsatSurvey.requester_id == user_id,
        CsatSurvey.org_id == org_id,
        CsatSurvey.sent_at >= since,
        ~select(CsatResponse.id).where(CsatResponse.survey_id == CsatSurvey.id).exists(),
    )
    # reason: surveys are vendor-only behind the wall; a requester reads its own open ones
    # (ids, case number, subject and link nonce) to answer them, as its emailed link lets it.
    with read_across() as reader:
        count = reader.scalar(select(func.count()).select_from(CsatSurvey).where(*unanswered))
        rows = (
            reader.execute(
                select(
                    CsatSurvey.id,
                    CsatSurvey.case_id,
                    CsatSurvey.case_number,
                    CsatSurvey.subject,
                    CsatSurvey.link_nonce,
                )
                .where(*unanswered)
                .order_by(CsatSurvey.sent_at.desc(), CsatSurvey.id.desc())
                .limit(limit)
            ).all()
            if count
            else []
        )
    return count or 0, [RatingToGive(*row) for row in rows]


@dataclass(frozen=True)
class AskedRating:
    """What a solved case asks its requester: the rating to give (``open``), or the score given
    (the comment stays the vendor's to read)."""

    survey_id: int
    score: int | None
    open: bool


def rating_asked(case_id: int, user_id: int | None) -> AskedRating | None:
    """The latest survey of the case that asks ``user_id`` (its requester), with the answer if
    given; None when the case asks them nothing. Surveys and answers are the vendor's rows: the
    requester's own are found past the wall by the requester's id, as plain values."""
    if not user_id:
        return None
    since = utcnow() - timedelta(seconds=links.lifetime_seconds())  # as the emailed link's
    with read_across() as reader:
        row = reader.execute(
            select(CsatSurvey.id, CsatSurvey.sent_at > since, CsatResponse.score)
            .outerjoin(CsatResponse, CsatResponse.survey_id == CsatSurvey.id)
            .where(CsatSurvey.case_id == case_id, CsatSurvey.requester_id == user_id)
            .order_by(CsatSurvey.id.desc())
            .limit(1)
        ).one_or_none()
    if row is None:
        return None
    survey_id, live, score = row
    return AskedRating(survey_id, score, score is None and bool(live))
