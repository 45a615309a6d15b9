"""Read side of NPS: campaigns, a campaign's results, the trend over campaigns."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from feedback.surveys.models import CampaignStatus, NpsCampaign, SurveyRecipient, SurveyResponse
from feedback.surveys.nps import NpsSummary, percent, summarise
from portal import access
from portal.db import db


@dataclass
class CampaignResults:
    campaign: NpsCampaign
    recipients: int
    summary: NpsSummary
    by_kind: dict[str, NpsSummary]  # customer, reseller, distributor, supplier
    by_tier: dict[str, NpsSummary]  # partner tiers ("" for partners without one)
    comments: list[tuple[SurveyResponse, SurveyRecipient]]
    scores: list[int]

    @property
    def response_rate(self):
        return percent(self.summary.responses, self.recipients)


def campaigns() -> list[NpsCampaign]:
    return list(
        db.session.scalars(
            select(NpsCampaign).order_by(NpsCampaign.created_at.desc(), NpsCampaign.id.desc())
        )
    )


def results(campaign: NpsCampaign) -> CampaignResults:
    recipients = db.session.scalar(
        select(func.count())
        .select_from(SurveyRecipient)
        .where(SurveyRecipient.campaign_id == campaign.id)
    )
    rows = db.session.execute(
        select(SurveyResponse, SurveyRecipient)
        .join(SurveyRecipient, SurveyResponse.recipient_id == SurveyRecipient.id)
        .where(SurveyResponse.campaign_id == campaign.id)
        .order_by(SurveyResponse.answered_at.desc(), SurveyResponse.id.desc())
    ).all()
    kinds: dict[str, list[int]] = defaultdict(list)
    tiers: dict[str, list[int]] = defaultdict(list)
    for response, recipient in rows:
        kinds[recipient.org_kind].append(response.score)
        if recipient.org_kind in access.PARTNER_KINDS:
            tiers[recipient.org_tier].append(response.score)
    return CampaignResults(
        campaign=campaign,
        recipients=recipients,
        summary=summarise(r.score for r, _ in rows),
        by_kind={k: summarise(v) for k, v in sorted(kinds.items())},
        by_tier={t: summarise(v) for t, v in sorted(tiers.items())},
        comments=[(r, rec) for r, rec in rows if r.comment],
        scores=[r.score for r, _ in rows],
    )


def trend(product: str | None = None) -> list[CampaignResults]:
    """Every sent campaign's results, oldest first (optionally of one product)."""
    stmt = select(NpsCampaign).where(
        NpsCampaign.status.in_((CampaignStatus.sent, CampaignStatus.closed))
    )
    if product is not None:
        stmt = stmt.where(NpsCampaign.product == product)
    sent = db.session.scalars(stmt.order_by(NpsCampaign.sent_at, NpsCampaign.id))
    return [results(c) for c in sent]
