"""The Feedback dashboard for vendor staff: NPS and CSAT with their response rates over a period,
month by month and by organisation kind, partner tier and product line; the ideas in each status
month by month; and the most voted open ideas of each product line.

The figures come from ``feedback.analytics`` (grouped SQL); this module turns them into
``portal.reports`` charts, each drawn with the table of its figures beneath it."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from feedback import analytics as figures
from feedback.ideas import queries as idea_queries
from feedback.ideas.models import IDEA_STATUSES, STATUS_LABELS
from portal import access, product_lines, reports
from portal.navigation import NavItem
from portal.product_lines import PRODUCT_LINES
from portal.replica import reads_replica

bp = Blueprint("feedback", __name__, url_prefix="/feedback")
NAVIGATION = [
    NavItem(
        "feedback.analytics", _l("Feedback dashboard"), "feedback.view", ("vendor",), 61, "feedback"
    )
]


@bp.get("/analytics")
@reads_replica
@login_required
@access.require("feedback.view")
def analytics():
    """NPS and CSAT of the period asked for (``?period=``, see ``portal.reports``), over time and
    by group, the ideas by status, and each product line's most voted open ideas."""
    period = reports.period_from(request.args)
    nps = {grouping: figures.nps_by(grouping, period) for grouping in figures.GROUPINGS}
    csat = {grouping: figures.csat_by(grouping, period) for grouping in figures.GROUPINGS}
    groups = {
        "kind": figures.kinds(),
        "tier": [*figures.tiers(), ("", _("No tier"))],
        "product_line": [*PRODUCT_LINES.items(), ("", _("No product line"))],
    }
    return render_template(
        "feedback/analytics.html",
        period=period,
        totals={
            "nps": figures.sum_nps(nps["month"].values()),
            "csat": figures.sum_csat(csat["month"].values()),
        },
        over_time=_over_time(period, nps["month"], csat["month"]),
        by_group={
            grouping: _by_group(grouping, labels, nps[grouping], csat[grouping])
            for grouping, labels in groups.items()
        },
        ideas=_ideas(period),
        top_ideas=[(label, idea_queries.top_ideas(code)) for code, label in PRODUCT_LINES.items()],
    )


def _over_time(period, nps: dict, csat: dict) -> list[reports.Chart]:
    months = reports.month_labels(period)

    def monthly(found: dict, value, empty):
        return [value(found.get(key, empty)) for key in period.months()]

    no_nps, no_csat = figures.NpsFigures(), figures.CsatFigures()
    return [
        reports.Chart(
            key="nps-by-month",
            title=_("NPS by month"),
            labels=months,
            series=[reports.Series(_("NPS"), monthly(nps, lambda f: f.nps, no_nps))],
            kind="line",
        ),
        reports.Chart(
            key="csat-by-month",
            title=_("CSAT by month (average rating, 1 to 5)"),
            labels=months,
            series=[
                reports.Series(_("Average rating"), monthly(csat, lambda f: f.average, no_csat))
            ],
            kind="line",
        ),
        reports.Chart(
            key="response-rates-by-month",
            title=_("Response rates and satisfied ratings by month"),
            labels=months,
            series=[
                reports.Series(
                    _("NPS response rate"), monthly(nps, lambda f: f.response_rate, no_nps)
                ),
                reports.Series(
                    _("CSAT response rate"), monthly(csat, lambda f: f.response_rate, no_csat)
                ),
                reports.Series(
                    _("Satisfied (CSAT 4 or 5)"),
                    monthly(csat, lambda f: f.satisfied_share, no_csat),
                ),
            ],
            kind="line",
            unit="percent",
        ),
        reports.Chart(
            key="surveys-by-month",
            title=_("Surveys sent and answered by month"),
            labels=months,
            series=[
                reports.Series(_("NPS sent"), monthly(nps, lambda f: f.sent, no_nps)),
                reports.Series(_("NPS answers"), monthly(nps, lambda f: f.responses, no_nps)),
                reports.Series(_("CSAT requests"), monthly(csat, lambda f: f.sent, no_csat)),
                reports.Series(_("CSAT ratings"), monthly(csat, lambda f: f.responses, no_csat)),
            ],
        ),
    ]


# The name of a group found in the figures but not among the groups listed (a tier no longer in
# the programme, a product line no longer offered, the vendor's own cases).
_EXTRA_LABELS = {
    "kind": lambda code: access.ORG_KIND_LABELS.get(code, code),
    "product_line": product_lines.label,
}
GROUP_HEADERS = {
    "kind": (
        _l("Organisation kind"),
        _l("By organisation kind"),
        (_l("NPS by organisation kind"), _l("CSAT by organisation kind (average rating, 1 to 5)"),
         _l("Response rates and satisfied ratings by organisation kind")),
    ),
    "tier": (
        _l("Partner tier"),
        _l("By partner tier"),
        (_l("NPS by partner tier"), _l("CSAT by partner tier (average rating, 1 to 5)"),
         _l("Response rates and satisfied ratings by partner tier")),
    ),
    "product_line": (
        _l("Product line"),
        _l("By product line"),
        (_l("NPS by product line"), _l("CSAT by product line (average rating, 1 to 5)"),
         _l("Response rates and satisfied ratings by product line")),
    ),
}  # fmt: skip


def _by_group(grouping: str, groups, nps: dict, csat: dict) -> dict:
    """The charts of one grouping: NPS, CSAT and the response rates of each group. A group
    that is not in ``groups`` (a tier no longer in the programme) gets a row of its own."""
    known = {code for code, _label in groups}
    extra = sorted({*nps, *csat} - known)
    rows = [(code, label) for code, label in groups if code in nps or code in csat or code != ""]
    rows += [(code, _EXTRA_LABELS.get(grouping, str)(code)) for code in extra]
    labels = [label for _code, label in rows]
    header, title, (nps_title, csat_title, rates_title) = GROUP_HEADERS[grouping]
    no_nps, no_csat = figures.NpsFigures(), figures.CsatFigures()

    def values(found: dict, value, empty):
        return [value(found.get(code, empty)) for code, _label in rows]

    key = grouping.replace("_", "-")
    return {
        "title": title,
        "charts": [
            reports.Chart(
                key=f"nps-by-{key}",
                title=nps_title,
                labels=labels,
                series=[reports.Series(_("NPS"), values(nps, lambda f: f.nps, no_nps))],
                kind="hbar",
                label_header=header,
            ),
            reports.Chart(
                key=f"csat-by-{key}",
                title=csat_title,
                labels=labels,
                series=[
                    reports.Series(_("Average rating"), values(csat, lambda f: f.average, no_csat))
                ],
                kind="hbar",
                label_header=header,
            ),
            reports.Chart(
                key=f"response-rates-by-{key}",
                title=rates_title,
                labels=labels,
                series=[
                    reports.Series(
                        _("NPS response rate"), values(nps, lambda f: f.response_rate, no_nps)
                    ),
                    reports.Series(
                        _("CSAT response rate"), values(csat, lambda f: f.response_rate, no_csat)
                    ),
                    reports.Series(
                        _("Satisfied (CSAT 4 or 5)"),
                        values(csat, lambda f: f.satisfied_share, no_csat),
                    ),
                ],
                kind="hbar",
                unit="percent",
                label_header=header,
            ),
        ],
    }


def _ideas(period) -> reports.Chart:
    counts = figures.ideas_by_status(period)
    return reports.Chart(
        key="ideas-by-status",
        title=_("Ideas by status at the end of each month"),
        labels=reports.month_labels(period),
        series=[reports.Series(STATUS_LABELS[s], counts[s.value]) for s in IDEA_STATUSES],
        kind="stacked",
    )
