"""The demo world's feedback: two NPS campaigns with answers (a trend), and an ideas board with
votes in every status. Registered by ``feedback.init_app``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from feedback.csat.models import CsatResponse, CsatSurvey
from feedback.ideas import services as ideas
from feedback.ideas import trending
from feedback.ideas.models import Idea, IdeaStatus, IdeaVote
from feedback.surveys import services as surveys
from feedback.surveys.models import NpsCampaign, SurveyRecipient, SurveyResponse
from portal.clock import utcnow
from portal.identity.models import User
from portal.tenancy import Principal

REASONS = {
    10: "The support team solved our outage within the hour.",
    9: "Reliable kit and a partner who knows it.",
    8: "Good products, the ordering portal could be quicker.",
    7: "Fine, but licences are hard to follow.",
    6: "Firmware updates broke our VPN twice this year.",
    3: "Deliveries were late three times.",
}
# name, product, days ago sent, scores in the order of the recipients (None: no answer)
CAMPAIGNS = [
    ("Relationship NPS, summer", "", 120, [9, 10, 7, 6, 8, 3, 9, None, 10, 6, None, 7, 9, 8]),
    ("Networking NPS, autumn", "networking", 20, [10, 9, 9, 8, None, 6, 10, 9, 7, None, 9, 10]),
]
# author email, title, product, status, reason, voters' emails
IDEAS = [
    (
        "admin@granite.example",
        "Export the licence overview to CSV",
        "services",
        IdeaStatus.under_review,
        "",
        ["lee@granite.example", "admin@harbor.example", "admin@alpine.example"],
    ),
    (
        "admin@alpine.example",
        "Dark mode for the management console",
        "networking",
        IdeaStatus.planned,
        "",
        [
            "admin@brightline.example",
            "admin@iris.example",
            "admin@juniper.example",
            "sam@alpine.example",
        ],
    ),
    (
        "admin@harbor.example",
        "Single sign-on for the firewall dashboard",
        "security",
        IdeaStatus.in_progress,
        "",
        ["admin@granite.example", "admin@kestrel.example"],
    ),
    (
        "admin@cobalt.example",
        "Bulk firmware upgrades for access points",
        "networking",
        IdeaStatus.done,
        "",
        ["admin@alpine.example", "admin@delta.example", "admin@fjord.example"],
    ),
    (
        "admin@juniper.example",
        "Free hardware replacement for five years",
        "storage",
        IdeaStatus.declined,
        "We keep hardware warranties at three years; extended warranties are sold as a service.",
        ["admin@kestrel.example"],
    ),
    (
        "admin@iris.example",
        "Dark theme for the console",
        "networking",
        IdeaStatus.duplicate,
        "",
        ["admin@iris.example", "admin@harbor.example"],
    ),
    (
        "admin@brightline.example",
        "Webhooks when a backup job fails",
        "cloud",
        IdeaStatus.under_review,
        "",
        ["admin@cobalt.example", "admin@granite.example"],
    ),
]


def _principal(session, email: str) -> Principal:
    return Principal.for_user(session.scalar(select(User).where(User.email == email)))


# Answers to the satisfaction surveys of the demo's solved cases (one in five left unanswered).
CSAT_SCORES = [5, 4, 5, 3, None, 5, 4, 2, 5, 4, None, 5, 1, 4, 5, None, 4, 3, 5, 4, 5]
CSAT_COMMENTS = {
    5: "Quick and clear, thank you.",
    3: "Solved, but it took a few days.",
    2: "Had to explain the problem twice.",
    1: "Still not sure what caused it.",
}


def seed_csat_answers(session, orgs: dict) -> int:
    if session.scalar(select(func.count()).select_from(CsatResponse)):
        return 0  # answered once: the surveys still open stay open on a second run
    added = 0
    surveys_sent = session.scalars(
        select(CsatSurvey).where(~CsatSurvey.response.has()).order_by(CsatSurvey.solved_at)
    ).all()
    for survey, score in zip(surveys_sent, CSAT_SCORES, strict=False):
        survey.sent_at = survey.solved_at
        if score is None:
            continue
        session.add(
            CsatResponse(
                org_id=survey.org_id,
                survey_id=survey.id,
                score=score,
                comment=CSAT_COMMENTS.get(score, ""),
                answered_at=survey.solved_at + timedelta(hours=6 + survey.id % 30),
            )
        )
        added += 1
    return added


def seed_feedback(session, orgs: dict) -> int:
    added = 0
    vendor = _principal(session, "admin@northwind.example")
    existing = set(session.scalars(select(NpsCampaign.name)))
    for name, product, days_ago, scores in CAMPAIGNS:
        if name in existing:
            continue
        campaign = surveys.create_campaign(
            {"name": name, "product": product, "audience_kinds": ["customer", "partner"]},
            actor=vendor,
        )
        surveys.send_campaign(campaign, actor=vendor)
        sent_at = utcnow() - timedelta(days=days_ago)
        campaign.sent_at = sent_at
        campaign.reminded_at = sent_at + timedelta(days=7)
        recipients = session.scalars(
            select(SurveyRecipient)
            .where(SurveyRecipient.campaign_id == campaign.id)
            .order_by(SurveyRecipient.id)
        ).all()
        for recipient, score in zip(recipients, scores, strict=False):
            recipient.sent_at = sent_at
            if score is None:
                continue
            session.add(
                SurveyResponse(
                    org_id=recipient.org_id,
                    recipient_id=recipient.id,
                    campaign_id=campaign.id,
                    score=score,
                    comment=REASONS.get(score, ""),
                    answered_at=sent_at + timedelta(days=1 + recipient.id % 5),
                )
            )
            added += 1
        added += 1
    titles = set(session.scalars(select(Idea.title)))
    by_title = {}
    for author, title, product, _status, _reason, voters in IDEAS:
        if title in titles:
            continue
        idea = ideas.submit_idea(
            {"title": title, "product": product, "description": f"{title}: asked by customers."},
            actor=_principal(session, author),
        )
        for voter in voters:
            ideas.vote(idea, actor=_principal(session, voter))
        by_title[title] = idea
        added += 1 + len(voters)
    for _author, title, _product, status, reason, _voters in IDEAS:
        idea = by_title.get(title)
        if idea is None or status == IdeaStatus.under_review:
            continue
        original = by_title.get("Dark mode for the management console")
        ideas.change_status(
            idea,
            status,
            reason=reason,
            duplicate_of=original if status == IdeaStatus.duplicate else None,
            actor=vendor,
        )
    # Spread the votes over the last weeks, so "trending" differs from "most votes".
    votes = session.scalars(select(IdeaVote).order_by(IdeaVote.id)).all() if by_title else []
    for n, vote in enumerate(votes):
        vote.created_at = utcnow() - timedelta(days=(n * 5) % 40)
    session.flush()
    # The votes just aged by hand: the tick takes the old ones out of the trending counts.
    trending.age_trending_votes()
    return added
