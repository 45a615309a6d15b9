"""The support dashboards: the vendor's support dashboard (SLA compliance, backlog, first
responses, cases avoided by the help centre) and a customer's own dashboard (its cases' SLA
compliance, its open cases, its quotes). Each reads its figures from ``support`` or ``customer``
(grouped SQL, through the tenant wall) and hands the template ``portal.reports`` charts, each
with the table of its figures."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from portal import access, reports
from portal.clock import utcnow
from portal.navigation import NavItem
from portal.replica import reads_replica
from selfservice.analytics import customer as own
from selfservice.analytics import support as figures
from selfservice.cases.forms import PRIORITY_LABELS
from selfservice.cases.models import PRIORITIES, STATUS_LABELS, TARGETS

bp = Blueprint("support_reports", __name__, url_prefix="/reports")
NAVIGATION = [
    NavItem(
        "support_reports.support",
        _l("Support dashboard"),
        "reports.support",
        ("vendor",),
        33,
        "support",
    ),
    NavItem(
        "support_reports.customer", _l("Dashboard"), "reports.own", ("customer",), 33, "support"
    ),
]


def _target_labels() -> dict[str, str]:
    return {
        "first_response": _("First response"),
        "next_response": _("Next response"),
        "resolution": _("Resolution"),
    }


def _age_labels() -> list[str]:
    return [
        _("Under 1 day"),
        _("1–3 days"),
        _("3–7 days"),
        _("7–30 days"),
        _("Over 30 days"),
    ]


def _compliance_chart(key, title, table, header, kind="bar", labels=None) -> reports.Chart:
    names = _target_labels()
    return reports.Chart(
        key=key,
        title=title,
        labels=labels if labels is not None else [label for _key, label in table.groups],
        series=[reports.Series(names[t], table.rates(t)) for t in TARGETS],
        kind=kind,
        unit="percent",
        label_header=header,
    )


@bp.get("/support")
@reads_replica
@login_required
@access.require("reports.support")
def support():
    period = reports.period_from(request.args)
    months = reports.month_labels(period)
    by_month = figures.compliance_by_month(period)
    by_priority = figures.compliance_by_priority(period)
    by_team = figures.compliance_by_team(period)
    by_org = figures.compliance_by_organisation(period)
    backlog = figures.backlog(utcnow())
    first = figures.first_response(period)
    deflection = figures.deflection(period)

    charts = {
        "sla_month": _compliance_chart(
            "sla-by-month", _("SLA compliance by month"), by_month, _("Month"), "line", months
        ),
        "sla_priority": _compliance_chart(
            "sla-by-priority",
            _("SLA compliance by priority"),
            by_priority,
            _("Priority"),
            labels=[PRIORITY_LABELS[key] for key, _label in by_priority.groups],
        ),
        "sla_team": _compliance_chart(
            "sla-by-team",
            _("SLA compliance by team"),
            by_team,
            _("Team"),
            "hbar",
            labels=[name or _("No team") for _key, name in by_team.groups],
        ),
        "sla_org": _compliance_chart(
            "sla-by-organisation",
            _("SLA compliance by organisation"),
            by_org,
            _("Organisation"),
            "hbar",
        ),
        "backlog": reports.Chart(
            key="backlog-by-age",
            title=_("Open cases by age"),
            labels=_age_labels(),
            series=[
                reports.Series(
                    PRIORITY_LABELS[p],
                    [backlog.bucket(i, p) for i in range(len(figures.AGE_BOUNDS) + 1)],
                )
                for p in PRIORITIES
            ],
            kind="stacked",
            label_header=_("Open for"),
        ),
        "first_response": reports.Chart(
            key="first-response-by-month",
            title=_("Median first response by month"),
            labels=months,
            series=[reports.Series(_("Median first response"), first.monthly)],
            kind="line",
            unit="hours",
        ),
        "deflection": reports.Chart(
            key="cases-avoided-by-month",
            title=_("Cases avoided by the help centre and cases opened"),
            labels=months,
            series=[
                reports.Series(_("Cases avoided"), deflection.avoided),
                reports.Series(_("Cases opened"), deflection.opened),
            ],
        ),
    }
    return render_template(
        "selfservice/analytics/support.html",
        period=period,
        charts=charts,
        totals={t: by_month.total(t) for t in TARGETS},
        target_labels=_target_labels(),
        backlog=backlog,
        first=first,
        deflection=deflection,
        top=figures.TOP_ORGANISATIONS,
    )


@bp.get("/customer")
@reads_replica
@login_required
@access.require("reports.own")
def customer():
    period = reports.period_from(request.args)
    months = reports.month_labels(period)
    whole = own.sees_whole_organisation(g.principal)
    by_month = own.compliance_by_month(period, g.principal)
    cases = own.open_cases(g.principal, whole)
    quotes = own.quotes(period)
    open_statuses = list(figures.UNRESOLVED)
    charts = {
        "sla_month": _compliance_chart(
            "sla-by-month", _("SLA compliance by month"), by_month, _("Month"), "line", months
        ),
        "open_cases": reports.Chart(
            key="open-cases",
            title=_("Open cases by status and priority"),
            labels=[STATUS_LABELS[s] for s in open_statuses],
            series=[
                reports.Series(PRIORITY_LABELS[p], [cases.of(s, p) for s in open_statuses])
                for p in PRIORITIES
            ],
            kind="stacked",
            label_header=_("Status"),
        ),
        "quotes": [
            reports.Chart(
                key=f"quotes-accepted-{q.currency.lower()}",
                title=_("Quotes accepted by month (%(currency)s)", currency=q.currency),
                labels=months,
                series=[reports.Series(_("Accepted value"), q.accepted_by_month)],
                unit="money",
                currency=q.currency,
            )
            for q in quotes.currencies
        ],
    }
    return render_template(
        "selfservice/analytics/customer.html",
        period=period,
        counted_daily=whole,
        charts=charts,
        totals={t: by_month.total(t) for t in TARGETS},
        target_labels=_target_labels(),
        cases=cases,
        quotes=quotes,
    )
