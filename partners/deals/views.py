"""Pages of deal registration: the partner's list, registration and detail; the channel
manager's review queue with conflicts side by side; the vendor's direct deals."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from partners.deals import queries, services
from partners.deals.forms import (
    ApproveForm,
    CloseForm,
    DealForm,
    DeclineExtensionForm,
    DirectDealForm,
    ExtendForm,
    ExtensionRequestForm,
    ProgrammeForm,
    RejectForm,
    RequestInfoForm,
    SettleForm,
)
from partners.deals.models import DEAL_STATUSES, DealRegistration
from portal import access, audit
from portal.concurrency import EditConflict, snapshot
from portal.db import get_or_404
from portal.identity.forms import ConfirmForm
from portal.identity.models import Organization
from portal.keyset import InvalidCursor
from portal.navigation import NavItem
from portal.web import attempt, form_status, paginate

bp = Blueprint("deals", __name__, url_prefix="/deals")
# The colour of each status's badge (portal.badges).
STATUS_COLOURS = {
    "draft": "secondary",
    "distributor_review": "info",
    "submitted": "info",
    "info_requested": "warning",
    "approved": "success",
    "rejected": "danger",
    "won": "success",
    "lost": "dark",
    "expired": "secondary",
}
NAVIGATION = [
    NavItem(
        "deals.index", _l("Deal registrations"), "deals.view", ("vendor", "partner"), 20, "channel"
    ),
    NavItem("deals.review", _l("Registration review"), "deals.review", ("vendor",), 21, "channel"),
    NavItem("deals.direct", _l("Direct deals"), "direct_deals.manage", ("vendor",), 22, "channel"),
    NavItem(
        "deals.first_review",
        _l("Resellers' registrations"),
        "deals.first_review",
        ("partner",),
        21,
        "channel",
    ),
]

DECISION_FORMS = {
    "approve": ApproveForm,
    "reject": RejectForm,
    "request-info": RequestInfoForm,
    "extend": ExtendForm,
    "decline-extension": DeclineExtensionForm,
    "close": CloseForm,
    "extension-request": ExtensionRequestForm,
    "settle": SettleForm,
    "first-reject": RejectForm,
}


def _cursor_args() -> dict:
    return {"after": request.args.get("after"), "before": request.args.get("before")}


@bp.get("/")
@login_required
@access.require("deals.view")
def index():
    filters = queries.registration_filters(request.args)
    try:
        page = queries.registration_page(**filters, **_cursor_args())
    except InvalidCursor:
        abort(422)
    args = {k: v for k, v in request.args.items() if k not in ("after", "before") and v}
    return render_template(
        "partners/deals/index.html",
        page=page,
        args=args,
        status=filters["status"],
        q=filters["search"] or "",
        statuses=DEAL_STATUSES,
        conflict_review=queries.under_conflict_review(page.items),
    )


@bp.get("/review")
@login_required
@access.require("deals.review")
def review():
    try:
        page = queries.review_page(**_cursor_args())
    except InvalidCursor:
        abort(422)
    return render_template(
        "partners/deals/review.html",
        page=page,
        extension_requests=queries.extension_requests() if not page.has_prev else [],
        decline=DeclineExtensionForm(formdata=None),
        programme=ProgrammeForm(
            formdata=None,
            distributor_first_approval=services.programme().distributor_first_approval,
        ),
    )


@bp.post("/programme")
@login_required
@access.require("deals.review")
def programme():
    """The registration programme's setting: the distributor's first approval."""
    form = ProgrammeForm()
    if form.validate_on_submit():
        with attempt() as done:
            services.set_distributor_first_approval(
                form.distributor_first_approval.data, actor=g.principal
            )
        if done:
            flash(
                _("Resellers of a distributor now submit to it first.")
                if form.distributor_first_approval.data
                else _("Registrations now come straight to the vendor."),
                "success",
            )
    return redirect(url_for("deals.review"))


@bp.get("/first-review")
@login_required
@access.require("deals.first_review")
def first_review():
    """A distributor's admins: its resellers' registrations waiting for its first approval."""
    return render_template(
        "partners/deals/first_review.html", deals=queries.awaiting_first_review()
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("deals.register")
def new():
    partner = get_or_404(Organization, g.principal.org_id)
    form = DealForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            deal = services.register_deal(
                partner,
                form.fields_dict(),
                submit=request.form.get("action") == "submit",
                actor=g.principal,
            )
        if done:
            flash(
                _("Deal %(number)s is submitted and under review.", number=deal.number)
                if deal.status == "submitted"
                else _("Deal %(number)s is saved as a draft.", number=deal.number),
                "success",
            )
            return redirect(url_for("deals.detail", deal_id=deal.id))
    return render_template("partners/deals/form.html", form=form, deal=None), form_status(form)


@bp.get("/<int:deal_id>")
@login_required
@access.require("deals.view")
def detail(deal_id: int):
    return _detail(get_or_404(DealRegistration, deal_id))


def _detail(deal: DealRegistration, forms: dict | None = None, status: int = 200):
    blank = {name: form(formdata=None) for name, form in DECISION_FORMS.items()}
    if deal.extension_pending:  # granting offers what the partner asked for
        blank["extend"] = ExtendForm(formdata=None, days=deal.extension_requested_days)
    forms = {**blank, **(forms or {})}
    conflicts = queries.conflicts_of(deal) if g.principal.is_vendor_staff else []
    unsettled = {c.id for c in queries.unsettled_conflicts(deal)} if conflicts else set()
    return render_template(
        "partners/deals/detail.html",
        deal=deal,
        forms=forms,
        conflicts=[(c, other, services.sides(c), c.id in unsettled) for c, other in conflicts],
        unsettled=len(unsettled),
        conflict_review=bool(queries.under_conflict_review([deal])),
        confirm=ConfirmForm(),
        events=audit.history_for(deal),
    ), status


@bp.route("/<int:deal_id>/edit", methods=["GET", "POST"])
@login_required
@access.require("deals.register")
def edit(deal_id: int):
    deal = get_or_404(DealRegistration, deal_id)
    form = DealForm(obj=deal)
    conflict = None
    if request.method == "GET":
        form.products.data = "\n".join(deal.products)
        form.snapshot.data = snapshot(deal, services.EDITABLE_FIELDS)
    elif form.validate_on_submit():
        with attempt(form) as done:
            services.update_deal(
                deal, form.fields_dict(), seen=form.snapshot.data, actor=g.principal
            )
        if done:
            flash(_("Deal %(number)s is saved.", number=deal.number), "success")
            return redirect(url_for("deals.detail", deal_id=deal.id))
        if isinstance(done.error, EditConflict):  # nothing saved: show what changed, keep input
            conflict = done.error
            form.snapshot.data = snapshot(deal, services.EDITABLE_FIELDS)
    status = 409 if conflict else form_status(form)
    return render_template(
        "partners/deals/form.html", form=form, deal=deal, conflict=conflict
    ), status


@bp.post("/<int:deal_id>/submit")
@login_required
@access.require("deals.register")
def submit(deal_id: int):
    deal = get_or_404(DealRegistration, deal_id)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            services.submit_deal(deal, actor=g.principal)
        if done:
            flash(
                _("Deal %(number)s is submitted and under review.", number=deal.number), "success"
            )
    return redirect(url_for("deals.detail", deal_id=deal.id))


@bp.post(
    "/<int:deal_id>/<any(approve, reject, 'request-info', extend, 'decline-extension'):decision>"
)
@login_required
@access.require("deals.review")
def decide(deal_id: int, decision: str):
    deal = get_or_404(DealRegistration, deal_id)
    form = DECISION_FORMS[decision]()
    if not form.validate_on_submit():
        return _detail(deal, {decision: form}, 422)
    with attempt(form) as done:
        if decision == "approve":
            services.approve_deal(
                deal, protection_days=form.protection_days.data, actor=g.principal
            )
        elif decision == "reject":
            services.reject_deal(deal, reason=form.reason.data, actor=g.principal)
        elif decision == "request-info":
            services.request_information(deal, message=form.message.data, actor=g.principal)
        elif decision == "decline-extension":
            services.decline_extension(deal, reason=form.reason.data, actor=g.principal)
        else:
            services.extend_protection(deal, days=form.days.data, actor=g.principal)
    if not done:
        return _detail(deal, {decision: form}, 422)
    flash(_("Deal %(number)s: %(state)s.", number=deal.number, state=_(deal.status)), "success")
    return redirect(
        url_for("deals.review")
        if decision not in ("extend", "decline-extension") or request.form.get("back") == "review"
        else url_for("deals.detail", deal_id=deal.id)
    )


@bp.post("/<int:deal_id>/settle")
@login_required
@access.require("deals.review")
def settle(deal_id: int):
    """Settle one possible conflict of the registration (the form names which)."""
    deal = get_or_404(DealRegistration, deal_id)
    form = SettleForm()
    if not form.validate_on_submit():
        return _detail(deal, {"settle": form}, 422)
    with attempt(form) as done:
        services.settle_conflict(
            deal,
            form.conflict_id.data,
            winner=form.winner.data,
            reason=form.reason.data or "",
            actor=g.principal,
        )
    if not done:
        return _detail(deal, {"settle": form}, 422)
    flash(_("The conflict is settled."), "success")
    return redirect(url_for("deals.detail", deal_id=deal.id))


@bp.post("/<int:deal_id>/pass-on")
@login_required
@access.require("deals.view")  # then the record (404), then the service's rule (403)
def pass_on(deal_id: int):
    deal = get_or_404(DealRegistration, deal_id)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            services.pass_to_vendor(deal, actor=g.principal)
        if done:
            flash(
                _("Deal %(number)s is sent on to the vendor's review.", number=deal.number),
                "success",
            )
            return redirect(url_for("deals.first_review"))
    return redirect(url_for("deals.detail", deal_id=deal.id))


@bp.post("/<int:deal_id>/first-reject")
@login_required
@access.require("deals.view")  # then the record (404), then the service's rule (403)
def first_reject(deal_id: int):
    deal = get_or_404(DealRegistration, deal_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _detail(deal, {"first-reject": form}, 422)
    with attempt(form) as done:
        services.reject_first_review(deal, reason=form.reason.data, actor=g.principal)
    if not done:
        return _detail(deal, {"first-reject": form}, 422)
    flash(_("Deal %(number)s is rejected.", number=deal.number), "success")
    return redirect(url_for("deals.first_review"))


@bp.post("/<int:deal_id>/extension-request")
@login_required
@access.require("deals.register")
def request_extension(deal_id: int):
    deal = get_or_404(DealRegistration, deal_id)
    form = ExtensionRequestForm()
    if not form.validate_on_submit():
        return _detail(deal, {"extension-request": form}, 422)
    with attempt(form) as done:
        services.request_extension(
            deal, days=form.days.data, reason=form.reason.data, actor=g.principal
        )
    if not done:
        return _detail(deal, {"extension-request": form}, 422)
    flash(_("Your extension request is sent to the channel team."), "success")
    return redirect(url_for("deals.detail", deal_id=deal.id))


@bp.post("/<int:deal_id>/close")
@login_required
@access.require("deals.close")
def close(deal_id: int):
    deal = get_or_404(DealRegistration, deal_id)
    form = CloseForm()
    if not form.validate_on_submit():
        return _detail(deal, {"close": form}, 422)
    with attempt(form) as done:
        services.close_deal(deal, outcome=form.outcome.data, actor=g.principal)
    if not done:
        return _detail(deal, {"close": form}, 422)
    flash(
        _("Deal %(number)s is recorded as %(state)s.", number=deal.number, state=_(deal.status)),
        "success",
    )
    return redirect(url_for("deals.detail", deal_id=deal.id))


@bp.get("/direct")
@login_required
@access.require("direct_deals.manage")
def direct():
    return render_template("partners/deals/direct.html", page=paginate(queries.direct_deals()))


@bp.route("/direct/new", methods=["GET", "POST"])
@login_required
@access.require("direct_deals.manage")
def new_direct():
    form = DirectDealForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.create_direct_deal(
                {
                    "customer_name": form.customer_name.data,
                    "customer_domain": form.customer_domain.data,
                    "value": form.value.data,
                    "currency": form.currency.data,
                },
                actor=g.principal,
            )
        if done:
            flash(
                _("The direct deal is recorded; registrations are checked against it."), "success"
            )
            return redirect(url_for("deals.direct"))
    return render_template("partners/deals/direct_form.html", form=form), form_status(form)
