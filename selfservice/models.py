"""Every model of self-service, so ``create_app`` registers them before the engine is used."""

from selfservice.cases.models import (  # noqa: F401
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
from selfservice.kb.models import Article, ArticleCategory, ArticleEvent, ArticleVote  # noqa: F401
