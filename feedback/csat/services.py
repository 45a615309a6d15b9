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

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback import links
from feedback.csat.models import CsatResponse, CsatSurvey
from portal import access, events, i18n, people
from portal.clock import utcnow
from portal.db import db, read_across, unscoped
from portal.errors import Conflict, InvalidInput
from portal.identity.models import Organization, User
from portal.notify import services as notify
from portal.tenancy import Principal

PURPOSE = "csat"
LOW_SCORES = (1, 2)
# Who hears of a low rating when the case has no team lead to tell (portal/access.py).
LOW_RATINGS_ACTION = "feedback.low_ratings"


def survey_token(survey_id: int, requester_id: int, nonce: str) -> str:
    """The token of a survey's link: the survey, who is asked, and the survey row's nonce."""
    return links.make_token(PURPOSE, survey_id, requester_id, nonce)


def survey_link(survey: CsatSurvey) -> notify.Link:
    """The survey's signed link (the tick auto-solves cases too: no request needed)."""
    token = survey_token(survey.id, survey.requester_id, survey.link_nonce)
    return notify.link("csat.answer", token=token)


def _open_survey_of(reader: Session, case_id: int) -> int | None:
    """An earlier survey of the case that is unanswered and whose link still works."""
    since = utcnow() - timedelta(seconds=links.lifetime_seconds())
    answered = select(CsatResponse.survey_id)
    return reader.scalar(
        select(CsatSurvey.id)
        .where(
            CsatSurvey.case_id == case_id,
            CsatSurvey.sent_at > since,
            CsatSurvey.id.not_in(answered),
        )
        .limit(1)
    )


def on_case_solved(event: events.DomainEvent) -> CsatSurvey | None:
    """``case.solved``: the record is the case, ``at`` when it was solved, ``data`` the rest."""
    return send_survey(
        case_id=event.record_id, org_id=event.org_ids[0], solved_at=event.at, **event.data
    )


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
    # The event comes from any principal (an agent, the customer, the tick): the requester and
    # the case's earlier surveys (the vendor's) are read past the wall.
    with read_across() as reader:
        row = reader.execute(
            select(User.id, User.org_id, User.email, User.name, User.role, User.active)
            .add_columns(Organization.kind)
            .join(Organization, Organization.id == User.org_id)
            .where(User.id == requester_id)
        ).one_or_none()
        still_open = _open_survey_of(reader, case_id) if row is not None else None
    if row is None or not row.active or row.kind == access.VENDOR or still_open is not None:
        return None
    requester = people.Person(row.id, row.org_id, row.email, row.name, row.role, row.active)
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
    # The survey is the vendor's to read, in the case's organisation; no principal creates one.
    with unscoped():  # reason: written on whoever's solve, as no principal may create a survey
        db.session.add(survey)
    if notify.email_enabled(requester, "feedback.survey"):
        with i18n.writing_to(requester):  # the requester's language, not the agent's
            days = links.lifetime_seconds() // 86400
            notify.queue_email(
                org_id=requester.org_id,
                user_id=requester.id,
                to=requester.email,
                subject=_("How did we do on %(number)s?", number=number),
                body=_(
                    "Hello %(name)s,\n\nYour case %(number)s (“%(subject)s”) is solved. "
                    "How satisfied are you with the help you received? One question, 1 to 5, "
                    "and no sign-in needed:\n\n%(url)s\n\nThe link is yours alone and works "
                    "for %(days)d days.",
                    name=requester.name,
                    number=number,
                    subject=subject,
                    url=notify.absolute_url(survey_link(survey)),
                    days=days,
                ),
                kind="feedback.survey",
            )
    return survey


# The signed link's side: no principal, so what it opens is read past the wall and checked
# against the signed ids and the survey row's nonce (``links.matches``).


@dataclass(frozen=True)
class SurveyFacts:
    """A survey as the answer page and the low-rating notice need it (plain values)."""

    id: int
    org_id: int
    case_id: int
    case_number: str
    subject: str
    requester_id: int
    team_name: str


# The columns of SurveyFacts, in its order.
_FACTS = (
    CsatSurvey.id,
    CsatSurvey.org_id,
    CsatSurvey.case_id,
    CsatSurvey.case_number,
    CsatSurvey.subject,
    CsatSurvey.requester_id,
    CsatSurvey.team_name,
)


@dataclass
class OpenLink:
    survey: SurveyFacts
    answered: bool


def _answered(reader: Session, survey_id: int) -> bool:
    return (
        reader.scalar(select(CsatResponse.id).where(CsatResponse.survey_id == survey_id))
        is not None
    )


def open_link(token: str) -> OpenLink:
    """What a token opens; raises links.LinkInvalid or links.LinkExpired. Reads only: opening a
    link (GET) never records anything."""
    link = links.read_token(PURPOSE, token)
    with read_across() as reader:
        row = reader.execute(
            select(*_FACTS, CsatSurvey.link_nonce).where(CsatSurvey.id == link.survey_id)
        ).one_or_none()
        answered = row is not None and _answered(reader, row.id)
    if row is None or not links.matches(
        link, survey_id=row.id, recipient_id=row.requester_id, nonce=row.link_nonce
    ):
        raise links.LinkInvalid()  # a genuine signature over ids or a nonce that do not match
    return OpenLink(SurveyFacts(*row[: len(_FACTS)]), answered)


def record_answer(token: str, score: int, comment: str) -> CsatResponse:
    """Record the answer of a link; raises LinkInvalid, LinkExpired, AlreadyAnswered or
    InvalidInput. Once only: the unique answer per survey decides between concurrent submits.
    A rating of 1 or 2 tells the team lead (in-app and email; see low_rating_recipients)."""
    return _answer(open_link(token), score, comment)


def rate_case(case_id: int, score: int, comment: str, *, actor: Principal) -> CsatResponse:
    """The requester rates a solved case on its page, signed in: the same survey, answer and
    low-rating notice as the emailed link (the link and the page answer once between them).
    Raises InvalidInput when the case asks the actor nothing or for a rating outside 1 to 5,
    Conflict once answered or past the link's lifetime."""
    since = utcnow() - timedelta(seconds=links.lifetime_seconds())  # as the emailed link's
    with read_across() as reader:  # the survey is the vendor's row: found by its requester
        row = reader.execute(
            select(*_FACTS, CsatSurvey.sent_at > since)
            .where(CsatSurvey.case_id == case_id, CsatSurvey.requester_id == actor.user_id)
            .order_by(CsatSurvey.id.desc())
            .limit(1)
        ).one_or_none()
        answered = row is not None and _answered(reader, row.id)
    if row is None or actor.user_id is None:
        raise InvalidInput(_("This case asks you for no rating."))
    if answered:
        raise Conflict(_("You have already rated this case. Thank you!"))
    if not row[len(_FACTS)]:
        raise Conflict(_("The time to rate this case has passed. Thank you all the same."))
    opened = OpenLink(SurveyFacts(*row[: len(_FACTS)]), answered=False)
    try:
        return _answer(opened, score, comment)
    except links.AlreadyAnswered:  # the emailed link answered at the same moment
        raise Conflict(_("You have already rated this case. Thank you!")) from None


def _answer(opened: OpenLink, score: int, comment: str) -> CsatResponse:
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


def low_rating_recipients(survey: SurveyFacts) -> list[people.Person]:
    """Who hears of a low rating: the lead of the case's support team (selfservice answers
    ``case.team_lead``), or the active vendor staff who follow low ratings (the vendor admins)
    when the case has no team or its team no active lead."""
    lead_id = events.ask("case.team_lead", case_id=survey.case_id)
    if lead_id is not None:
        return people.people([lead_id])
    return people.vendor_staff_who_may(LOW_RATINGS_ACTION)


def _tell_low_rating(survey: SurveyFacts, response: CsatResponse) -> None:
    notify.notify(
        low_rating_recipients(survey),
        "feedback.csat_low",
        _l(
            "Low rating (%(score)d of 5) on %(number)s",
            score=response.score,
            number=survey.case_number,
        ),
        body=(survey.team_name and _("Team: %(team)s", team=survey.team_name) + "\n")
        + (response.comment or _("No comment.")),
        link=notify.link("cases.detail", case_id=survey.case_id),
    )
