"""Every model of feedback, so the app factory can register them in one import."""

from feedback.csat.models import CsatResponse, CsatSurvey
from feedback.ideas.models import Idea, IdeaCaseLink, IdeaComment, IdeaSubscription, IdeaVote
from feedback.surveys.models import NpsCampaign, SurveyRecipient, SurveyResponse

__all__ = [
    "CsatResponse",
    "CsatSurvey",
    "Idea",
    "IdeaCaseLink",
    "IdeaComment",
    "IdeaSubscription",
    "IdeaVote",
    "NpsCampaign",
    "SurveyRecipient",
    "SurveyResponse",
]
