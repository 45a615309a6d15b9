"""The NPS survey link's side: making a recipient's link, opening it (GET: reads only, so mail
scanners that "click" record nothing) and recording its one answer. A link carries no principal,
so what it opens is read past the wall (``read_across``) and checked against the signed ids and
the recipient row's nonce (``links.matches``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from feedback import links
from feedback.surveys.models import CampaignStatus, NpsCampaign, SurveyRecipient, SurveyResponse
from portal.db import db, read_across
from portal.errors import InvalidInput
from portal.notify import services as notify

PURPOSE = "nps"


def survey_link(recipient: SurveyRecipient) -> notify.Link:
    """The recipient's signed link, with its row's nonce (the tick sends campaigns too: no
    request needed)."""
    token = links.make_token(PURPOSE, recipient.campaign_id, recipient.id, recipient.link_nonce)
    return notify.link("surveys.answer", token=token)


class SurveyClosed(Exception):
    pass


@dataclass
class OpenLink:
    """What a link opens, as plain values."""

    campaign_id: int
    campaign_name: str
    recipient_id: int
    recipient_org_id: int
    answered: bool


def open_link(token: str) -> OpenLink:
    """What a token opens; raises links.LinkInvalid, links.LinkExpired or SurveyClosed.
    Reads only: opening a link (GET) never records anything."""
    link = links.read_token(PURPOSE, token)
    with read_across() as reader:
        row = reader.execute(
            select(
                SurveyRecipient.id,
                SurveyRecipient.org_id,
                SurveyRecipient.campaign_id,
                SurveyRecipient.link_nonce,
                NpsCampaign.name,
                NpsCampaign.status,
            )
            .join(NpsCampaign, NpsCampaign.id == SurveyRecipient.campaign_id)
            .where(SurveyRecipient.id == link.recipient_id)
        ).one_or_none()
        answered = row is not None and (
            reader.scalar(select(SurveyResponse.id).where(SurveyResponse.recipient_id == row.id))
            is not None
        )
    if row is None or not links.matches(
        link, survey_id=row.campaign_id, recipient_id=row.id, nonce=row.link_nonce
    ):
        raise links.LinkInvalid()  # a genuine signature over ids or a nonce that do not match
    if row.status == CampaignStatus.closed:
        raise SurveyClosed()
    return OpenLink(row.campaign_id, row.name, row.id, row.org_id, answered)


def record_answer(token: str, score: int, comment: str) -> SurveyResponse:
    """Record the answer of a link; raises LinkInvalid, LinkExpired, SurveyClosed,
    AlreadyAnswered or InvalidInput. Once only: the unique answer per recipient decides between
    two concurrent submits, whatever they read before."""
    opened = open_link(token)
    if opened.answered:
        raise links.AlreadyAnswered()
    if not isinstance(score, int) or not 0 <= score <= 10:
        raise InvalidInput(_("Choose a score from 0 to 10."), field="score")

    def still_open() -> None:
        # Closing may have committed since the link was opened: read the status again under a
        # share lock, which a close (an UPDATE) waits for, so no answer lands in a closed
        # campaign. On the request's own transaction, so the lock lasts until it commits.
        status = db.session.scalar(
            select(NpsCampaign.status)
            .where(NpsCampaign.id == opened.campaign_id)
            .with_for_update(read=True)
        )
        if status == CampaignStatus.closed:
            raise SurveyClosed()

    response = SurveyResponse(
        org_id=opened.recipient_org_id,
        recipient_id=opened.recipient_id,
        campaign_id=opened.campaign_id,
        score=score,
        comment=comment,
    )
    links.record_answer_once(response, check=still_open)
    return response
