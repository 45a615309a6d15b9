"""The recipient's answer to a sent quote: accepted (typed name, consent, the PDF's hash) or
declined. Routes in ``routes``, added to ``partners.quotes.views.bp``."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from partners.quotes import services
from partners.quotes.forms import AcceptForm, DeclineForm
from partners.quotes.models import Quote
from partners.quotes.views import render_detail
from portal import access
from portal.db import get_or_404
from portal.routes import Routes
from portal.web import attempt

routes = Routes()


def _answer(quote_id: int, form_class, answer):
    quote = get_or_404(Quote, quote_id)
    form = form_class()
    name = "accept" if form_class is AcceptForm else "decline"
    if not form.validate_on_submit():
        return render_detail(quote, {name: form}, 422)
    with attempt(form) as done:
        answer(quote, form)
    if not done:
        return render_detail(quote, {name: form}, 422)
    flash(_("%(label)s: %(state)s.", label=quote.label, state=_(quote.status)), "success")
    return redirect(url_for("quotes.certificate", quote_id=quote.id))


@routes.post("/<int:quote_id>/accept")
@login_required
@access.require("quotes.accept")
def accept(quote_id: int):
    return _answer(
        quote_id,
        AcceptForm,
        lambda quote, form: services.accept_quote(
            quote,
            full_name=form.full_name.data,
            consent=form.consent.data,
            pdf_sha256=form.pdf_sha256.data,
            user_agent=request.headers.get("User-Agent", ""),
            actor=g.principal,
        ),
    )


@routes.post("/<int:quote_id>/decline")
@login_required
@access.require("quotes.accept")
def decline(quote_id: int):
    return _answer(
        quote_id,
        DeclineForm,
        lambda quote, form: services.decline_quote(
            quote,
            reason=form.reason.data,
            user_agent=request.headers.get("User-Agent", ""),
            actor=g.principal,
        ),
    )
