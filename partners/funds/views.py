"""Pages of market development funds: the partner's budget, requests and claims; the channel
team's queue, decisions, payments, budgets and the tiers' defaults (Channel → Funds)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select

from partners.funds import queries, services
from partners.funds.forms import (
    BudgetForm,
    ClaimForm,
    PayForm,
    ReasonForm,
    RequestForm,
    TierDefaultForm,
)
from partners.funds.models import (
    ClaimStatus,
    FundClaim,
    FundClaimFile,
    FundRequest,
    RequestStatus,
)
from partners.program.models import Tier
from portal import access, audit, uploads
from portal.db import db, get_or_404
from portal.extensions import talisman
from portal.identity.forms import ConfirmForm
from portal.identity.models import Organization
from portal.navigation import NavItem
from portal.uploads import MAX_FILES, max_bytes, sent_files
from portal.web import attempt, choices, form_status, paginate

bp = Blueprint("funds", __name__, url_prefix="/funds")
# The colour of each status's badge (portal.badges).
REQUEST_COLOURS = {"submitted": "info", "approved": "success", "rejected": "danger"}
CLAIM_COLOURS = {**REQUEST_COLOURS, "paid": "primary"}
NAVIGATION = [
    NavItem("funds.index", _l("Funds"), "funds.view", ("vendor", "partner"), 35, "channel"),
]


def _quarter_arg() -> tuple[int, int]:
    """``?quarter=2026-Q4``; the current quarter for anything else."""
    raw = request.args.get("quarter", "")
    year, _sep, quarter = raw.partition("-Q")
    if year.isdigit() and quarter in ("1", "2", "3", "4") and 2000 <= int(year) <= 2100:
        return int(year), int(quarter)
    return services.current_quarter()


def _next(year: int, quarter: int, step: int = 1) -> tuple[int, int]:
    n = year * 4 + quarter - 1 + step
    return n // 4, n % 4 + 1


def _quarter_choices(year: int, quarter: int) -> list:
    around = [_next(year, quarter, step) for step in range(-1, 4)]
    return choices((f"{y}-Q{q}", f"{y} Q{q}") for y, q in around)


def _standing(partner: Organization, year: int, quarter: int) -> dict:
    """A partner's quarter: its budget, or the tier's default while it has none."""
    budget = services.find_budget(partner.id, year, quarter)
    amount = budget.amount if budget else services.tier_default(partner)
    reserved = budget.reserved if budget else services.ZERO
    return {
        "partner": partner,
        "label": f"{year} Q{quarter}",
        "key": f"{year}-Q{quarter}",
        "amount": amount,
        "reserved": reserved,
        "balance": amount - reserved,
        "own": budget is not None,
        "claimed": queries.claimed_totals(budget.id if budget else None),
    }


@bp.get("/")
@login_required
@access.require("funds.view")
def index():
    year, quarter = _quarter_arg()
    context = _list_context(year, quarter, queries.request_filters(request.args)["status"])
    if g.principal.is_vendor_staff:
        context |= _vendor_context(year, quarter)
    else:
        partner = get_or_404(Organization, g.principal.org_id)
        context["quarters"] = [
            _standing(partner, *q) for q in ((year, quarter), _next(year, quarter))
        ]
    return render_template("partners/funds/index.html", **context)


def _list_context(year: int, quarter: int, status: str) -> dict:
    return {
        "page": paginate(queries.requests(status)),
        "status": status,
        "statuses": queries.REQUEST_STATUSES,
        "currency": services.CURRENCY,
        "quarter_key": f"{year}-Q{quarter}",
        "previous_key": "{}-Q{}".format(*_next(year, quarter, -1)),
        "next_key": "{}-Q{}".format(*_next(year, quarter)),
    }


def _vendor_context(year: int, quarter: int, forms: dict | None = None) -> dict:
    partners = queries.partners()
    budgets = {b.org_id: b for b in queries.budgets(year, quarter)}
    defaults = dict(db.session.execute(select(Tier.code, Tier.mdf_quarterly_budget)).all())
    rows = []
    for p in partners:
        budget = budgets.get(p.id)
        amount = budget.amount if budget else (defaults.get(p.tier) or services.ZERO)
        reserved = budget.reserved if budget else services.ZERO
        rows.append((p, budget, amount, reserved, amount - reserved))
    budget_form = BudgetForm(formdata=None, quarter=f"{year}-Q{quarter}")
    tier_form = TierDefaultForm(formdata=None)
    forms = {"budget": budget_form, "tier": tier_form, **(forms or {})}
    forms["budget"].org_id.choices = choices((p.id, p.name) for p in partners)
    forms["budget"].quarter.choices = _quarter_choices(*services.current_quarter())
    tiers = list(db.session.scalars(select(Tier).order_by(Tier.rank)))
    forms["tier"].tier.choices = choices((t.code, t.name) for t in tiers)
    return {
        "rows": rows,
        "tiers": tiers,
        "waiting": queries.waiting_counts(),
        "forms": forms,
    }


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
@access.require("funds.request")
def new_request():
    partner = get_or_404(Organization, g.principal.org_id)
    form = RequestForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            record = services.request_funds(
                partner,
                activity=form.activity.data,
                description=form.description.data,
                amount=form.amount.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                actor=g.principal,
            )
        if done:
            flash(_("Your request is sent to the channel team."), "success")
            return redirect(url_for("funds.request_detail", fund_request_id=record.id))
    year, quarter = services.current_quarter()
    return render_template(
        "partners/funds/request_form.html",
        form=form,
        standing=_standing(partner, year, quarter),
        currency=services.CURRENCY,
    ), form_status(form)


@bp.get("/requests/<int:fund_request_id>")
@login_required
@access.require("funds.view")
def request_detail(fund_request_id: int):
    return _detail(get_or_404(FundRequest, fund_request_id))


def _detail(record: FundRequest, forms: dict | None = None, status: int = 200):
    blank = {
        "reject": ReasonForm(formdata=None),
        "claim": ClaimForm(formdata=None, amount=record.amount),
        "reject_claim": ReasonForm(formdata=None),
        "pay": PayForm(formdata=None),
    }
    claims = queries.claims_of(record)
    open_claim = next((c for c in claims if c.status != ClaimStatus.rejected), None)
    return render_template(
        "partners/funds/request.html",
        record=record,
        claims=claims,
        may_claim=(
            record.status == RequestStatus.approved
            and open_claim is None
            and record.org_id == g.principal.org_id
            and g.principal.can("funds.request")
        ),
        standing=_standing(record.partner, *record.quarter),
        forms={**blank, **(forms or {})},
        confirm=ConfirmForm(),
        currency=services.CURRENCY,
        max_files=MAX_FILES,
        max_mb=max_bytes() / 1024 / 1024,
        events=audit.history_for(record),
    ), status


@bp.post("/requests/<int:fund_request_id>/<any(approve, reject):decision>")
@login_required
@access.require("funds.manage")
def decide_request(fund_request_id: int, decision: str):
    record = get_or_404(FundRequest, fund_request_id)
    form = ConfirmForm() if decision == "approve" else ReasonForm()
    if not form.validate_on_submit():
        return _detail(record, {"reject": form} if decision == "reject" else None, 422)
    with attempt(form) as done:
        if decision == "approve":
            services.approve_request(record, actor=g.principal)
        else:
            services.reject_request(record, reason=form.reason.data, actor=g.principal)
    if not done:
        if decision == "approve":
            flash(done.error.message, "danger")
        return _detail(record, {"reject": form} if decision == "reject" else None, 422)
    flash(
        _("The request is %(state)s.", state=audit.status_label(record.status, "fund_request")),
        "success",
    )
    return redirect(url_for("funds.request_detail", fund_request_id=record.id))


@bp.post("/requests/<int:fund_request_id>/claim")
@login_required
@access.require("funds.request")
def claim(fund_request_id: int):
    record = get_or_404(FundRequest, fund_request_id)
    form = ClaimForm()
    if not form.validate_on_submit():
        return _detail(record, {"claim": form}, 422)
    with attempt(form) as done:
        services.claim_funds(
            record,
            amount=form.amount.data,
            description=form.description.data,
            files=sent_files(),
            actor=g.principal,
        )
    if not done:
        return _detail(record, {"claim": form}, 422)
    flash(_("Your claim is sent to the channel team."), "success")
    return redirect(url_for("funds.request_detail", fund_request_id=record.id))


@bp.post("/claims/<int:fund_claim_id>/<any(approve, reject, pay):decision>")
@login_required
@access.require("funds.manage")
def decide_claim(fund_claim_id: int, decision: str):
    found = get_or_404(FundClaim, fund_claim_id)
    form = {"approve": ConfirmForm, "reject": ReasonForm, "pay": PayForm}[decision]()
    key = {"reject": "reject_claim", "pay": "pay"}.get(decision)
    if not form.validate_on_submit():
        return _detail(found.request, {key: form} if key else None, 422)
    with attempt(form) as done:
        if decision == "approve":
            services.approve_claim(found, actor=g.principal)
        elif decision == "reject":
            services.reject_claim(found, reason=form.reason.data, actor=g.principal)
        else:
            services.pay_claim(found, reference=form.reference.data, actor=g.principal)
    if not done:
        if key is None:
            flash(done.error.message, "danger")
        return _detail(found.request, {key: form} if key else None, 422)
    flash(
        _("The claim is %(state)s.", state=audit.status_label(found.status, "fund_claim")),
        "success",
    )
    return redirect(url_for("funds.request_detail", fund_request_id=found.request_id))


@bp.get("/files/<int:fund_file_id>")
# The site-wide policy is written after the view, so the download's own goes through Talisman.
@talisman(content_security_policy=uploads.DOWNLOAD_POLICY)
@login_required
@access.require("funds.view")
def claim_file(fund_file_id: int):
    """A download, never shown inline: the browser must not render what a person uploaded."""
    stored = get_or_404(FundClaimFile, fund_file_id)
    return uploads.download(stored.content, stored.filename)


@bp.post("/budgets")
@login_required
@access.require("funds.manage")
def set_budget():
    year, quarter = _quarter_arg()
    form = BudgetForm()
    partners = queries.partners()
    form.org_id.choices = choices((p.id, p.name) for p in partners)
    form.quarter.choices = _quarter_choices(*services.current_quarter())
    if form.validate_on_submit():
        partner = get_or_404(Organization, form.org_id.data)
        chosen_year, _sep, chosen_quarter = form.quarter.data.partition("-Q")
        with attempt(form) as done:
            services.set_budget(
                partner,
                year=int(chosen_year),
                quarter=int(chosen_quarter),
                amount=form.amount.data,
                actor=g.principal,
            )
        if done:
            flash(_("The budget of %(partner)s is set.", partner=partner.name), "success")
            return redirect(url_for("funds.index", quarter=form.quarter.data))
    return _vendor_page(year, quarter, {"budget": form})


@bp.post("/tiers")
@login_required
@access.require("funds.manage")
def set_tier_default():
    year, quarter = _quarter_arg()
    form = TierDefaultForm()
    form.tier.choices = choices((t.code, t.name) for t in db.session.scalars(select(Tier)))
    if form.validate_on_submit():
        tier = db.session.scalar(select(Tier).where(Tier.code == form.tier.data))
        with attempt(form) as done:
            services.set_tier_default(tier, amount=form.amount.data, actor=g.principal)
        if done:
            flash(_("The tier's funds per quarter are set."), "success")
            return redirect(url_for("funds.index"))
    return _vendor_page(year, quarter, {"tier": form})


def _vendor_page(year: int, quarter: int, forms: dict):
    """The channel team's page again, with a form sent back and its errors."""
    context = _list_context(year, quarter, "") | _vendor_context(year, quarter, forms)
    return render_template("partners/funds/index.html", **context), 422
