"""Pages of quotes: the vendor's list and builder, the recipient's view with acceptance, the PDF,
the acceptance certificate, and the queue of partners' quote requests."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select

from partners.deals.models import DealRegistration
from partners.quotes import queries, seed, services  # noqa: F401  (seed registers)
from partners.quotes.forms import (
    AcceptForm,
    CloseRequestForm,
    DeclineForm,
    DraftActionForm,
    LineForm,
    NewQuoteForm,
    QuoteFieldsForm,
    RemoveLineForm,
    RequestForm,
)
from partners.quotes.models import QUOTE_STATUSES, Quote, QuoteRequest
from portal import access, audit, navigation
from portal.clock import utcnow
from portal.concurrency import EditConflict, snapshot
from portal.db import db, get_or_404, writes_on_get
from portal.identity.forms import ConfirmForm
from portal.identity.models import Organization
from portal.keyset import InvalidCursor
from portal.navigation import NavItem
from portal.web import attempt, form_status

bp = Blueprint("quotes", __name__, url_prefix="/quotes")
navigation.add(
    NavItem("quotes.index", _l("Quotes"), "quotes.view", ("vendor", "partner", "customer"), 30)
)


@bp.get("/")
@login_required
@access.require("quotes.view")
def index():
    status = request.args.get("status") or None
    search = request.args.get("q", "").strip() or None
    try:
        page = queries.quote_page(status, search, **_cursor_args())
    except InvalidCursor:
        abort(422)
    return render_template(
        "partners/quotes/index.html",
        page=page,
        args={k: v for k, v in request.args.items() if k not in ("after", "before") and v},
        status=status,
        q=search or "",
        statuses=QUOTE_STATUSES,
    )


def _cursor_args() -> dict:
    return {"after": request.args.get("after"), "before": request.args.get("before")}


def _recipient_choices() -> list[tuple[int, str]]:
    orgs = db.session.scalars(
        select(Organization)
        .where(Organization.kind != access.VENDOR, Organization.active.is_(True))
        .order_by(Organization.name)
    )
    return [(o.id, f"{o.name} ({o.kind_label})") for o in orgs]


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("quotes.manage")
def new():
    form = NewQuoteForm()
    form.recipient.choices = _recipient_choices()
    if request.method == "GET":
        form.valid_until.data = utcnow().date() + timedelta(days=30)
    quote_request = None
    request_id = request.args.get("request", type=int) or (
        int(form.request_id.data) if (form.request_id.data or "").isdigit() else None
    )
    if request_id:
        quote_request = get_or_404(QuoteRequest, request_id)
        if request.method == "GET":
            form.request_id.data = str(quote_request.id)
            form.recipient.data = quote_request.org_id
            deal = db.session.get(DealRegistration, quote_request.deal_id)
            form.deal_number.data = deal.number if deal else ""
            form.currency.data = deal.currency if deal else None
            form.title.data = deal.customer_name if deal else ""
    if form.validate_on_submit():
        recipient = get_or_404(Organization, form.recipient.data)
        deal = None
        number = (form.deal_number.data or "").strip().upper()
        if number:
            deal = db.session.scalar(
                select(DealRegistration).where(DealRegistration.number == number)
            )
            if deal is None:
                form.deal_number.errors = [_("No registration has this number.")]
        if not form.deal_number.errors:
            with attempt(form) as done:
                quote = services.create_quote(
                    recipient,
                    form.fields_dict(),
                    currency=form.currency.data,
                    deal=deal,
                    request=quote_request,
                    actor=g.principal,
                )
            if done:
                flash(_("Draft %(label)s created: add its lines.", label=quote.label), "success")
                return redirect(url_for("quotes.detail", quote_id=quote.id))
    return render_template(
        "partners/quotes/new.html", form=form, quote_request=quote_request
    ), form_status(form)


def _detail(quote: Quote, forms: dict | None = None, status: int = 200):
    forms = {
        "line": LineForm(formdata=None),
        "accept": AcceptForm(formdata=None, pdf_sha256=quote.pdf_sha256),
        "decline": DeclineForm(formdata=None),
        **(forms or {}),
    }
    # Every action on a draft carries the draft as this page shows it (optimistic locking).
    seen = snapshot(quote, services.SNAPSHOT_FIELDS) if quote.status == "draft" else ""
    forms["line"].snapshot.data = seen
    versions = queries.versions_of(quote)
    current = next((v for v in reversed(versions) if v.status != "draft"), None)
    if g.principal.is_vendor_staff:
        current = versions[-1]
    return render_template(
        "partners/quotes/detail.html",
        quote=quote,
        forms=forms,
        versions=versions,
        current=current,
        violations=services.rule_violations(quote) if quote.status == "draft" else [],
        confirm=ConfirmForm(),
        draft_action=DraftActionForm(formdata=None, snapshot=seen),
        remove=RemoveLineForm(formdata=None, snapshot=seen),
        events=audit.history_for(quote),
    ), status


@bp.get("/<int:quote_id>")
@writes_on_get
@login_required
@access.require("quotes.view")
def detail(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    # The recipient's first opening marks the quote viewed: the one write this page makes, and
    # only the first time (the issue asks for it; a second opening changes nothing).
    if services.mark_viewed(quote, actor=g.principal):
        db.session.commit()
    return _detail(quote)


@bp.route("/<int:quote_id>/edit", methods=["GET", "POST"])
@login_required
@access.require("quotes.manage")
def edit(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    form = QuoteFieldsForm(obj=quote)
    conflict = None
    if request.method == "GET":
        form.snapshot.data = snapshot(quote, services.EDITABLE_FIELDS)
    elif form.validate_on_submit():
        with attempt(form) as done:
            services.update_quote(
                quote, form.fields_dict(), seen=form.snapshot.data, actor=g.principal
            )
        if done:
            flash(_("%(label)s is saved.", label=quote.label), "success")
            return redirect(url_for("quotes.detail", quote_id=quote.id))
        if isinstance(done.error, EditConflict):  # nothing saved: show what changed, keep input
            conflict = done.error
            form.snapshot.data = snapshot(quote, services.EDITABLE_FIELDS)
    status = 409 if conflict else form_status(form)
    return render_template(
        "partners/quotes/edit.html", form=form, quote=quote, conflict=conflict
    ), status


STALE_PAGE = _l(
    "Someone else changed this quote since your page showed it, so nothing was done. "
    "Here it is as it is now: check it and try again."
)


def _flash_conflict(done: attempt) -> None:
    """``attempt`` leaves an EditConflict to the page; these buttons have no page of their own,
    so it is said on the quote's page they return to (reloaded: it shows the change)."""
    if isinstance(done.error, EditConflict):
        flash(str(STALE_PAGE), "danger")


@bp.post("/<int:quote_id>/lines")
@login_required
@access.require("quotes.manage")
def add_line(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    form = LineForm()
    if not form.validate_on_submit():
        return _detail(quote, {"line": form}, 422)
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
            return _detail(quote, {"line": form}, 409)
        return _detail(quote, {"line": form}, 422)
    return redirect(url_for("quotes.detail", quote_id=quote.id) + "#lines")


@bp.post("/<int:quote_id>/remove-line")
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


@bp.post("/<int:quote_id>/approve-discounts")
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


@bp.post("/<int:quote_id>/send")
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


@bp.post("/<int:quote_id>/revise")
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


@bp.post("/<int:quote_id>/discard")
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


@bp.get("/<int:quote_id>/pdf")
@writes_on_get
@login_required
@access.require("quotes.view")
def pdf(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    if quote.status == "draft":
        data, name = services.preview_pdf(quote), f"{quote.number}-v{quote.revision}-DRAFT.pdf"
    else:
        data, name = services.stored_pdf(quote), f"{quote.number}-v{quote.revision}.pdf"
        if services.mark_viewed(quote, actor=g.principal):  # opening the PDF is opening it
            db.session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    if quote.pdf_sha256 and quote.status != "draft":
        response.headers["X-Content-SHA256"] = quote.pdf_sha256
    return response


def _answer(quote_id: int, form_class, answer):
    quote = get_or_404(Quote, quote_id)
    form = form_class()
    name = "accept" if form_class is AcceptForm else "decline"
    if not form.validate_on_submit():
        return _detail(quote, {name: form}, 422)
    with attempt(form) as done:
        answer(quote, form)
    if not done:
        return _detail(quote, {name: form}, 422)
    flash(_("%(label)s: %(state)s.", label=quote.label, state=_(quote.status)), "success")
    return redirect(url_for("quotes.certificate", quote_id=quote.id))


@bp.post("/<int:quote_id>/accept")
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
            ip=request.remote_addr,
            user_agent=request.headers.get("User-Agent", ""),
            actor=g.principal,
        ),
    )


@bp.post("/<int:quote_id>/decline")
@login_required
@access.require("quotes.accept")
def decline(quote_id: int):
    return _answer(
        quote_id,
        DeclineForm,
        lambda quote, form: services.decline_quote(
            quote,
            reason=form.reason.data,
            ip=request.remote_addr,
            user_agent=request.headers.get("User-Agent", ""),
            actor=g.principal,
        ),
    )


@bp.get("/<int:quote_id>/certificate")
@login_required
@access.require("quotes.view")
def certificate(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    return render_template("partners/quotes/certificate.html", quote=quote)


@bp.get("/requests")
@login_required
@access.require("quotes.manage")
def requests():
    try:
        page = queries.request_page(**_cursor_args())
    except InvalidCursor:
        abort(422)
    rows = page.items
    deals = {
        d.id: d
        for d in db.session.scalars(
            select(DealRegistration).where(DealRegistration.id.in_([r.deal_id for r in rows]))
        )
    }
    return render_template(
        "partners/quotes/requests.html",
        page=page,
        rows=rows,
        deals=deals,
        close=CloseRequestForm(formdata=None),
    )


@bp.post("/requests/<int:request_id>/close")
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


@bp.post("/request/<int:deal_id>")
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
