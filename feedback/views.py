"""Feedback analytics for vendor staff: per product, CSAT, NPS and the top ideas side by side."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from feedback.csat import queries as csat_queries
from feedback.ideas import queries as idea_queries
from feedback.surveys import queries as survey_queries
from feedback.surveys.nps import summarise
from portal import access
from portal.navigation import NavItem
from portal.product_lines import PRODUCT_LINES

bp = Blueprint("feedback", __name__, url_prefix="/feedback")
NAVIGATION = [
    NavItem("feedback.analytics", _l("By product"), "feedback.view", ("vendor",), 61, "feedback")
]


@bp.get("/analytics")
@login_required
@access.require("feedback.view")
def analytics():
    """One row per product: CSAT of its cases (by the case's product, code or name), NPS over
    every answer to campaigns about it (and the latest campaign's), and its most voted open
    ideas. The whole portfolio gets a row of its own: CSAT of every case, NPS of the campaigns
    about no one product."""
    csat = csat_queries.by_product()
    rows = []
    for code, label in [("", _l("Whole portfolio")), *PRODUCT_LINES.items()]:
        campaigns = survey_queries.trend(product=code)
        scores = [score for c in campaigns for score in c.scores]
        rows.append(
            {
                "code": code,
                "label": label,
                "summary": summarise(scores),
                "csat": csat.get(code) or csat_queries.summarise([]),
                "campaigns": campaigns,
                "ideas": idea_queries.top_ideas(code) if code else [],
            }
        )
    return render_template("feedback/analytics.html", rows=rows)
