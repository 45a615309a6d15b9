"""Feedback: CSAT after a solved case and NPS campaigns through signed survey links, the ideas
board, and the analytics page.

``BLUEPRINTS`` is what the app factory registers. Importing ``feedback.csat.services`` subscribes
the CSAT survey to ``case.solved`` (``portal.events``).
"""

from feedback import seed  # noqa: F401  (registers the demo world's feedback)
from feedback.csat import services as _csat  # noqa: F401  (subscribes to case.solved)
from feedback.csat.views import bp as csat_results_bp
from feedback.csat.views import public as csat_bp
from feedback.ideas.views import bp as ideas_bp
from feedback.surveys.views import bp as nps_bp
from feedback.surveys.views import public as surveys_bp
from feedback.views import bp as feedback_bp

BLUEPRINTS = (csat_results_bp, nps_bp, surveys_bp, csat_bp, ideas_bp, feedback_bp)
