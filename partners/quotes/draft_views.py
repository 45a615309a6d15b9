"""Building a draft quote and sending it: lines, discount approval, sending, a new revision,
and discarding a draft revision. Routes in ``routes``, added to ``partners.quotes.views.bp``."""

from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from partners.quotes import services
from partners.quotes.forms import DraftActionForm, LineForm, RemoveLineForm
from partners.quotes.models import Quote
from partners.quotes.views import render_detail
from portal import access
from portal.concurrency import EditConflict
from portal.db import get_or_404
from portal.identity.forms import ConfirmForm
from portal.routes import Routes
from portal.web import attempt

routes = Routes()

STALE_PAGE = _l(
    "Someone else changed this quote since your page showed it, so nothing was done. "
    "Here it is as it is now: check it and try again."
)


def _flash_conflict(done: attempt) -> None:
    """``attempt`` leaves an EditConflict to the page; these buttons have no page of their own,
    so it is said on the quote's page they return to (reloaded: it shows the change)."""
    if isinstance(done.error, EditConflict):
        flash(str(STALE_PAGE), "danger")


@routes.post("/<int:quote_id>/lines")
@login_required
@access.require("quotes.manage")
def add_line(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    form = LineForm()
    if not form.validate_on_submit():
        return render_detail(quote, {"line": form}, 422)
    with attempt(form) as done:
        services.add_line(
            quote,
            sku=form.sku.data,
            quantity=form.quantity.data,
            discount_percent=form.discount_percent.data,
            tax_rate_percent=form.tax_rate_percent.data,
            seen=form.snapshot.data or "",
            actor=g.principal,
        )
    if not done:
        if isinstance(done.error, EditConflict):  # the page shows the quote as it is now
            form.form_errors.append(str(STALE_PAGE))
            return render_detail(quote, {"line": form}, 409)
        return render_detail(quote, {"line": form}, 422)
    return redirect(url_for("quotes.detail", quote_id=quote.id) + "#lines")


@routes.post("/<int:quote_id>/remove-line")
@login_required
@access.require("quotes.manage")
def remove_line(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    form = RemoveLineForm()
    if form.validate_on_submit():
        with attempt() as done:
            services.remove_line(
                quote, form.line_id.data, seen=form.snapshot.data or "", actor=g.principal
            )
        if done:
            flash(_("The line is removed."), "success")
        _flash_conflict(done)
    return redirect(url_for("quotes.detail", quote_id=quote.id) + "#lines")


@routes.post("/<int:quote_id>/approve-discounts")
@login_required
@access.require("quotes.approve_discount")
def approve_discounts(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    form = DraftActionForm()
    if form.validate_on_submit():
        with attempt() as done:
            count = services.approve_discounts(
                quote, seen=form.snapshot.data or "", actor=g.principal
            )
        if done:
            flash(_("%(n)d discounts approved.", n=count), "success")
        _flash_conflict(done)
    return redirect(url_for("quotes.detail", quote_id=quote.id))


@routes.post("/<int:quote_id>/send")
@login_required
@access.require("quotes.manage")
def send(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    form = DraftActionForm()
    if form.validate_on_submit():
        with attempt() as done:
            services.send_quote(quote, seen=form.snapshot.data or "", actor=g.principal)
        if done:
            flash(
                _("%(label)s is sent to %(org)s.", label=quote.label, org=quote.recipient.name),
                "success",
            )
        _flash_conflict(done)
    return redirect(url_for("quotes.detail", quote_id=quote.id))


@routes.post("/<int:quote_id>/revise")
@login_required
@access.require("quotes.manage")
def revise(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            new = services.revise_quote(quote, actor=g.principal)
        if done:
            flash(
                _(
                    "Version %(n)d is a draft; version %(m)d stays with the recipient until "
                    "version %(n)d is sent.",
                    n=new.revision,
                    m=quote.revision,
                ),
                "success",
            )
            return redirect(url_for("quotes.detail", quote_id=new.id))
    return redirect(url_for("quotes.detail", quote_id=quote.id))


@routes.post("/<int:quote_id>/discard")
@login_required
@access.require("quotes.manage")
def discard(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    if ConfirmForm().validate_on_submit():
        revision = quote.revision
        with attempt() as done:
            previous = services.discard_revision(quote, actor=g.principal)
        if done:
            flash(_("The draft of version %(n)d is discarded.", n=revision), "success")
            target = previous.id if previous is not None else None
            return redirect(
                url_for("quotes.detail", quote_id=target) if target else url_for("quotes.index")
            )
    return redirect(url_for("quotes.detail", quote_id=quote_id))
