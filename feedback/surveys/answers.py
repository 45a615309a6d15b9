"""The NPS survey link's side: making a recipient's link, opening it (GET: reads only, so mail
scanners that "click" record nothing) and recording its one answer. A link carries no principal,
so every lookup here is unscoped and checked against the signed ids by hand."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from feedback import links
from feedback.surveys.models import NpsCampaign, SurveyRecipient, SurveyResponse
from portal.db import db, unscoped
from portal.errors import InvalidInput

PURPOSE = "nps"


def survey_path(campaign_id: int, recipient_id: int) -> str:
    """The link's path; built without a request, since the tick sends campaigns too."""
    token = links.make_token(PURPOSE, campaign_id, recipient_id)
    return current_app.url_map.bind("localhost").build("surveys.answer", {"token": token})


class SurveyClosed(Exception):
    pass


@dataclass
class OpenLink:
    campaign: NpsCampaign
    recipient: SurveyRecipient
    answered: bool


def open_link(token: str) -> OpenLink:
    """What a token opens; raises links.LinkInvalid, links.LinkExpired or SurveyClosed.
    Reads only: opening a link (GET) never records anything."""
    link = links.read_token(PURPOSE, token)
    with unscoped():
        recipient = db.session.scalars(
            select(SurveyRecipient).where(SurveyRecipient.id == link.recipient_id)
        ).one_or_none()
        if recipient is None or recipient.campaign_id != link.survey_id:
            raise links.LinkInvalid()  # a genuine signature over ids that do not match
        campaign = recipient.campaign
        answered = (
            db.session.scalar(
                select(SurveyResponse.id).where(SurveyResponse.recipient_id == recipient.id)
            )
            is not None
        )
    if campaign.status == "closed":
        raise SurveyClosed()
    return OpenLink(campaign, recipient, answered)


def record_answer(token: str, score: int, comment: str) -> SurveyResponse:
    """Record the answer of a link; raises LinkInvalid, LinkExpired, SurveyClosed,
    AlreadyAnswered or InvalidInput. Once only: the unique answer per recipient decides between
    two concurrent submits, whatever they read before."""
    opened = open_link(token)
    if opened.answered:
        raise links.AlreadyAnswered()
    if not isinstance(score, int) or not 0 <= score <= 10:
        raise InvalidInput(_("Choose a score from 0 to 10."), field="score")
    recipient = opened.recipient
    # Closing may have committed since the link was opened: read the status again under a share
    # lock, which a close (an UPDATE) waits for, so no answer lands in a closed campaign.
    with unscoped():
        status = db.session.scalar(
            select(NpsCampaign.status)
            .where(NpsCampaign.id == recipient.campaign_id)
            .with_for_update(read=True)
        )
    if status == "closed":
        raise SurveyClosed()
    response = SurveyResponse(
        org_id=recipient.org_id,
        recipient_id=recipient.id,
        campaign_id=recipient.campaign_id,
        score=score,
        comment=comment,
    )
    links.record_answer_once(response)
    return response
