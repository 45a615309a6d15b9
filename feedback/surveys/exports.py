"""NPS answers as CSV (``portal.export``): every answer the vendor's feedback staff read, or one
campaign's (``?campaign=<id>``, from its page), the latest first."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from feedback.surveys import queries
from portal import export

Column = export.Column


def answer_rows(principal, args) -> Select:
    try:
        filters = queries.answer_filters(args)
    except ValueError:
        raise export.InvalidFilters("campaign: not a campaign number") from None
    return queries.answer_rows(**filters)


def category(score: int) -> str:
    """promoter (9-10), passive (7-8) or detractor (0-6), as ``feedback.surveys.nps`` counts."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


SOURCE = export.ExportSource(
    key="nps-answers",
    label=_l("NPS answers"),
    action="feedback.view",
    audiences=("vendor",),
    columns=(
        Column(_l("Campaign ID"), lambda row: row.NpsCampaign.id),
        Column(_l("Campaign"), lambda row: row.NpsCampaign.name),
        Column(_l("Product line"), lambda row: row.NpsCampaign.product),
        Column(_l("Answered"), lambda row: row.SurveyResponse.answered_at),
        Column(_l("Score"), lambda row: row.SurveyResponse.score),
        Column(_l("Category"), lambda row: category(row.SurveyResponse.score)),
        Column(_l("Comment"), lambda row: row.SurveyResponse.comment),
        Column(_l("Organisation"), lambda row: row.SurveyRecipient.org.name),
        Column(_l("Kind"), lambda row: row.SurveyRecipient.org_kind),
        Column(_l("Tier"), lambda row: row.SurveyRecipient.org_tier),
    ),
    statement=answer_rows,
)
