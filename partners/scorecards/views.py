"""Partner scorecard pages: every partner's figures for vendor staff (sortable, filtered by tier),
one partner's scorecard (vendor staff: any partner; a partner: its own, through the wall), and a
partner's own scorecard from its navigation."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from partners.program import queries as program_queries
from partners.scorecards import measures, queries
from portal import access, reports
from portal.clock import utcnow
from portal.identity.models import Organization
from portal.navigation import NavItem
from portal.replica import reads_replica

bp = Blueprint("scorecards", __name__, url_prefix="/scorecards")

NAVIGATION = [
    NavItem("scorecards.index", _l("Scorecards"), "program.view", ("vendor",), 31, "channel"),
    NavItem("scorecards.mine", _l("Scorecard"), "program.own", ("partner",), 31, "channel"),
]

NO_TIER = program_queries.NO_TIER


def _none_last(value, descending: bool):
    """A sort key that puts missing figures last in either direction."""
    if value is None:
        return (1, 0)
    return (0, -value if descending else value)


# sort name -> (label, key of a queries.PartnerRow, descending)
SORTS = {
    "name": (_l("Partner"), lambda r: (0, r.name.lower()), False),
    "tier": (_l("Tier"), lambda r: _none_last(r.tier.rank if r.tier else None, True), True),
    "pipeline": (_l("Pipeline"), lambda r: (0, -r.figures.pipeline_value), True),
    "win_rate": (_l("Win rate"), lambda r: _none_last(r.figures.win_rate, True), True),
    "acceptance": (
        _l("Offer acceptance rate"),
        lambda r: _none_last(r.figures.acceptance_rate, True),
        True,
    ),
    "answer_time": (
        _l("Median answer time"),
        lambda r: _none_last(r.figures.median_answer_hours, False),
        False,
    ),
    "won_12m": (_l("Won value, last 12 months"), lambda r: (0, -r.figures.won_value_12m), True),
}


@bp.get("/")
@reads_replica
@login_required
@access.require("program.view")
def index():
    period = reports.period_from(request.args)
    window = queries.Window.of(period, utcnow())
    tiers = queries.tiers()
    tier = request.args.get("tier", "")
    if tier != NO_TIER and tier not in {t.code for t in tiers}:
        tier = ""
    sort = request.args.get("sort", "name")
    if sort not in SORTS:
        sort = "name"
    rows = queries.partner_rows(window, tier=tier or None, no_tier=tier == NO_TIER)
    rows.sort(key=lambda r: (SORTS[sort][1](r), r.name.lower(), r.org_id))
    return render_template(
        "partners/scorecards/index.html",
        period=period,
        rows=rows,
        average=queries.programme_average(window),
        tiers=tiers,
        tier=tier,
        no_tier=NO_TIER,
        sort=sort,
        sorts=SORTS,
        fmt=measures,
        currency=queries.CURRENCY,
        period_args={
            k: v for k, v in request.args.items() if k in ("period", "start", "end") and v
        },
    )


@bp.get("/<int:partner_id>")
@reads_replica
@login_required
@access.require("scorecards.view")
def detail(partner_id: int):
    # Through the wall: vendor staff find every partner, a partner only itself (another's id
    # answers 404, as a missing one does).
    return _scorecard(program_queries.partner_or_404(partner_id))


@bp.get("/mine")
@reads_replica
@login_required
@access.require("program.own")
def mine():
    return _scorecard(program_queries.partner_or_404(g.principal.org_id), own=True)


def _scorecard(partner: Organization, own: bool = False):
    period = reports.period_from(request.args)
    window = queries.Window.of(period, utcnow())
    tier = queries.tier_of(partner.tier)
    figures = queries.partner_figures(partner.id, window)
    average = queries.programme_average(window)
    shown = queries.average_shown(g.principal, average)
    programme = queries.programme_monthly(period, window, average.partners) if shown else None
    rows = measures.measures(figures, tier, average if shown else None)
    return render_template(
        "partners/scorecards/detail.html",
        partner=partner,
        own=own,
        period=period,
        tier=tier,
        figures=figures,
        rows=rows,
        measure_by_key={row.key: row for row in rows},
        average=average if shown else None,
        charts=measures.charts(
            period, partner.name, queries.partner_monthly(partner.id, period, window), programme
        ),
        currency=queries.CURRENCY,
        min_partners=queries.MIN_PARTNERS_FOR_AVERAGE,
    )
