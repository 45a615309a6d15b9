"""Leads partners share with the vendor: the list (a partner's own, or the vendor's review
queue), sharing one, its page, and the vendor's approval or rejection. Routes on
``partners.leads.views.bp``."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from partners.leads import queries, services
from partners.leads.forms import NoteForm, ReasonForm, SharedFilterForm, SharedLeadForm
from partners.leads.models import SHARED_LEAD_STATUSES, SharedLead, SharedLeadStatus
from partners.leads.views import current_principal, cursor_args, error_status
from portal import access
from portal.db import get_or_404
from portal.keyset import InvalidCursor
from portal.routes import Routes
from portal.web import attempt, form_status

routes = Routes()


@routes.get("/shared/")
@login_required
@access.require("leads.view")
def shared_index():
    principal = current_principal()
    status = request.args.get("status")
    if status is None and principal.is_vendor_staff:
        status = SharedLeadStatus.submitted.value  # the review queue, oldest first
    status = status or None
    if status is not None and status not in SHARED_LEAD_STATUSES:
        abort(422)
    form = SharedFilterForm(formdata=None, data={"status": status or ""})
    sort = "oldest" if principal.is_vendor_staff else "newest"
    try:
        page = queries.shared_page(status, sort, **cursor_args())
    except InvalidCursor:
        abort(422)
    return render_template(
        "partners/leads/shared_list.html",
        form=form,
        page=page,
        args={"status": status or ""},
    )


@routes.route("/shared/new", methods=["GET", "POST"])
@login_required
@access.require("leads.share")
def shared_new():
    form = SharedLeadForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            shared = services.submit_shared_lead(form.values(), actor=current_principal())
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
    people = queries.people_by_id(people_ids)  # a partner sees its own people only
    return render_template(
        "partners/leads/shared_detail.html",
        shared=shared,
        people=people,
        approve_form=forms.get("approve_form") or NoteForm(),
        reject_form=forms.get("reject_form") or ReasonForm(),
    ), status


@routes.get("/shared/<int(max=2147483647):shared_id>")
@login_required
@access.require("leads.view")
def shared_detail(shared_id: int):
    return _render_shared(get_or_404(SharedLead, shared_id))


@routes.post("/shared/<int(max=2147483647):shared_id>/approve")
@login_required
@access.require("leads.review")
def shared_approve(shared_id: int):
    shared = get_or_404(SharedLead, shared_id)
    form = NoteForm()
    status = 422
    if form.validate_on_submit():
        with attempt() as done:
            lead = services.approve_shared_lead(
                shared, actor=current_principal(), note=form.note.data
            )
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
        status = error_status(done)
    return _render_shared(shared, status, approve_form=form)


@routes.post("/shared/<int(max=2147483647):shared_id>/reject")
@login_required
@access.require("leads.review")
def shared_reject(shared_id: int):
    shared = get_or_404(SharedLead, shared_id)
    form = ReasonForm()
    status = 422
    if form.validate_on_submit():
        with attempt() as done:
            services.reject_shared_lead(shared, form.reason.data, actor=current_principal())
        if done:
            flash(
                _("%(company)s rejected; the partner is told why.", company=shared.company),
                "success",
            )
            return redirect(url_for("leads.shared_detail", shared_id=shared.id))
        status = error_status(done)
    return _render_shared(shared, status, reject_form=form)
