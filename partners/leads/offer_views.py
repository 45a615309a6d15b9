"""Offering a lead (by hand or by rule) and recalling it, and the partner's answer (accept or
decline). Routes added to ``partners.leads.views.bp`` by the package's ``init_app``."""

from __future__ import annotations

from datetime import UTC

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import login_required

from partners.leads import queries, services
from partners.leads.forms import ReasonForm
from partners.leads.models import Lead
from partners.leads.views import (
    build_offer_form,
    build_pass_down_form,
    build_rule_form,
    current_principal,
    error_status,
    flash_rule_outcome,
    render_detail,
)
from portal import access
from portal.db import get_or_404
from portal.routes import Routes
from portal.web import attempt

routes = Routes()


@routes.post("/<int(max=2147483647):lead_id>/offer")
@login_required
@access.require("leads.manage")
def offer(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    partners = {p.id: p for p in queries.offerable_partners()}
    form = build_offer_form(list(partners.values()))
    status = 422
    if form.validate_on_submit() and form.partner_id.data in partners:
        partner = partners[form.partner_id.data]
        with attempt() as done:
            made = services.offer_lead(
                lead, partner, actor=current_principal(), note=form.note.data
            )
        if done:
            flash(_("Offered to %(partner)s.", partner=made.partner.name), "success")
            return redirect(url_for("leads.detail", lead_id=lead.id))
        status = error_status(done)
    elif not form.partner_id.errors:
        form.partner_id.errors = [_("Choose a partner.")]
    return render_detail(lead, status, offer_form=form)


@routes.post("/<int(max=2147483647):lead_id>/offer-by-rule")
@login_required
@access.require("leads.manage")
def offer_by_rule(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    form = build_rule_form()
    if not form.validate_on_submit():
        return render_detail(lead, 422, rule_form=form)
    segment_id = int(form.segment_id.data) if form.segment_id.data else None
    made = None
    with attempt(form) as done:
        made = services.offer_by_rule(lead, actor=current_principal(), segment_id=segment_id)
    if done:
        flash_rule_outcome(True, made)
        return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_detail(lead, error_status(done), rule_form=form)


@routes.post("/<int(max=2147483647):lead_id>/recall")
@login_required
@access.require("leads.manage")
def recall(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    with attempt() as done:
        recalled = services.recall_offer(lead, actor=current_principal())
    if done:
        flash(_("Recalled from %(partner)s.", partner=recalled.partner.name), "success")
        return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_detail(lead, error_status(done))


def _open_offer_or_404(lead: Lead):
    offer = queries.open_offer(lead.id)  # the wall: a partner sees only its own
    if offer is None:
        abort(404)
    return offer


@routes.post("/<int(max=2147483647):lead_id>/accept")
@login_required
@access.require("leads.respond")
def accept(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    offer = _open_offer_or_404(lead)
    with attempt() as done:
        services.accept_offer(offer, actor=current_principal())
    if done:
        flash(_("You accepted %(company)s. It is yours to work.", company=lead.company), "success")
        return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_detail(lead, error_status(done))


@routes.post("/<int(max=2147483647):lead_id>/decline")
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
            services.decline_offer(offer, form.reason.data, actor=current_principal())
        if done:
            flash(_("You declined %(company)s.", company=company), "success")
            return redirect(url_for("leads.index"))  # the lead is no longer this partner's
        status = error_status(done)
    return render_detail(lead, status, decline_form=form)


# Two tiers: the distributor passes the lead down to one of its resellers, or takes it back.
# The coarse check is the partner's (answering offers), then the record (404), then
# ``leads.pass_down`` (distributors only: 403), so a foreign lead answers 404 to every partner.


def _may_pass_down() -> None:
    """After the record (404): a partner that is no distributor is refused (403)."""
    if not current_principal().can("leads.pass_down"):
        abort(403)


@routes.post("/<int(max=2147483647):lead_id>/pass-down")
@login_required
@access.require("leads.respond")
def pass_down(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    offer = _open_offer_or_404(lead)
    _may_pass_down()
    form = build_pass_down_form()
    status = 422
    if form.validate_on_submit():
        resellers = {r.id: r for r in queries.resellers_of(offer.org_id)}
        respond_by = form.respond_by.data.replace(tzinfo=UTC)
        with attempt(form) as done:
            passed = services.pass_down(
                offer,
                resellers.get(form.reseller_id.data),
                respond_by,
                actor=current_principal(),
            )
        if done:
            flash(_("Passed down to %(name)s.", name=passed.partner.name), "success")
            return redirect(url_for("leads.detail", lead_id=lead.id))
        status = error_status(done)
    return render_detail(lead, status, pass_down_form=form)


@routes.post("/<int(max=2147483647):lead_id>/recall-pass-down")
@login_required
@access.require("leads.respond")
def recall_pass_down(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    offer = _open_offer_or_404(lead)
    _may_pass_down()
    with attempt() as done:
        recalled = services.recall_pass_down(offer, actor=current_principal())
    if done:
        flash(_("Taken back from %(name)s.", name=recalled.partner.name), "success")
        return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_detail(lead, error_status(done))
