"""The help centre's report as CSV (``portal.export``): per article, what its page shows."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from portal import export
from selfservice.kb import queries

Column = export.Column


def report_rows(principal, args) -> Select:
    """The report's rows, most viewed first, as its page shows them (it has no filters)."""
    return queries.report_rows()


SOURCE = export.ExportSource(
    key="help-report",
    label=_l("Help centre report"),
    action="articles.manage",
    audiences=("vendor",),
    columns=(
        Column(_l("ID"), lambda row: row.Article.id),
        Column(_l("Title"), lambda row: row.Article.title),
        Column(_l("Status"), lambda row: row.Article.status),
        Column(_l("Audience"), lambda row: row.Article.audience),
        Column(_l("Views"), lambda row: row.views),
        Column(_l("Helpful"), lambda row: row.helpful),
        Column(_l("Not helpful"), lambda row: row.unhelpful),
        Column(_l("Cases avoided"), lambda row: row.avoided),
        Column(_l("Cases raised after reading"), lambda row: row.raised),
    ),
    statement=report_rows,
)
