"""CSAT after a solved case: the survey is sent when ``selfservice`` publishes ``case.solved``
(``portal.events``), answered through a signed link (``feedback.links``, purpose ``csat``), and a
low rating (1 or 2) tells the lead of the case's support team (or, without one, the vendor
admins). Writers only flush; the caller commits.

A case solved, reopened and solved again is asked again only if no earlier survey of that case
is still open (unanswered and its link not yet expired): one live link per case at a time, so a
customer is never asked twice about the same stretch of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from feedback import links
from feedback.csat.models import CsatResponse, CsatSurvey
from portal import access, events
from portal.clock import utcnow
from portal.db import db, unscoped
from portal.errors import InvalidInput
from portal.identity.models import Organization, User
from portal.notify import register_kind
from portal.notify import services as notify

PURPOSE = "csat"
LOW_SCORES = (1, 2)
register_kind("feedback.csat_low", _l("Low satisfaction ratings of cases"))


def survey_path(survey: CsatSurvey) -> str:
    """The link's path; built without a request (the tick auto-solves cases too)."""
    token = links.make_token(PURPOSE, survey.id, survey.requester_id)
    return current_app.url_map.bind("localhost").build("csat.answer", {"token": token})


def _open_survey_of(case_id: int) -> CsatSurvey | None:
    """An earlier survey of the case that is unanswered and whose link still works."""
    since = utcnow() - timedelta(seconds=links.lifetime_seconds())
    answered = select(CsatResponse.survey_id)
    return db.session.scalars(
        select(CsatSurvey).where(
            CsatSurvey.case_id == case_id,
            CsatSurvey.sent_at > since,
            CsatSurvey.id.not_in(answered),
        )
    ).first()


@events.subscribe("case.solved")
def send_survey(
    *,
    case_id: int,
    org_id: int,
    number: str,
    subject: str,
    requester_id: int | None,
    agent_id: int | None,
    team_name: str,
    product: str,
    solved_at: datetime,
    merged: bool,
    **_ignored,
) -> CsatSurvey | None:
    """Write a survey for the solved case and email its requester a signed link. Nothing for a
    merged duplicate, a case without a customer requester (vendor staff, deactivated), or a case
    whose earlier survey is still open."""
    if merged or requester_id is None:
        return None
    with unscoped():  # the event comes from any principal; the survey is the vendor's (reviewed)
        requester = db.session.get(User, requester_id)
        if requester is None or not requester.active or requester.org_kind == access.VENDOR:
            return None
        if _open_survey_of(case_id) is not None:
            return None
        survey = CsatSurvey(
            org_id=org_id,
            case_id=case_id,
            case_number=number,
            subject=subject[:200],
            requester_id=requester_id,
            agent_id=agent_id,
            team_name=team_name[:120],
            product=product[:100],
            solved_at=solved_at,
            sent_at=utcnow(),
        )
        db.session.add(survey)
        db.session.flush()
    if notify.email_enabled(requester, "feedback.survey"):
        days = links.lifetime_seconds() // 86400
        notify.queue_email(
            org_id=requester.org_id,
            user_id=requester.id,
            to=requester.email,
            subject=_("How did we do on %(number)s?", number=number),
            body=_(
                "Hello %(name)s,\n\nYour case %(number)s (“%(subject)s”) is solved. How satisfied "
                "are you with the help you received? One question, 1 to 5, and no sign-in "
                "needed:\n\n%(url)s\n\nThe link is yours alone and works for %(days)d days.",
                name=requester.name,
                number=number,
                subject=subject,
                url=notify.absolute_url(survey_path(survey)),
                days=days,
            ),
            kind="feedback.survey",
        )
    return survey


# The signed link's side: no principal, so every lookup is unscoped and checked by hand.


@dataclass
class OpenLink:
    survey: CsatSurvey
    answered: bool


def open_link(token: str) -> OpenLink:
    """What a token opens; raises links.LinkInvalid or links.LinkExpired. Reads only: opening a
    link (GET) never records anything."""
    link = links.read_token(PURPOSE, token)
    with unscoped():
        survey = db.session.scalars(
            select(CsatSurvey).where(CsatSurvey.id == link.survey_id)
        ).one_or_none()
        if survey is None or survey.requester_id != link.recipient_id:
            raise links.LinkInvalid()  # a genuine signature over ids that do not match
        answered = (
            db.session.scalar(select(CsatResponse.id).where(CsatResponse.survey_id == survey.id))
            is not None
        )
    return OpenLink(survey, answered)


def record_answer(token: str, score: int, comment: str) -> CsatResponse:
    """Record the answer of a link; raises LinkInvalid, LinkExpired, AlreadyAnswered or
    InvalidInput. Once only: the unique answer per survey decides between concurrent submits.
    A rating of 1 or 2 tells the team lead (in-app and email; see low_rating_recipients)."""
    opened = open_link(token)
    if opened.answered:
        raise links.AlreadyAnswered()
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput(_("Choose a rating from 1 to 5."), field="score")
    survey = opened.survey
    response = CsatResponse(
        org_id=survey.org_id,
        survey_id=survey.id,
        score=score,
        comment=comment,
    )
    links.record_answer_once(response)
    if score in LOW_SCORES:
        _tell_low_rating(survey, response)
    return response


def low_rating_recipients(survey: CsatSurvey) -> list[User]:
    """Who hears of a low rating: the lead of the case's support team (selfservice answers
    ``case.team_lead``), or the active vendor admins when the case has no team or its team no
    active lead."""
    lead_id = events.ask("case.team_lead", case_id=survey.case_id)
    with unscoped():  # vendor staff, told from a link that has no principal (reviewed)
        if lead_id is not None:
            return [db.session.get(User, lead_id)]
        return list(
            db.session.scalars(
                select(User)
                .join(Organization, User.org_id == Organization.id)
                .where(
                    Organization.kind == access.VENDOR,
                    User.active.is_(True),
                    User.role == "vendor_admin",
                )
                .order_by(User.id)
            )
        )


def _tell_low_rating(survey: CsatSurvey, response: CsatResponse) -> None:
    notify.notify(
        low_rating_recipients(survey),
        "feedback.csat_low",
        _(
            "Low rating (%(score)d of 5) on %(number)s",
            score=response.score,
            number=survey.case_number,
        ),
        body=(survey.team_name and _("Team: %(team)s", team=survey.team_name) + "\n")
        + (response.comment or _("No comment.")),
        link=f"/cases/{survey.case_id}",
    )
