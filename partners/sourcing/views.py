"""Pages of sourcing. Vendor staff: the RFQs, a new one, an RFQ with its offers (accept,
decline, close). Suppliers: the requests addressed to them and the page where they answer one.
``bp`` is the blueprint."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from partners.sourcing import queries, services
from partners.sourcing.forms import DecisionForm, OfferForm, RfqForm
from partners.sourcing.models import OfferStatus, Rfq, RfqStatus, SupplierOffer
from portal import access, audit, uploads
from portal.clock import utcnow
from portal.db import get_or_404
from portal.extensions import talisman
from portal.identity.forms import ConfirmForm
from portal.navigation import NavItem
from portal.web import attempt, form_status, paginate

bp = Blueprint("sourcing", __name__, url_prefix="/sourcing")
# The colour of each status of an offer's badge (portal.badges).
OFFER_COLOURS = {
    "requested": "secondary",
    "submitted": "info",
    "accepted": "success",
    "declined": "danger",
    "lapsed": "dark",
}
NAVIGATION = [
    NavItem(
        "sourcing.index", _l("Requests for quotation"), "sourcing.manage", ("vendor",), 35, "sales"
    ),
    NavItem(
        "sourcing.offers",
        _l("Requests for quotation"),
        "sourcing.respond",
        ("partner",),
        35,
        "sales",
    ),
]


@bp.get("/")
@login_required
@access.require("sourcing.manage")
def index():
    page = paginate(queries.rfqs())
    return render_template(
        "partners/sourcing/index.html",
        page=page,
        counts=queries.offer_counts([r.id for r in page.items]),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("sourcing.manage")
def new():
    form = RfqForm()
    form.supplier_ids.choices = queries.supplier_choices()
    if request.method == "GET":
        form.respond_by.data = utcnow().date() + timedelta(days=14)
    if form.validate_on_submit():
        with attempt(form) as done:
            rfq = services.create_rfq(
                title=form.title.data,
                needs=form.needs.data,
                respond_by=form.respond_by.data,
                supplier_ids=form.supplier_ids.data,
                actor=g.principal,
            )
        if done:
            flash(_("%(number)s is sent to the suppliers.", number=rfq.number), "success")
            return redirect(url_for("sourcing.detail", rfq_id=rfq.id))
    return render_template("partners/sourcing/new.html", form=form), form_status(form)


@bp.get("/<int:rfq_id>")
@login_required
@access.require("sourcing.manage")
def detail(rfq_id: int):
    rfq = get_or_404(Rfq, rfq_id)
    return render_template(
        "partners/sourcing/detail.html",
        rfq=rfq,
        offers=queries.offers_of(rfq),
        decision=DecisionForm(formdata=None),
        confirm=ConfirmForm(),
        events=audit.history_for(rfq),
    )


@bp.post("/<int:rfq_id>/close")
@login_required
@access.require("sourcing.manage")
def close(rfq_id: int):
    rfq = get_or_404(Rfq, rfq_id)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            lapsed = services.close_rfq(rfq, actor=g.principal)
        if done:
            flash(
                _(
                    "%(number)s is closed; %(n)d supplier(s) that had not answered are told.",
                    number=rfq.number,
                    n=lapsed,
                ),
                "success",
            )
    return redirect(url_for("sourcing.detail", rfq_id=rfq.id))


@bp.post("/offers/<int:offer_id>/<any(accept, decline):decision>")
@login_required
@access.require("sourcing.manage")
def decide(offer_id: int, decision: str):
    offer = get_or_404(SupplierOffer, offer_id)
    form = DecisionForm()
    if form.validate_on_submit():
        with attempt() as done:
            services.decide_offer(
                offer, accept=decision == "accept", reason=form.reason.data, actor=g.principal
            )
        if done:
            flash(
                _(
                    "The offer of %(supplier)s is %(state)s; the supplier is told.",
                    supplier=offer.supplier.name,
                    state=offer.status_label.lower(),
                ),
                "success",
            )
    return redirect(url_for("sourcing.detail", rfq_id=offer.rfq_id, _anchor=f"offer-{offer.id}"))


# The supplier's side.


@bp.get("/offers")
@login_required
@access.require("sourcing.respond")
def offers():
    return render_template("partners/sourcing/offers.html", page=paginate(queries.my_offers()))


@bp.route("/offers/<int:offer_id>", methods=["GET", "POST"])
@login_required
@access.require("sourcing.respond")
def offer(offer_id: int):
    offer = get_or_404(SupplierOffer, offer_id)
    form = OfferForm()
    if form.validate_on_submit():
        pdf = uploads.sent_file(form.pdf.name)
        with attempt(form) as done:
            services.submit_offer(
                offer,
                currency=form.currency.data,
                note=form.note.data,
                lines=[
                    services.OfferLine(row.item.data, row.quantity.data, row.unit_price.data)
                    for row in form.lines
                ],
                pdf=pdf,
                actor=g.principal,
            )
        if done:
            flash(_("Your offer on %(number)s is sent.", number=offer.rfq.number), "success")
            return redirect(url_for("sourcing.offer", offer_id=offer.id))
    return render_template(
        "partners/sourcing/offer.html",
        offer=offer,
        rfq=offer.rfq,
        form=form,
        may_answer=offer.status == OfferStatus.requested
        and offer.rfq.status == RfqStatus.open
        and utcnow().date() <= offer.rfq.respond_by,
    ), form_status(form)


@bp.get("/offers/<int:offer_id>/document")
@talisman(content_security_policy=uploads.DOWNLOAD_POLICY)
@login_required
@access.require("home.view")
def document(offer_id: int):
    """The offer's PDF, for whoever sees the offer (the wall: the supplier that sent it, and
    vendor staff); a download, never shown inline."""
    offer = get_or_404(SupplierOffer, offer_id)
    if offer.pdf_name is None:
        abort(404)
    return uploads.download(offer.pdf, offer.pdf_name)
