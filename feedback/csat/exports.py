"""CSAT answers as CSV (``portal.export``): every answer the vendor's feedback staff read, as the
results page counts them, oldest solve first."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from feedback.csat import queries
from portal import export

Column = export.Column


def answer_rows(principal, args) -> Select:
    """Every answer (the results page has no filters)."""
    return queries.answer_rows()


SOURCE = export.ExportSource(
    key="csat-answers",
    label=_l("CSAT answers"),
    action="feedback.view",
    audiences=("vendor",),
    columns=(
        Column(_l("Case"), lambda row: row.CsatSurvey.case_number),
        Column(_l("Subject"), lambda row: row.CsatSurvey.subject),
        Column(_l("Score"), lambda row: row.score),
        Column(_l("Comment"), lambda row: row.comment),
        Column(_l("Answered"), lambda row: row.answered_at),
        Column(_l("Solved"), lambda row: row.CsatSurvey.solved_at),
        Column(_l("Agent"), lambda row: row.agent),
        Column(_l("Team"), lambda row: row.CsatSurvey.team_name),
        Column(_l("Product"), lambda row: row.CsatSurvey.product),
        Column(_l("Organisation"), lambda row: row.organisation),
        Column(_l("Managing partner"), lambda row: row.partner),
    ),
    statement=answer_rows,
)
