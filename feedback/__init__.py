"""Feedback: NPS campaigns through signed survey links, the ideas board, and the analytics page.

``BLUEPRINTS`` is what the app factory registers. CSAT after a solved case arrives with cases.
"""

from feedback import seed  # noqa: F401  (registers the demo world's feedback)
from feedback.ideas.views import bp as ideas_bp
from feedback.surveys.views import bp as nps_bp
from feedback.surveys.views import public as surveys_bp
from feedback.views import bp as feedback_bp

BLUEPRINTS = (nps_bp, surveys_bp, ideas_bp, feedback_bp)
