"""Every model of self-service, so ``create_app`` registers them before the engine is used."""

from selfservice.analytics.models import SupportDay, SupportDirtyDay, SupportResponseTime
from selfservice.cases.models import (
    Case,
    CaseAttachment,
    CaseComment,
    CaseSettings,
    CaseStatusChange,
    CaseWatcher,
    SlaPolicy,
    SupportTeam,
    SupportTeamMember,
)
from selfservice.kb.models import Article, ArticleCategory, ArticleEvent, ArticleVote

__all__ = [
    "Article", "ArticleCategory", "ArticleEvent", "ArticleVote", "Case", "CaseAttachment",
    "CaseComment", "CaseSettings", "CaseStatusChange", "CaseWatcher", "SlaPolicy", "SupportTeam",
    "SupportTeamMember", "SupportDay", "SupportDirtyDay", "SupportResponseTime",
]  # fmt: skip
