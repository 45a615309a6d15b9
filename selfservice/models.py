"""Every model of self-service, so ``create_app`` registers them before the engine is used."""

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
    "SupportTeamMember",
]  # fmt: skip
