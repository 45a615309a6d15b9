"""What a scorecard page shows, from the figures of ``queries``: each measure with the partner's
value, its tier's requirement (met or not) and the programme's average, written for the reader,
and the charts of the period by month. Pure functions of plain values: no database here."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from partners.program.models import Tier
from partners.scorecards.queries import (
    CURRENCY,
    MET,
    NOT_MEASURED,
    NOT_MET,
    Average,
    Figures,
    Monthly,
    requirement_verdicts,
)
from portal import formatting, reports

VERDICTS = {
    MET: _l("Met"),
    NOT_MET: _l("Not met"),
    NOT_MEASURED: _l("Not measured yet"),
}


@dataclass(frozen=True)
class Measure:
    key: str  # the row's test id
    label: object
    value: str
    detail: str = ""
    required: str = ""  # the tier's requirement, "" for none
    verdict: str | None = None  # MET, NOT_MET, NOT_MEASURED; None: no requirement
    average: str = ""

    @property
    def verdict_label(self):
        return VERDICTS.get(self.verdict, "")


def money(value) -> str:
    return formatting.money(value, CURRENCY) if value is not None else "—"


def percent(value) -> str:
    return formatting.percent(value) if value is not None else "—"


def hours(value) -> str:
    if value is None:
        return "—"
    return _("%(n)s h", n=formatting.number(round(float(value), 1)))


def count(value) -> str:
    """A count, or an average count to one decimal."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return formatting.number(round(value, 1))
    return formatting.number(value)


def measures(figures: Figures, tier: Tier | None, average: Average | None) -> list[Measure]:
    """The rows of the scorecard's table, in the order the page shows them. ``average`` None:
    the programme's average is not shown to this reader."""
    a = average

    def avg(format_, name: str) -> str:
        return format_(getattr(a, name)) if a is not None else ""

    won_required = tier.required_won_value_12m if tier is not None else None
    acceptance_required = tier.required_acceptance_percent if tier is not None else None
    certified_required = tier.required_certified_people if tier is not None else None
    verdicts = requirement_verdicts(tier, figures)
    rows = [
        Measure(
            "pipeline",
            _l("Pipeline (open registrations' value)"),
            money(figures.pipeline_value),
            average=avg(money, "pipeline_value"),
        ),
        Measure(
            "open-registrations",
            _l("Open registrations"),
            count(figures.pipeline_count),
            average=avg(count, "pipeline_count"),
        ),
        Measure(
            "win-rate",
            _l("Win rate (won of those closed in the period)"),
            percent(figures.win_rate),
            detail=_(
                "%(won)s won of %(closed)s",
                won=formatting.number(figures.won),
                closed=formatting.number(figures.closed),
            ),
            average=avg(percent, "win_rate"),
        ),
        Measure(
            "acceptance",
            _l("Offer acceptance rate (of the period's offers answered)"),
            percent(figures.acceptance_rate),
            detail=_(
                "%(accepted)s accepted of %(answered)s",
                accepted=formatting.number(figures.accepted),
                answered=formatting.number(figures.answered),
            ),
            required=percent(acceptance_required / 100) if acceptance_required is not None else "",
            verdict=verdicts.get("acceptance"),
            average=avg(percent, "acceptance_rate"),
        ),
        Measure(
            "answer-time",
            _l("Median answer time to an offer"),
            hours(figures.median_answer_hours),
            average=avg(hours, "median_answer_hours"),
        ),
        Measure(
            "protections",
            _l("Active protections"),
            count(figures.protections_active),
            average=avg(count, "protections_active"),
        ),
        Measure(
            "protections-ending",
            _l("Protections ending within 30 days"),
            count(figures.protections_ending),
            average=avg(count, "protections_ending"),
        ),
        Measure(
            "won-period",
            _l("Won value in the period"),
            money(figures.won_value),
            average=avg(money, "won_value"),
        ),
        Measure(
            "won-12m",
            _l("Won value in the last 12 months"),
            money(figures.won_value_12m),
            required=money(won_required) if won_required is not None else "",
            verdict=verdicts.get("won_12m"),
            average=avg(money, "won_value_12m"),
        ),
        Measure(
            "certified",
            _l("Certified people (verified, valid today)"),
            count(figures.certified_people),
            required=count(certified_required) if certified_required is not None else "",
            verdict=verdicts.get("certified"),
            average=avg(count, "certified_people"),
        ),
    ]
    return rows


def charts(
    period: reports.Period, name: str, mine: Monthly, programme: Monthly | None
) -> list[reports.Chart]:
    """The partner's won value and offer acceptance rate by month, each beside the programme's
    (when shown)."""
    labels = reports.month_labels(period)

    def series(label, own, theirs):
        found = [reports.Series(name, own)]
        if programme is not None:
            found.append(reports.Series(label, theirs))
        return found

    return [
        reports.Chart(
            key="won-by-month",
            title=_("Won value by month (%(currency)s)", currency=CURRENCY),
            labels=labels,
            series=series(
                _("Programme average per partner"),
                mine.won_value,
                programme.won_value if programme else None,
            ),
            kind="bar",
            unit="money",
            currency=CURRENCY,
        ),
        reports.Chart(
            key="acceptance-by-month",
            title=_("Offer acceptance rate by month"),
            labels=labels,
            series=series(
                _("Programme"),
                mine.acceptance_rate,
                programme.acceptance_rate if programme else None,
            ),
            kind="line",
            unit="percent",
        ),
    ]
