"""Pages of quotes: the list, a new draft, a quote's page (the recipient's view), its fields,
the PDF and the acceptance certificate.

``bp`` is the blueprint. Each module of quote pages declares its ``routes`` table, and
``partners.quotes.init_app`` adds them to ``bp``: this one's, ``draft_views`` (building and
sending a draft), ``answer_views`` (the recipient accepts or declines), ``request_views``
(partners' requests)."""

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

from partners.quotes import queries, services
from partners.quotes.forms import (
    AcceptForm,
    DeclineForm,
    DraftActionForm,
    LineForm,
    NewQuoteForm,
    QuoteFieldsForm,
    RemoveLineForm,
)
from partners.quotes.models import (
    QUOTE_STATUSES,
    Quote,
    QuoteRequest,
    QuoteStatus,
)
from portal import access, audit
from portal.clock import utcnow
from portal.concurrency import EditConflict, snapshot
from portal.db import db, get_or_404
from portal.engine import writes_on_get
from portal.identity.forms import ConfirmForm
from portal.identity.models import Organization
from portal.keyset import InvalidCursor
from portal.navigation import NavItem
from portal.routes import Routes
from portal.web import attempt, form_status

bp = Blueprint("quotes", __name__, url_prefix="/quotes")
# The colour of each status's badge (portal.badges).
STATUS_COLOURS = {
    "draft": "secondary",
    "sent": "info",
    "viewed": "primary",
    "accepted": "success",
    "declined": "danger",
    "expired": "dark",
    "superseded": "warning",
}
routes = Routes()
NAVIGATION = [
    NavItem("quotes.index", _l("Quotes"), "quotes.view", order=30, area="sales"),
    NavItem("quotes.requests", _l("Quote requests"), "quotes.manage", ("vendor",), 31, "sales"),
]


@routes.get("/")
@login_required
@access.require("quotes.view")
def index():
    filters = queries.quote_filters(request.args)
    try:
        page = queries.quote_page(**filters, **cursor_args())
    except InvalidCursor:
        abort(422)
    return render_template(
        "partners/quotes/index.html",
        page=page,
        args={k: v for k, v in request.args.items() if k not in ("after", "before") and v},
        status=filters["status"],
        q=filters["search"] or "",
        statuses=QUOTE_STATUSES,
    )


def cursor_args() -> dict:
    """The keyset cursor of a list page, from the query string."""
    return {"after": request.args.get("after"), "before": request.args.get("before")}


def _recipient_choices() -> list[tuple[int, str]]:
    return [(o.id, f"{o.name} ({o.kind_label})") for o in queries.recipients()]


@routes.route("/new", methods=["GET", "POST"])
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
            deal = queries.deal(quote_request.deal_id)
            form.deal_number.data = deal.number if deal else ""
            form.currency.data = deal.currency if deal else None
            form.title.data = deal.customer_name if deal else ""
    if form.validate_on_submit():
        recipient = get_or_404(Organization, form.recipient.data)
        deal = None
        number = (form.deal_number.data or "").strip().upper()
        if number:
            deal = queries.deal_by_number(number)
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
                    through_distributor=form.through_distributor.data,
                    actor=g.principal,
                )
            if done:
                flash(_("Draft %(label)s created: add its lines.", label=quote.label), "success")
                return redirect(url_for("quotes.detail", quote_id=quote.id))
    return render_template(
        "partners/quotes/new.html", form=form, quote_request=quote_request
    ), form_status(form)


def render_detail(quote: Quote, forms: dict | None = None, status: int = 200):
    """The quote's page, with ``forms`` (name -> form) replacing the empty ones."""
    forms = {
        "line": LineForm(formdata=None),
        "accept": AcceptForm(formdata=None, pdf_sha256=quote.pdf_sha256),
        "decline": DeclineForm(formdata=None),
        **(forms or {}),
    }
    # Every action on a draft carries the draft as this page shows it (optimistic locking).
    seen = snapshot(quote, services.SNAPSHOT_FIELDS) if quote.status == QuoteStatus.draft else ""
    forms["line"].snapshot.data = seen
    versions = queries.versions_of(quote)
    current = next((v for v in reversed(versions) if v.status != QuoteStatus.draft), None)
    if g.principal.is_vendor_staff:
        current = versions[-1]
    return render_template(
        "partners/quotes/detail.html",
        quote=quote,
        forms=forms,
        versions=versions,
        current=current,
        violations=services.rule_violations(quote) if quote.status == QuoteStatus.draft else [],
        confirm=ConfirmForm(),
        draft_action=DraftActionForm(formdata=None, snapshot=seen),
        remove=RemoveLineForm(formdata=None, snapshot=seen),
        events=audit.history_for(quote),
        via_name=queries.via_name(quote),
    ), status


@routes.get("/<int:quote_id>")
@writes_on_get
@login_required
@access.require("quotes.view")
def detail(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    # The recipient's first opening marks the quote viewed: the one write this page makes, and
    # only the first time (the issue asks for it; a second opening changes nothing).
    if services.mark_viewed(quote, actor=g.principal):
        db.session.commit()
    return render_detail(quote)


@routes.route("/<int:quote_id>/edit", methods=["GET", "POST"])
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


@routes.get("/<int:quote_id>/pdf")
@writes_on_get
@login_required
@access.require("quotes.view")
def pdf(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    if quote.status == QuoteStatus.draft:
        data, name = services.preview_pdf(quote), f"{quote.number}-v{quote.revision}-DRAFT.pdf"
    else:
        data, name = services.stored_pdf(quote), f"{quote.number}-v{quote.revision}.pdf"
        if services.mark_viewed(quote, actor=g.principal):  # opening the PDF is opening it
            db.session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    if quote.pdf_sha256 and quote.status != QuoteStatus.draft:
        response.headers["X-Content-SHA256"] = quote.pdf_sha256
    return response


@routes.get("/<int:quote_id>/certificate")
@login_required
@access.require("quotes.view")
def certificate(quote_id: int):
    quote = get_or_404(Quote, quote_id)
    return render_template("partners/quotes/certificate.html", quote=quote)
