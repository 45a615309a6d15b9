"""Pages of cases: the list everyone sees (by the visibility rule), the agents' queue, opening
a case, its page with replies (and, for agents, internal notes), and the organisation's sharing
choice."""

from __future__ import annotations

from flask import (
    Blueprint,
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

from portal import access, audit, i18n, uploads
from portal.concurrency import EditConflict, snapshot
from portal.db import get_or_404
from portal.extensions import talisman
from portal.identity.models import Organization
from portal.keyset import InvalidCursor
from portal.navigation import NavItem
from portal.routes import Routes
from portal.web import attempt, form_status
from selfservice.cases import queries, services
from selfservice.cases.forms import (
    PRIORITY_LABELS,
    CaseForm,
    EditCaseForm,
    MergeForm,
    ReplyForm,
    SharingForm,
    SolveForm,
    StatusForm,
    WatcherForm,
    product_choices,
    product_fields,
    product_value,
)
from selfservice.cases.models import STATUSES, Case, CaseAttachment
from selfservice.kb import services as kb_services

# The blueprint of every case page: ``init_app`` adds this module's routes and those of
# ``handling_views`` and ``admin_views`` to it.
bp = Blueprint("cases", __name__, url_prefix="/cases")
routes = Routes()
# The colour of each status's badge (portal.badges).
STATUS_COLOURS = {
    "new": "info",
    "open": "primary",
    "pending": "warning",
    "on_hold": "secondary",
    "solved": "success",
    "closed": "dark",
}


# What the case pages show for a stored priority, translated once per language (a row each).
PRIORITY_TEXTS = i18n.Texts(**PRIORITY_LABELS)


@bp.context_processor
def _labels() -> dict:
    return {"priority_labels": PRIORITY_TEXTS()}


NAVIGATION = [
    NavItem("cases.index", _l("Cases"), "cases.view", order=30, area="support"),
    NavItem("cases.queue", _l("Case queue"), "cases.work", ("vendor",), 31, "support"),
]

QUEUE_VIEWS = {
    "all": _l("All open"),
    "mine": _l("Mine"),
    "unassigned": _l("Unassigned"),
    "breached": _l("Breached"),
}


def _page(stmt, sort: str):
    try:
        return queries.page(
            stmt, sort, after=request.args.get("after"), before=request.args.get("before")
        )
    except InvalidCursor:
        abort(422)


def _list_args() -> dict:
    """The list's filters, kept in its page links."""
    return {k: v for k, v in request.args.items() if k not in ("after", "before") and v}


@routes.get("/")
@login_required
@access.require("cases.view")
def index():
    filters = queries.case_filters(request.args, g.principal)
    return render_template(
        "selfservice/cases/index.html",
        page=_page(queries.cases(**filters), "recent"),
        args=_list_args(),
        status=filters["status"],
        q=filters["search"] or "",
        statuses=STATUSES,
        labels=services.STATUS_LABELS,
    )


@routes.get("/queue")
@login_required
@access.require("cases.work")
def queue():
    view = request.args.get("view", "all")
    view = view if view in QUEUE_VIEWS else "all"
    return render_template(
        "selfservice/cases/queue.html",
        page=_page(queries.queue(view, g.principal.user_id), "queue"),
        args=_list_args(),
        view=view,
        views=QUEUE_VIEWS,
    )


def _case_form() -> CaseForm:
    form = CaseForm()
    form.product.choices = product_choices(queries.products_to_choose())
    if g.principal.is_vendor_staff:
        form.org_id.choices = queries.organisations_to_open_for()
    return form


@routes.route("/new", methods=["GET", "POST"])
@login_required
@access.require("cases.open")
def new():
    form = _case_form()
    if request.method == "GET":
        form.subject.data = request.args.get("subject", "")[:200] or None
        form.read_article.data = request.args.get("read_article", "")[:12]
    if form.validate_on_submit():
        org_id = form.org_id.data if g.principal.is_vendor_staff else g.principal.org_id
        org = get_or_404(Organization, org_id or 0)
        requester = None
        if g.principal.is_vendor_staff and (form.requester_email.data or "").strip():
            requester = queries.member_by_email(org.id, form.requester_email.data)
            if requester is None:
                form.requester_email.errors = [_("No one of that organisation has this email.")]
        if not form.requester_email.errors:
            with attempt(form) as done:
                case = services.open_case(
                    org,
                    {
                        "subject": form.subject.data,
                        "description": form.description.data,
                        "priority": form.priority.data,
                        "product": form.product_details.data,
                        **product_fields(form.product.data),
                    },
                    requester=requester,
                    actor=g.principal,
                    files=uploads.sent_files(),
                )
                _note_article_read(form.read_article.data, case)
            if done:
                flash(
                    _("Case %(number)s is open. We will reply here.", number=case.number), "success"
                )
                return redirect(url_for("cases.detail", case_id=case.id))
    return render_template(
        "selfservice/cases/new.html", form=form, suggest_url=url_for("kb.suggest")
    ), form_status(form)


def _note_article_read(article_id: str | None, case: Case) -> None:
    """A case raised after reading a suggested article counts against that article."""
    if article_id and article_id.isdigit():
        kb_services.record_case_raised(int(article_id), case, actor=g.principal)


@routes.get("/<int:case_id>")
@login_required
@access.require("cases.view")
def detail(case_id: int):
    return render_detail(get_or_404(Case, case_id))


def render_detail(
    case: Case, forms: dict | None = None, status: int = 200, conflict=None, conflict_on="edit"
):
    """The case page, with ``forms`` (name -> form) replacing the empty ones."""
    agent = services.is_agent(g.principal)
    edit = EditCaseForm(formdata=None, obj=case)
    if agent:
        _edit_choices(edit, case)
        edit.product.data = product_value(case.product_id, case.product_line)
        edit.assignee_id.data = case.assignee_id or 0
        edit.team_id.data = case.team_id or 0
        edit.snapshot.data = snapshot(case, services.EDITABLE_FIELDS)
    forms = {
        "reply": ReplyForm(formdata=None),
        "status": StatusForm(
            formdata=None,
            status=case.status,
            status_snapshot=snapshot(case, services.STATUS_FIELDS),
        ),
        "edit": edit,
        "merge": MergeForm(formdata=None),
        "watcher": WatcherForm(formdata=None),
        "solve": SolveForm(formdata=None),
        **(forms or {}),
    }
    participant = agent or (g.principal.can("cases.open") and case.org_id == g.principal.org_id)
    return render_template(
        "selfservice/cases/detail.html",
        case=case,
        comments=queries.comments_of(case),
        attachments=queries.attachments_by_comment(case),
        watchers=queries.watchers_of(case),
        clocks=services.clocks(case) if case.sla_policy_id else {},
        forms=forms,
        agent=agent,
        participant=participant,
        merged_into=queries.merged_into_number(case),
        conflict=conflict,
        conflict_on=conflict_on,
        events=audit.history_for(case) if agent else [],
    ), status


@routes.post("/<int:case_id>/reply")
@login_required
@access.require("cases.view")
def reply(case_id: int):
    case = get_or_404(Case, case_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return render_detail(case, {"reply": form}, 422)
    with attempt(form) as done:
        services.add_comment(
            case,
            form.body.data,
            internal=bool(form.internal.data),
            status=form.status.data or None,
            actor=g.principal,
            files=uploads.sent_files(),
        )
    if not done:
        return render_detail(case, {"reply": form}, 422)
    flash(_("Your note is saved.") if form.internal.data else _("Your reply is sent."), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


@routes.get("/attachments/<int:attachment_id>")
# The site-wide policy is written after the view, so the download's own goes through Talisman.
@talisman(content_security_policy=uploads.DOWNLOAD_POLICY)
@login_required
@access.require("cases.view")
def attachment(attachment_id: int):
    """A download, never shown inline: the browser must not render what a person uploaded."""
    att = get_or_404(CaseAttachment, attachment_id)
    return uploads.download(att.content, att.filename)


@routes.post("/<int:case_id>/status")
@login_required
@access.require("cases.view")
def change_status(case_id: int):
    case = get_or_404(Case, case_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return render_detail(case, {"status": form}, 422)
    with attempt(form) as done:
        services.change_status(
            case, form.status.data, seen=form.status_snapshot.data, actor=g.principal
        )
    if not done and isinstance(done.error, EditConflict):  # nothing changed: say what did
        form.status_snapshot.data = snapshot(case, services.STATUS_FIELDS)
        return render_detail(case, {"status": form}, 409, conflict=done.error, conflict_on="status")
    if not done:
        return render_detail(case, {"status": form}, 422)
    flash(
        _(
            "%(number)s is %(status)s.",
            number=case.number,
            status=services.STATUS_LABELS[case.status],
        ),
        "success",
    )
    return redirect(url_for("cases.detail", case_id=case.id))


@routes.post("/<int:case_id>/edit")
@login_required
@access.require("cases.work")
def edit(case_id: int):
    case = get_or_404(Case, case_id)
    form = EditCaseForm()
    _edit_choices(form, case)
    if not form.validate_on_submit():
        return render_detail(case, {"edit": form}, 422)
    with attempt(form) as done:
        services.update_case(
            case,
            {
                "priority": form.priority.data,
                **product_fields(form.product.data),
                "category": form.category.data,
                "assignee_id": form.assignee_id.data or None,
                "team_id": form.team_id.data or None,
            },
            seen=form.snapshot.data,
            actor=g.principal,
        )
    if done:
        flash(_("%(number)s is saved.", number=case.number), "success")
        return redirect(url_for("cases.detail", case_id=case.id))
    if isinstance(done.error, EditConflict):  # nothing saved: show what changed, keep the input
        form.snapshot.data = snapshot(case, services.EDITABLE_FIELDS)
        return render_detail(case, {"edit": form}, 409, conflict=done.error)
    return render_detail(case, {"edit": form}, 422)


def _edit_choices(form: EditCaseForm, case: Case) -> None:
    form.product.choices = product_choices(queries.products_to_choose(keep_id=case.product_id))
    form.assignee_id.choices = [(0, "—")] + [(u.id, u.name) for u in services.agents()]
    form.team_id.choices = [(0, "—")] + [(t.id, t.name) for t in services.teams()]


@routes.post("/<int:case_id>/assign-next")
@login_required
@access.require("cases.work")
def assign_next(case_id: int):
    case = get_or_404(Case, case_id)
    if SolveForm().validate_on_submit():
        with attempt() as done:
            agent = services.assign_round_robin(case, actor=g.principal)
        if done:
            flash(
                _("%(number)s is assigned to %(name)s.", number=case.number, name=agent.name),
                "success",
            )
    return redirect(url_for("cases.detail", case_id=case.id))


@routes.route("/settings", methods=["GET", "POST"])
@login_required
@access.require("cases.settings")
def settings():
    org = get_or_404(Organization, g.principal.org_id)
    form = SharingForm()
    if request.method == "GET":
        form.shared.data = services.is_shared(org.id)
    elif form.validate_on_submit():
        with attempt(form) as done:
            services.set_sharing(org, bool(form.shared.data), actor=g.principal)
        if done:
            flash(_("Saved."), "success")
            return redirect(url_for("cases.settings"))
    return render_template("selfservice/cases/settings.html", form=form), form_status(form)
