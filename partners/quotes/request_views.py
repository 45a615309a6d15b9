"""Partners' quote requests: a partner asks for a quote on a registered deal; vendor staff
see the open requests and decline one with a reason. Routes in ``routes``, added to
``partners.quotes.views.bp``."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required

from partners.deals.models import DealRegistration
from partners.quotes import queries, services
from partners.quotes.forms import CloseRequestForm, RequestForm
from partners.quotes.models import QuoteRequest
from partners.quotes.views import cursor_args
from portal import access
from portal.db import get_or_404
from portal.keyset import InvalidCursor
from portal.routes import Routes
from portal.web import attempt

routes = Routes()


@routes.get("/requests")
@login_required
@access.require("quotes.manage")
def requests():
    try:
        page = queries.request_page(**cursor_args())
    except InvalidCursor:
        abort(422)
    rows = page.items
    deals = queries.deals_by_id([r.deal_id for r in rows])
    return render_template(
        "partners/quotes/requests.html",
        page=page,
        rows=rows,
        deals=deals,
        close=CloseRequestForm(formdata=None),
    )


@routes.post("/requests/<int:request_id>/close")
@login_required
@access.require("quotes.manage")
def close_request(request_id: int):
    quote_request = get_or_404(QuoteRequest, request_id)
    form = CloseRequestForm()
    if not form.validate_on_submit():
        flash(_("Say why the request is declined."), "danger")
        return redirect(url_for("quotes.requests"))
    with attempt() as done:
        services.close_request(quote_request, reason=form.reason.data, actor=g.principal)
    if done:
        flash(_("The request is declined; the partner is told why."), "success")
    return redirect(url_for("quotes.requests"))


@routes.post("/request/<int:deal_id>")
@login_required
@access.require("quotes.request")
def request_quote(deal_id: int):
    deal = get_or_404(DealRegistration, deal_id)
    form = RequestForm()
    if form.validate_on_submit():
        with attempt() as done:
            services.request_quote(deal, message=form.message.data, actor=g.principal)
        if done:
            flash(_("Your quote request is with the vendor's sales team."), "success")
    return redirect(url_for("deals.detail", deal_id=deal.id))
