"""Pages of leads: the list (the vendor's pipeline, or the leads offered to a partner), a lead's
page with its offers and the actions its viewer may take, creating, editing (optimistic locking)
and importing leads, and the leads partners share with the vendor.

Every route loads through the tenant wall first (a lead a partner may not see is a 404, also
after a recall), then calls one service; ``attempt`` commits once or rolls back and shows why.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select

from partners.leads import api, csv_import, queries, seed, services  # noqa: F401 (api, seed register)
from partners.leads.forms import (
    STATUS_LABELS,
    CloseForm,
    ImportConfirmForm,
    ImportForm,
    LeadFilterForm,
    LeadForm,
    NoteForm,
    OfferForm,
    ReasonForm,
    SharedFilterForm,
    SharedLeadForm,
)
from partners.leads.models import SHARED_LEAD_STATUSES, Lead, SharedLead
from portal import access, csv_upload, navigation
from portal.concurrency import EditConflict, snapshot
from portal.db import db, get_or_404
from portal.errors import InvalidInput
from portal.identity.forms import ConfirmForm
from portal.identity.models import User
from portal.keyset import InvalidCursor
from portal.navigation import NavItem
from portal.tenancy import Principal
from portal.web import attempt, choices, form_status

bp = Blueprint("leads", __name__, url_prefix="/leads")
navigation.add(NavItem("leads.index", _l("Leads"), "leads.view", ("vendor", "partner"), 10))


@bp.context_processor
def _labels():
    return {"status_labels": STATUS_LABELS}


def _principal() -> Principal:
    return g.principal


def _status(done: attempt) -> int:
    """The status code of a page shown again after a use case failed: the error's own (409 for
    a state that does not allow it), 422 for input that did not pass the form."""
    return done.error.status_code if done.error is not None else 422


def _cursor_args() -> dict:
    return {"after": request.args.get("after"), "before": request.args.get("before")}


# The list.


@bp.get("/")
@login_required
@access.require("leads.view")
def index():
    principal = _principal()
    form = LeadFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("partners/leads/list.html", form=form, page=None), 422
    filters = queries.LeadFilters(
        status=form.status.data or None,
        country=form.country.data or None,
        product_line=form.product_line.data or None,
        q=form.q.data or None,
        sort=form.sort.data or "newest",
    )
    try:
        page = queries.lead_page(
            filters, partner_view=not principal.is_vendor_staff, **_cursor_args()
        )
    except InvalidCursor:
        abort(422)
    args = {k: v for k, v in request.args.items() if k not in ("after", "before") and v}
    return render_template("partners/leads/list.html", form=form, page=page, args=args)


# One lead.


def _render_detail(lead: Lead, status: int = 200, **forms):
    principal = _principal()
    context: dict = {"lead": lead, "confirm": ConfirmForm()}
    if principal.is_vendor_staff:
        offers = queries.offers_of(lead.id)
        context.update(
            offers=offers,
            open_offer=next((o for o in offers if o.status in ("offered", "accepted")), None),
            ranking=services.rank_partners(lead) if lead.status == "new" else [],
            events=queries.lead_history(lead, [o.id for o in offers]),
            shared=queries.shared_lead_of(lead.id),
            offer_form=forms.get("offer_form") or _offer_form(),
            close_form=forms.get("close_form") or CloseForm(),
        )
    else:
        context.update(
            offer=queries.open_offer(lead.id),
            decline_form=forms.get("decline_form") or ReasonForm(),
            close_form=forms.get("close_form") or CloseForm(),
        )
    return render_template("partners/leads/detail.html", **context), status


def _offer_form(partners=None) -> OfferForm:
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


@bp.get("/<int(max=2147483647):lead_id>")
@login_required
@access.require("leads.view")
def detail(lead_id: int):
    return _render_detail(get_or_404(Lead, lead_id))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("leads.manage")
def new():
    form = LeadForm()
    if form.validate_on_submit():
        offer = None
        with attempt(form) as done:
            lead = services.create_lead(form.values(), actor=_principal())
            if form.offer_now.data:
                offer = services.offer_by_rule(lead, actor=_principal())
        if done:
            flash(_("Lead %(company)s created.", company=lead.company), "success")
            _flash_rule_outcome(form.offer_now.data, offer)
            return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_template("partners/leads/form.html", form=form, lead=None), form_status(form)


def _flash_rule_outcome(asked: bool, offer) -> None:
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
                lead, form.values(), seen=form.snapshot.data, actor=_principal()
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


@bp.post("/<int(max=2147483647):lead_id>/offer")
@login_required
@access.require("leads.manage")
def offer(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    partners = {p.id: p for p in queries.offerable_partners()}
    form = _offer_form(list(partners.values()))
    status = 422
    if form.validate_on_submit() and form.partner_id.data in partners:
        partner = partners[form.partner_id.data]
        with attempt() as done:
            made = services.offer_lead(lead, partner, actor=_principal(), note=form.note.data)
        if done:
            flash(_("Offered to %(partner)s.", partner=made.partner.name), "success")
            return redirect(url_for("leads.detail", lead_id=lead.id))
        status = _status(done)
    elif not form.partner_id.errors:
        form.partner_id.errors = [_("Choose a partner.")]
    return _render_detail(lead, status, offer_form=form)


@bp.post("/<int(max=2147483647):lead_id>/offer-by-rule")
@login_required
@access.require("leads.manage")
def offer_by_rule(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    ConfirmForm().validate_on_submit()
    made = None
    with attempt() as done:
        made = services.offer_by_rule(lead, actor=_principal())
    if done:
        _flash_rule_outcome(True, made)
        return redirect(url_for("leads.detail", lead_id=lead.id))
    return _render_detail(lead, _status(done))


@bp.post("/<int(max=2147483647):lead_id>/recall")
@login_required
@access.require("leads.manage")
def recall(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    with attempt() as done:
        recalled = services.recall_offer(lead, actor=_principal())
    if done:
        flash(_("Recalled from %(partner)s.", partner=recalled.partner.name), "success")
        return redirect(url_for("leads.detail", lead_id=lead.id))
    return _render_detail(lead, _status(done))


def _open_offer_or_404(lead: Lead):
    offer = queries.open_offer(lead.id)  # the wall: a partner sees only its own
    if offer is None:
        abort(404)
    return offer


@bp.post("/<int(max=2147483647):lead_id>/accept")
@login_required
@access.require("leads.respond")
def accept(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    offer = _open_offer_or_404(lead)
    with attempt() as done:
        services.accept_offer(offer, actor=_principal())
    if done:
        flash(_("You accepted %(company)s. It is yours to work.", company=lead.company), "success")
        return redirect(url_for("leads.detail", lead_id=lead.id))
    return _render_detail(lead, _status(done))


@bp.post("/<int(max=2147483647):lead_id>/decline")
@login_required
@access.require("leads.respond")
def decline(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    offer = _open_offer_or_404(lead)
    form = ReasonForm()
    status = 422
    if form.validate_on_submit():
        company = lead.company
        with attempt() as done:
            services.decline_offer(offer, form.reason.data, actor=_principal())
        if done:
            flash(_("You declined %(company)s.", company=company), "success")
            return redirect(url_for("leads.index"))  # the lead is no longer this partner's
        status = _status(done)
    return _render_detail(lead, status, decline_form=form)


@bp.post("/<int(max=2147483647):lead_id>/close")
@login_required
@access.require("leads.view")  # vendor staff who manage leads, or the partner that accepted it
def close(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    form = CloseForm()
    status = 422
    if form.validate_on_submit():
        with attempt() as done:
            services.close_lead(lead, form.outcome.data, actor=_principal())
        if done:
            flash(
                _(
                    "%(company)s recorded as %(outcome)s.",
                    company=lead.company,
                    outcome=STATUS_LABELS[lead.status],
                ),
                "success",
            )
            return redirect(url_for("leads.detail", lead_id=lead.id))
        status = _status(done)
    return _render_detail(lead, status, close_form=form)


# Import.


@bp.route("/import", methods=["GET", "POST"])
@login_required
@access.require("leads.manage")
def import_file():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        filename = services.clean_text(upload.filename or "leads.csv")[:200]
        try:
            text = csv_upload.read_text(upload, csv_import.MAX_BYTES)
        except InvalidInput as error:
            form.file.errors.append(error.message)
        else:
            check = csv_import.check_csv(text, filename)
            source = form.source.data or "import"
            return _render_preview(check, text, source)
    return render_template("partners/leads/import.html", form=form), form_status(form)


def _render_preview(check: csv_import.ImportCheck, text: str, source: str):
    return render_template(
        "partners/leads/import_preview.html",
        check=check,
        source=source,
        sample=check.rows[:10],
        payload=csv_import.seal(text, check.filename, source) if check.ok else [],
        confirm=ImportConfirmForm(),
        form=ImportForm(source=source),
    ), (200 if check.ok else 422)


@bp.post("/import/confirm")
@login_required
@access.require("leads.manage")
def import_confirm():
    ImportConfirmForm().validate_on_submit()
    try:
        text, filename, source = csv_import.unseal(request.form.getlist("payload"))
    except InvalidInput as error:
        flash(error.message, "danger")
        return render_template("partners/leads/import.html", form=ImportForm()), 422
    check = csv_import.check_csv(text, filename)
    if not check.ok:  # something changed since the preview (a duplicate arrived): nothing saved
        return _render_preview(check, text, source)
    with attempt() as done:
        ids = csv_import.import_leads(check, actor=_principal(), source=source)
    if done:
        flash(
            _("Imported %(n)d leads from %(file)s.", n=len(ids), file=filename),
            "success",
        )
        return redirect(url_for("leads.index"))
    return _render_preview(check, text, source)


# Leads partners share.


@bp.get("/shared/")
@login_required
@access.require("leads.view")
def shared_index():
    principal = _principal()
    status = request.args.get("status")
    if status is None and principal.is_vendor_staff:
        status = "submitted"  # the review queue, oldest first
    status = status or None
    if status is not None and status not in SHARED_LEAD_STATUSES:
        abort(422)
    form = SharedFilterForm(formdata=None, data={"status": status or ""})
    sort = "oldest" if principal.is_vendor_staff else "newest"
    try:
        page = queries.shared_page(status, sort, **_cursor_args())
    except InvalidCursor:
        abort(422)
    return render_template(
        "partners/leads/shared_list.html",
        form=form,
        page=page,
        args={"status": status or ""},
    )


@bp.route("/shared/new", methods=["GET", "POST"])
@login_required
@access.require("leads.share")
def shared_new():
    form = SharedLeadForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            shared = services.submit_shared_lead(form.values(), actor=_principal())
        if done:
            flash(
                _(
                    "Thank you: %(company)s is shared with the vendor for review.",
                    company=shared.company,
                ),
                "success",
            )
            return redirect(url_for("leads.shared_detail", shared_id=shared.id))
    return render_template("partners/leads/shared_form.html", form=form), form_status(form)


def _render_shared(shared: SharedLead, status: int = 200, **forms):
    people_ids = [i for i in (shared.submitted_by_id, shared.decided_by_id) if i]
    people = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))
    }  # through the wall: a partner sees its own people only
    return render_template(
        "partners/leads/shared_detail.html",
        shared=shared,
        people=people,
        approve_form=forms.get("approve_form") or NoteForm(),
        reject_form=forms.get("reject_form") or ReasonForm(),
    ), status


@bp.get("/shared/<int(max=2147483647):shared_id>")
@login_required
@access.require("leads.view")
def shared_detail(shared_id: int):
    return _render_shared(get_or_404(SharedLead, shared_id))


@bp.post("/shared/<int(max=2147483647):shared_id>/approve")
@login_required
@access.require("leads.review")
def shared_approve(shared_id: int):
    shared = get_or_404(SharedLead, shared_id)
    form = NoteForm()
    status = 422
    if form.validate_on_submit():
        with attempt() as done:
            lead = services.approve_shared_lead(shared, actor=_principal(), note=form.note.data)
        if done:
            flash(
                _(
                    "%(company)s approved: it is lead #%(id)d, credited to %(partner)s.",
                    company=shared.company,
                    id=lead.id,
                    partner=shared.partner.name,
                ),
                "success",
            )
            return redirect(url_for("leads.detail", lead_id=lead.id))
        status = _status(done)
    return _render_shared(shared, status, approve_form=form)


@bp.post("/shared/<int(max=2147483647):shared_id>/reject")
@login_required
@access.require("leads.review")
def shared_reject(shared_id: int):
    shared = get_or_404(SharedLead, shared_id)
    form = ReasonForm()
    status = 422
    if form.validate_on_submit():
        with attempt() as done:
            services.reject_shared_lead(shared, form.reason.data, actor=_principal())
        if done:
            flash(
                _("%(company)s rejected; the partner is told why.", company=shared.company),
                "success",
            )
            return redirect(url_for("leads.shared_detail", shared_id=shared.id))
        status = _status(done)
    return _render_shared(shared, status, reject_form=form)
