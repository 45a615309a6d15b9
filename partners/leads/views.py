"""Pages of leads: the list (the vendor's pipeline, or the leads offered to a partner), a lead's
page with its offers and the actions its viewer may take, creating, editing (optimistic locking)
and closing leads.

``bp`` is the blueprint; the other pages of leads are route tables in sibling modules that the
package's ``init_app`` adds to it: ``offer_views`` (offering, recalling, the partner's answer),
``import_views`` (CSV import) and ``shared_views`` (the leads partners share with the vendor).

Every route loads through the tenant wall first (a lead a partner may not see is a 404, also
after a recall), then calls one service; ``attempt`` commits once or rolls back and shows why.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from partners.leads import queries, services
from partners.leads.forms import (
    CloseForm,
    LeadFilterForm,
    LeadForm,
    OfferForm,
    PassDownForm,
    ReasonForm,
    RuleForm,
)
from partners.leads.models import OPEN_OFFER_STATUSES, Lead, LeadStatus
from portal import access
from portal.clock import utcnow
from portal.concurrency import EditConflict, snapshot
from portal.db import get_or_404
from portal.identity.forms import ConfirmForm
from portal.keyset import InvalidCursor
from portal.navigation import NavItem
from portal.segments import queries as segments
from portal.tenancy import Principal
from portal.web import attempt, choices, form_status

bp = Blueprint("leads", __name__, url_prefix="/leads")
# A reseller's time to answer what its distributor passes down, unless the distributor says.
PASS_DOWN_RESPONSE = timedelta(days=2)

NAVIGATION = [
    NavItem("leads.index", _l("Leads"), "leads.view", ("vendor", "partner"), 10, "channel"),
    NavItem(
        "leads.shared_index", _l("Shared leads"), "leads.view", ("vendor", "partner"), 11, "channel"
    ),
]


# The colour of each status's badge (portal.badges).
LEAD_COLOURS = {
    "new": "secondary",
    "offered": "info",
    "accepted": "primary",
    "won": "success",
    "lost": "dark",
}
OFFER_COLOURS = {
    "offered": "info",
    "accepted": "primary",
    "declined": "warning",
    "expired": "warning",
    "recalled": "secondary",
}
SHARED_LEAD_COLOURS = {"submitted": "info", "approved": "success", "rejected": "danger"}


def current_principal() -> Principal:
    """Who is asking."""
    return g.principal


def error_status(done: attempt) -> int:
    """The status code of a page shown again after a use case failed: the error's own (409 for
    a state that does not allow it), 422 for input that did not pass the form."""
    return done.error.status_code if done.error is not None else 422


def cursor_args() -> dict:
    """The keyset cursor of a list page, from the query string."""
    return {"after": request.args.get("after"), "before": request.args.get("before")}


# The list.


@bp.get("/")
@login_required
@access.require("leads.view")
def index():
    principal = current_principal()
    form = LeadFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("partners/leads/list.html", form=form, page=None), 422
    filters = queries.lead_filters(form)
    try:
        page = queries.lead_page(
            filters, partner_view=not principal.is_vendor_staff, **cursor_args()
        )
    except InvalidCursor:
        abort(422)
    args = {k: v for k, v in request.args.items() if k not in ("after", "before") and v}
    return render_template("partners/leads/list.html", form=form, page=page, args=args)


# One lead.


def render_detail(lead: Lead, status: int = 200, **forms):
    """The lead's page as its viewer sees it, with ``forms`` replacing the empty ones."""
    principal = current_principal()
    context: dict = {"lead": lead, "confirm": ConfirmForm()}
    if principal.is_vendor_staff:
        offers = queries.offers_of(lead.id)
        context.update(
            offers=offers,
            open_offer=next((o for o in offers if o.status in OPEN_OFFER_STATUSES), None),
            ranking=services.rank_partners(lead) if lead.status == LeadStatus.new else [],
            events=queries.lead_history(lead, [o.id for o in offers]),
            shared=queries.shared_lead_of(lead.id),
            offer_form=forms.get("offer_form") or build_offer_form(),
            rule_form=forms.get("rule_form") or build_rule_form(),
            close_form=forms.get("close_form") or CloseForm(),
        )
    else:
        offer = queries.open_offer(lead.id)
        context.update(
            offer=offer,
            decline_form=forms.get("decline_form") or ReasonForm(),
            close_form=forms.get("close_form") or CloseForm(),
            # A distributor's view of its resellers' offers of this lead: read-only.
            resellers_offers=queries.resellers_offers(lead.id),
        )
        if offer is not None and principal.can("leads.pass_down"):
            context.update(
                passed=queries.open_pass_down(offer.id),
                pass_down_form=forms.get("pass_down_form") or build_pass_down_form(),
            )
    return render_template("partners/leads/detail.html", **context), status


def build_offer_form(partners=None) -> OfferForm:
    """The form to offer a lead by hand, its choices the partners it may go to."""
    form = OfferForm()
    partners = queries.offerable_partners() if partners is None else partners
    form.partner_id.choices = choices(
        [(0, _("Choose a partner…"))]
        + [
            (p.id, f"{p.name} ({(p.tier or _('no tier')).capitalize()}, {p.kind_label})")
            for p in partners
        ]
    )
    return form


def build_pass_down_form() -> PassDownForm:
    """The form to pass a lead down, its choices the distributor's active resellers, its
    respond-by two days ahead to start with."""
    form = PassDownForm()
    form.reseller_id.choices = choices(
        [(0, _("Choose a reseller…"))]
        + [(r.id, r.name) for r in queries.resellers_of(current_principal().org_id)]
    )
    if form.respond_by.data is None and not form.is_submitted():
        start = utcnow().replace(minute=0, second=0, microsecond=0) + PASS_DOWN_RESPONSE
        form.respond_by.data = start.replace(tzinfo=None)
    return form


def build_rule_form() -> RuleForm:
    """The form to offer a lead by rule: every fitting partner, or a segment's."""
    form = RuleForm()
    form.segment_id.choices = choices(
        [("", _("Every partner that fits"))]
        + [(str(i), _("Segment: %(name)s", name=n)) for i, n in segments.segment_choices()]
    )
    return form


@bp.get("/<int(max=2147483647):lead_id>")
@login_required
@access.require("leads.view")
def detail(lead_id: int):
    return render_detail(get_or_404(Lead, lead_id))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("leads.manage")
def new():
    form = LeadForm()
    if form.validate_on_submit():
        offer = None
        with attempt(form) as done:
            lead = services.create_lead(form.values(), actor=current_principal())
            if form.offer_now.data:
                offer = services.offer_by_rule(lead, actor=current_principal())
        if done:
            flash(_("Lead %(company)s created.", company=lead.company), "success")
            flash_rule_outcome(form.offer_now.data, offer)
            return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_template("partners/leads/form.html", form=form, lead=None), form_status(form)


def flash_rule_outcome(asked: bool, offer) -> None:
    """Say where the rule offered a lead (if it was asked to), or that no partner was eligible."""
    if not asked:
        return
    if offer is None:
        flash(_("No partner is eligible for this lead now; it stays new."), "warning")
    else:
        flash(_("Offered to %(partner)s by rule.", partner=offer.partner.name), "success")


@bp.route("/<int(max=2147483647):lead_id>/edit", methods=["GET", "POST"])
@login_required
@access.require("leads.manage")
def edit(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    form = LeadForm(obj=lead)
    del form.offer_now
    conflict = None
    if not form.is_submitted():
        form.snapshot.data = snapshot(lead, services.EDITABLE_FIELDS)
    elif form.validate():
        with attempt(form) as done:
            changed = services.update_lead(
                lead, form.values(), seen=form.snapshot.data, actor=current_principal()
            )
        if done:
            flash(
                _("Lead %(company)s saved.", company=lead.company)
                if changed
                else _("Nothing changed."),
                "success",
            )
            return redirect(url_for("leads.detail", lead_id=lead.id))
        if isinstance(done.error, EditConflict):
            conflict = done.error
            # Nothing was saved; the next save is against what the lead is now.
            form.snapshot.data = snapshot(lead, services.EDITABLE_FIELDS)
            return render_template(
                "partners/leads/form.html", form=form, lead=lead, conflict=conflict
            ), 409
    return render_template(
        "partners/leads/form.html", form=form, lead=lead, conflict=conflict
    ), form_status(form)


@bp.post("/<int(max=2147483647):lead_id>/close")
@login_required
@access.require("leads.view")  # vendor staff who manage leads, or the partner that accepted it
def close(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    form = CloseForm()
    status = 422
    if form.validate_on_submit():
        with attempt() as done:
            services.close_lead(lead, form.outcome.data, actor=current_principal())
        if done:
            flash(
                _(
                    "%(company)s recorded as %(outcome)s.",
                    company=lead.company,
                    outcome=Lead.workflow.label(lead.status),
                ),
                "success",
            )
            return redirect(url_for("leads.detail", lead_id=lead.id))
        status = error_status(done)
    return render_detail(lead, status, close_form=form)
