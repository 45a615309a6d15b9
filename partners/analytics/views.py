"""The vendor's channel dashboards: the channel (registrations, decisions, conflicts, lead
answers, protections) and the forecast. Each reads its figures from ``channel`` or ``forecast``
(grouped SQL) and hands the template ``portal.reports`` charts, each with the table of its
figures."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from partners.analytics import channel as figures
from partners.analytics import forecast as outlook
from partners.deals.models import STATUS_LABELS
from portal import access, reports
from portal.clock import utcnow
from portal.navigation import NavItem
from portal.replica import reads_replica

bp = Blueprint("channel_reports", __name__, url_prefix="/reports")
NAVIGATION = [
    NavItem(
        "channel_reports.channel",
        _l("Channel dashboard"),
        "reports.channel",
        ("vendor",),
        40,
        "channel",
    ),
    NavItem(
        "channel_reports.forecast", _l("Forecast"), "reports.channel", ("vendor",), 40, "sales"
    ),
]
DEFAULT_CURRENCY = "EUR"  # when no registration has a currency yet
FORECAST_MONTHS = 12


def _currency() -> tuple[str, list[str]]:
    """The currency asked for if registrations use it, else the most used one."""
    used = figures.currencies()
    asked = (request.args.get("currency") or "").upper()
    if asked in used:
        return asked, used
    return (used[0] if used else DEFAULT_CURRENCY), used


def _view_args(**changes) -> dict:
    """The page's query arguments with ``changes`` (links that keep the period)."""
    args = {k: v for k, v in request.args.items() if k in ("period", "start", "end", "currency")}
    return {**args, **changes}


@bp.get("/channel")
@reads_replica
@login_required
@access.require("reports.channel")
def channel():
    period = reports.period_from(request.args)
    currency, currencies = _currency()
    months = reports.month_labels(period)
    value = figures.value_by_month(period, currency)
    partners, others = figures.value_by_partner(period, currency)
    decided = figures.decisions(period)
    conflicts = figures.conflicts_by_month(period)
    by_partner = figures.answers_by_partner(period)
    by_tier = figures.answers_by_tier(period, no_tier=_("No tier"))
    protections = figures.protections_ending(utcnow())

    partner_rows = partners + ([others] if others is not None else [])
    horizons = [_("Next %(days)d days", days=days) for days in figures.HORIZONS]
    charts = {
        "value_month": reports.Chart(
            key="value-by-month",
            title=_(
                "Registered, approved and won value by month (%(currency)s)", currency=currency
            ),
            labels=months,
            series=[
                reports.Series(_("Registered"), value.registered),
                reports.Series(_("Approved"), value.approved),
                reports.Series(_("Won"), value.won),
            ],
            unit="money",
            currency=currency,
        ),
        "value_partner": reports.Chart(
            key="value-by-partner",
            title=_("Value by partner (%(currency)s)", currency=currency),
            labels=[p.name or _("Other partners") for p in partner_rows],
            series=[
                reports.Series(_("Registered"), [p.registered for p in partner_rows]),
                reports.Series(_("Approved"), [p.approved for p in partner_rows]),
                reports.Series(_("Won"), [p.won for p in partner_rows]),
            ],
            kind="hbar",
            unit="money",
            currency=currency,
            label_header=_("Partner"),
        ),
        "outcomes": reports.Chart(
            key="outcomes-by-month",
            title=_("Registrations closed by month"),
            labels=months,
            series=[
                reports.Series(_("Won"), [o.won for o in decided.monthly_outcomes]),
                reports.Series(_("Lost"), [o.lost for o in decided.monthly_outcomes]),
                reports.Series(_("Expired"), [o.expired for o in decided.monthly_outcomes]),
            ],
            kind="stacked",
        ),
        "win_rate": reports.Chart(
            key="win-rate-by-month",
            title=_("Win rate by month"),
            labels=months,
            series=[reports.Series(_("Win rate"), [o.win_rate for o in decided.monthly_outcomes])],
            kind="line",
            unit="percent",
        ),
        "decision_time": reports.Chart(
            key="decision-time-by-month",
            title=_("Median time to decision by month"),
            labels=months,
            series=[reports.Series(_("Median time to decision"), decided.monthly_median_days)],
            kind="line",
            unit="days",
        ),
        "conflicts": reports.Chart(
            key="conflicts-by-month",
            title=_("Conflicts found by month"),
            labels=months,
            series=[
                reports.Series(_("Same domain"), conflicts["domain"]),
                reports.Series(_("Similar name"), conflicts["name"]),
            ],
            kind="stacked",
        ),
        "acceptance_partner": _acceptance_chart(
            "lead-acceptance-by-partner", _("Lead acceptance by partner"), _("Partner"), by_partner
        ),
        "answer_partner": _answer_time_chart(
            "lead-answer-time-by-partner",
            _("Median time to answer a lead by partner"),
            _("Partner"),
            by_partner,
        ),
        "acceptance_tier": _acceptance_chart(
            "lead-acceptance-by-tier", _("Lead acceptance by tier"), _("Tier"), by_tier
        ),
        "answer_tier": _answer_time_chart(
            "lead-answer-time-by-tier",
            _("Median time to answer a lead by tier"),
            _("Tier"),
            by_tier,
        ),
        "protections": reports.Chart(
            key="protections-ending",
            title=_("Protections ending"),
            labels=horizons,
            series=[reports.Series(_("Approved registrations"), protections.counts)],
            label_header=_("Ending within"),
        ),
    }
    return render_template(
        "partners/analytics/channel.html",
        period=period,
        currency=currency,
        currencies=currencies,
        view_args=_view_args,
        decided=decided,
        conflicts_total=sum(map(sum, conflicts.values())),
        charts=charts,
        by_partner=by_partner,
        by_tier=by_tier,
        protections=protections,
        horizons=horizons,
        top=figures.TOP_PARTNERS,
    )


def _acceptance_chart(key, title, header, rows) -> reports.Chart:
    return reports.Chart(
        key=key,
        title=title,
        labels=[r.label for r in rows],
        series=[reports.Series(_("Acceptance rate"), [r.acceptance_rate for r in rows])],
        kind="hbar",
        unit="percent",
        label_header=header,
    )


def _answer_time_chart(key, title, header, rows) -> reports.Chart:
    return reports.Chart(
        key=key,
        title=title,
        labels=[r.label for r in rows],
        series=[reports.Series(_("Median time to answer"), [r.median_hours for r in rows])],
        kind="hbar",
        unit="hours",
        label_header=header,
    )


def _next_months(today: date, months: int) -> reports.Period:
    """A custom period of ``months`` whole months from ``today``'s."""
    last = today.year * 12 + today.month - 1 + months - 1
    final = reports.period_of("month", date(last // 12, last % 12 + 1, 1))
    return reports.Period("custom", today.replace(day=1), final.end)


@bp.get("/forecast")
@reads_replica
@login_required
@access.require("reports.channel")
def forecast():
    # A forecast looks ahead: without a period asked for, the twelve months from this one.
    if request.args.get("period"):
        period = reports.period_from(request.args)
    else:
        period = _next_months(utcnow().date(), FORECAST_MONTHS)
    currency, currencies = _currency()
    result = outlook.forecast(period, currency)
    pipeline_chart = reports.Chart(
        key="forecast-by-month",
        title=_("Open pipeline by expected close month (%(currency)s)", currency=currency),
        labels=reports.month_labels(period),
        series=[
            reports.Series(_("Open pipeline"), result.pipeline),
            reports.Series(_("Weighted forecast"), result.weighted),
            reports.Series(_("Won a year before"), result.won_year_before),
        ],
        unit="money",
        currency=currency,
    )
    return render_template(
        "partners/analytics/forecast.html",
        period=period,
        currency=currency,
        currencies=currencies,
        view_args=_view_args,
        result=result,
        pipeline_chart=pipeline_chart,
        stage_labels=STATUS_LABELS,
    )
