"""Read side of NPS: campaigns, a campaign's results, the trend over campaigns."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

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


# Every answer, for the CSV export of NPS answers.


def answer_filters(args) -> dict:
    """The answers' filter from a query string: ``campaign`` (an id) or every campaign.
    Raises ValueError for a campaign that is not a number."""
    campaign = (args.get("campaign") or "").strip()
    if campaign and not campaign.isdigit():
        raise ValueError("campaign")
    return {"campaign_id": int(campaign) if campaign else None}


def answer_rows(campaign_id: int | None = None) -> Select:
    """Every NPS answer the principal may read (vendor staff), the latest first as a campaign's
    page lists them, as (SurveyResponse, SurveyRecipient with its organisation, NpsCampaign)."""
    stmt = (
        select(SurveyResponse, SurveyRecipient, NpsCampaign)
        .join(SurveyRecipient, SurveyResponse.recipient_id == SurveyRecipient.id)
        .join(NpsCampaign, SurveyResponse.campaign_id == NpsCampaign.id)
        .options(joinedload(SurveyRecipient.org))
        .order_by(SurveyResponse.answered_at.desc(), SurveyResponse.id.desc())
    )
    if campaign_id is not None:
        stmt = stmt.where(SurveyResponse.campaign_id == campaign_id)
    return stmt
