"""NPS and CSAT results in the API (``feedback:read``) for vendor staff whose role reads the
Feedback dashboard (``feedback.view``): the same figures from the same grouped SQL
(``feedback.analytics``), over the same periods and groupings as the page. Counts and rates only,
never who answered; anyone else's token is refused (403) whatever it asks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field
from spectree import Response

from feedback import analytics as figures
from portal import access, product_lines, reports
from portal.api import api
from portal.api.auth import require_action
from portal.api.errors import ApiError, Problem
from portal.api.resources import ERRORS, action
from portal.product_lines import PRODUCT_LINES
from portal.routes import Routes

routes = Routes()
READ = "feedback.view"


class ResultsQuery(BaseModel):
    period: Literal[tuple(reports.PERIODS)] = Field(
        reports.DEFAULT_PERIOD,
        description="month, quarter, 12m (the last twelve calendar months) or custom "
        "(with start and end).",
    )
    start: date | None = Field(None, description="A custom period's first day.")
    end: date | None = Field(None, description="A custom period's last day (included).")
    by: Literal[figures.GROUPINGS] = Field(
        "month",
        description="The groups: month (every month of the period), kind (of organisation), "
        "tier (partners only) or product_line.",
    )


class PeriodOut(BaseModel):
    key: str
    start: str
    end: str


class NpsOut(BaseModel):
    sent: int = Field(description="Surveys sent.")
    responses: int
    promoters: int = Field(description="Scores of 9 or 10.")
    passives: int = Field(description="Scores of 7 or 8.")
    detractors: int = Field(description="Scores of 0 to 6.")
    nps: float | None = Field(description="% promoters - % detractors, one decimal.")
    response_rate: float | None = Field(description="Responses per survey sent (0.75).")


class NpsGroup(NpsOut):
    group: str = Field(description="The month (2026-01), kind, tier or product line code.")
    label: str


class NpsResults(BaseModel):
    period: PeriodOut
    by: str
    total: NpsOut
    groups: list[NpsGroup]


class CsatOut(BaseModel):
    sent: int = Field(description="Rating requests sent (one per solve of a case).")
    responses: int
    average: float | None = Field(description="Average rating, 1 to 5, one decimal.")
    satisfied: int = Field(description="Ratings of 4 or 5.")
    satisfied_share: float | None = Field(description="Satisfied per rating (0.8).")
    response_rate: float | None = Field(description="Ratings per request sent.")


class CsatGroup(CsatOut):
    group: str = Field(description="The month (2026-01), kind, tier or product line code.")
    label: str


class CsatResults(BaseModel):
    period: PeriodOut
    by: str
    total: CsatOut
    groups: list[CsatGroup]


def _number(value: Decimal | None, places: int) -> float | None:
    return None if value is None else round(float(value), places)


def _nps(f: figures.NpsFigures) -> dict:
    return {
        "sent": f.sent,
        "responses": f.responses,
        "promoters": f.promoters,
        "passives": f.responses - f.promoters - f.detractors,
        "detractors": f.detractors,
        "nps": _number(f.nps, 1),
        "response_rate": _number(f.response_rate, 4),
    }


def _csat(f: figures.CsatFigures) -> dict:
    return {
        "sent": f.sent,
        "responses": f.responses,
        "average": _number(f.average, 1),
        "satisfied": f.satisfied,
        "satisfied_share": _number(f.satisfied_share, 4),
        "response_rate": _number(f.response_rate, 4),
    }


def _period(query: ResultsQuery) -> reports.Period:
    """The period asked for, as the dashboard reads it; a custom range it cannot use is 422
    here (the page falls back to the last 12 months and says why)."""
    args = {"period": query.period}
    if query.start:
        args["start"] = query.start.isoformat()
    if query.end:
        args["end"] = query.end.isoformat()
    period = reports.period_from(args)
    if period.error:
        fields = [f for f in ("start", "end") if getattr(query, f) is None] or ["start", "end"]
        raise ApiError(
            422,
            "Unprocessable Content",
            str(period.error),
            errors=[{"loc": ["query", f], "msg": str(period.error)} for f in fields],
        )
    return period


def _groups(by: str, period: reports.Period, found: dict) -> list[tuple[str, str]]:
    """The groups of a grouping as the dashboard lists them: every month of the period, every
    kind, tier and product line, then any group found but no longer listed."""
    if by == "month":
        return list(zip(period.months(), reports.month_labels(period), strict=True))
    if by == "kind":
        known = [(code, str(label)) for code, label in figures.kinds()]
        extra = lambda code: str(access.ORG_KIND_LABELS.get(code, code))  # noqa: E731
    elif by == "tier":
        known = [*figures.tiers(), ("", _("No tier"))]
        extra = str
    else:
        known = [(c, str(n)) for c, n in PRODUCT_LINES.items()] + [("", _("No product line"))]
        extra = lambda code: str(product_lines.label(code))  # noqa: E731
    codes = {code for code, _label in known}
    return known + [(code, extra(code)) for code in sorted(set(found) - codes)]


def _period_out(period: reports.Period) -> dict:
    return {"key": period.key, "start": period.start.isoformat(), "end": period.end.isoformat()}


def _results(query, by, summed, empty, shown) -> dict:
    """The period's figures per group (``by``), and its total as the dashboard's: from its
    months (by tier, only partners count)."""
    require_action(READ)
    period = _period(query)
    found = by(query.by, period)
    months = found if query.by == "month" else by("month", period)
    return {
        "period": _period_out(period),
        "by": query.by,
        "total": shown(summed(months.values())),
        "groups": [
            {"group": code, "label": str(label), **shown(found.get(code, empty))}
            for code, label in _groups(query.by, period, found)
        ],
    }


@routes.get("/feedback/nps")
@action(READ)
@api.validate(
    query=ResultsQuery,
    resp=Response(HTTP_200=NpsResults, HTTP_422=Problem, **ERRORS),
    tags=["feedback"],
)
def nps_results(query: ResultsQuery):
    """NPS of the surveys sent in the period: the whole period's, and per month, kind of
    organisation, partner tier or product line (``by``), as on the Feedback dashboard."""
    return NpsResults(
        **_results(query, figures.nps_by, figures.sum_nps, figures.NpsFigures(), _nps)
    )


@routes.get("/feedback/csat")
@action(READ)
@api.validate(
    query=ResultsQuery,
    resp=Response(HTTP_200=CsatResults, HTTP_422=Problem, **ERRORS),
    tags=["feedback"],
)
def csat_results(query: ResultsQuery):
    """CSAT of the cases solved in the period: the whole period's, and per month, kind of
    organisation, partner tier or product line (``by``), as on the Feedback dashboard."""
    return CsatResults(
        **_results(query, figures.csat_by, figures.sum_csat, figures.CsatFigures(), _csat)
    )
