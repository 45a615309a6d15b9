"""The ideas board: list with sorts and filters, proposing, an idea's page with votes, comments
and (for vendor staff) its status."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select

from feedback.ideas import queries, services
from feedback.ideas.forms import (
    CommentForm,
    IdeaEditForm,
    IdeaForm,
    LinkCaseForm,
    LinkIdeaForm,
    StatusForm,
)
from feedback.ideas.models import EDITABLE_FIELDS, OPEN_STATUSES, Idea, IdeaStatus
from portal import access, audit, events
from portal.concurrency import EditConflict, snapshot
from portal.db import db, get_or_404
from portal.errors import InvalidTransition
from portal.identity.forms import ConfirmForm
from portal.keyset import InvalidCursor
from portal.navigation import NavItem
from portal.product_lines import PRODUCT_LINES
from portal.web import attempt, form_status, safe_next_url

bp = Blueprint("ideas", __name__, url_prefix="/ideas")
# The colour of each status's badge (portal.badges).
STATUS_COLOURS = {
    "under_review": "secondary",
    "planned": "info",
    "in_progress": "primary",
    "done": "success",
    "declined": "danger",
    "duplicate": "light",
}
NAVIGATION = [NavItem("ideas.index", _l("Ideas"), "ideas.view", order=58, area="feedback")]

PER_PAGE = 25


@bp.get("/")
@login_required
@access.require("ideas.view")
def index():
    filters = queries.board_filters(request.args)
    sort, status, product = filters["sort"], filters["status"], filters["product"]
    try:
        page = queries.board(
            sort,
            status,
            product,
            after=request.args.get("after"),
            before=request.args.get("before"),
            with_authors=g.principal.is_vendor_staff,
        )
    except InvalidCursor:
        abort(422)
    return render_template(
        "feedback/ideas/index.html",
        page=page,
        args={k: v for k, v in request.args.items() if k not in ("after", "before") and v},
        sort=sort,
        status=status,
        product=product,
        statuses=services.STATUS_LABELS,
        products=PRODUCT_LINES,
        voted=queries.my_votes(g.principal.user_id, [idea.id for idea in page.items]),
        confirm=ConfirmForm(),
    )


@bp.get("/similar")
@login_required
@access.require("ideas.submit")
def similar():
    """JSON for the suggestions under the title of a new idea (static/feedback/similar-ideas.js):
    existing ideas like the title typed, to vote for instead of proposing a duplicate."""
    found = queries.similar_to(request.args.get("title", ""))
    return jsonify(
        [
            {
                "id": idea.id,
                "title": idea.title,
                "status": str(services.STATUS_LABELS[idea.status]),
                "votes": idea.vote_count,
                "url": url_for("ideas.detail", idea_id=idea.id),
            }
            for idea in (hit.record for hit in found)
        ]
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("ideas.submit")
def new():
    form = IdeaForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            idea = services.submit_idea(form.fields_dict(), actor=g.principal)
        if done:
            flash(_("Thank you! Your idea is on the board."), "success")
            return redirect(url_for("ideas.detail", idea_id=idea.id))
    return render_template("feedback/ideas/form.html", form=form), form_status(form)


@bp.get("/<int:idea_id>")
@login_required
@access.require("ideas.view")
def detail(idea_id: int):
    return _detail(get_or_404(Idea, idea_id))


def _detail(idea: Idea, forms: dict | None = None, status: int = 200):
    forms = {
        "comment": CommentForm(formdata=None),
        "status": StatusForm(formdata=None),
        "link": LinkCaseForm(formdata=None),
    } | (forms or {})
    principal = g.principal
    return render_template(
        "feedback/ideas/detail.html",
        idea=idea,
        forms=forms,
        confirm=ConfirmForm(),
        products=PRODUCT_LINES,
        open_statuses=OPEN_STATUSES,
        comments=queries.comments_of(idea.id),
        duplicates=queries.duplicates_of(idea.id),
        voted=idea.id in queries.my_votes(principal.user_id, [idea.id]),
        editable=services.may_edit(idea, principal),
        following=queries.is_following(idea.id, principal.user_id),
        events=audit.history_for(idea) if principal.is_vendor_staff else [],
        linked=services.linked_cases(idea.id) if principal.can("ideas.manage") else [],
    ), status


@bp.route("/<int:idea_id>/edit", methods=["GET", "POST"])
@login_required
@access.require("ideas.edit")
def edit(idea_id: int):
    """The author (while under review) or vendor staff edit title, description and product."""
    idea = get_or_404(Idea, idea_id)
    try:
        services.check_editable(idea, g.principal)  # Forbidden answers 403 (portal.app)
    except InvalidTransition as error:
        flash(error.message, "warning")
        return redirect(_idea_url(idea.id))
    form = IdeaEditForm(obj=idea)
    conflict = error = None
    if request.method == "GET":
        form.snapshot.data = snapshot(idea, EDITABLE_FIELDS)
    elif form.validate_on_submit():
        done, changed = _save(idea, form)
        if done:
            flash(_("The idea is saved.") if changed else _("Nothing changed."), "success")
            return redirect(_idea_url(idea.id))
        error = done.error
        if isinstance(error, EditConflict):  # nothing saved: show what changed, keep the input
            conflict = error
            form.snapshot.data = snapshot(idea, EDITABLE_FIELDS)
    status = error.status_code if error else form_status(form)
    return render_template(
        "feedback/ideas/form.html", form=form, idea=idea, conflict=conflict
    ), status


def _save(idea: Idea, form: IdeaEditForm):
    """Run the edit: (the attempt, whether anything changed)."""
    changed = False
    with attempt(form) as done:
        changed = services.edit_idea(
            idea, form.fields_dict(), seen=form.snapshot.data, actor=g.principal
        )
    return done, changed


@bp.post("/<int:idea_id>/vote")
@login_required
@access.require("ideas.vote")
def vote(idea_id: int):
    return _change_vote(
        idea_id,
        services.vote,
        counted=_("Your vote is counted; you will hear when the idea moves."),
        unchanged=_("You have already voted for this idea."),
    )


@bp.post("/<int:idea_id>/unvote")
@login_required
@access.require("ideas.vote")
def unvote(idea_id: int):
    return _change_vote(
        idea_id,
        services.unvote,
        counted=_(
            "Your vote is removed. You still follow the idea; stop following it on its page."
        ),
        unchanged=_("You had not voted for this idea."),
    )


def _change_vote(idea_id: int, change, *, counted: str, unchanged: str):
    """Vote or take a vote back, then go back where the button was (the board or the idea)."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("ideas.detail", idea_id=idea_id))
    # Two requests of one person at once: the unique vote lets one in (one delete removes it).
    idea = get_or_404(Idea, idea_id)
    with attempt() as done:
        changed = change(idea, actor=g.principal)
    if done:
        flash(counted if changed else unchanged, "success" if changed else "info")
    return redirect(safe_next_url(request.form.get("next")) or _idea_url(idea_id))


def _idea_url(idea_id: int) -> str:
    return url_for("ideas.detail", idea_id=idea_id)


@bp.post("/<int:idea_id>/<any(follow, unfollow):change>")
@login_required
@access.require("ideas.view")
def follow(idea_id: int, change: str):
    idea = get_or_404(Idea, idea_id)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            if change == "follow":
                services.follow(idea, actor=g.principal)
            else:
                services.unfollow(idea, actor=g.principal)
        if done:
            flash(
                _("You will hear when this idea moves.")
                if change == "follow"
                else _("You no longer follow this idea."),
                "success",
            )
    return redirect(_idea_url(idea.id))


@bp.post("/<int:idea_id>/comment")
@login_required
@access.require("ideas.comment")
def comment(idea_id: int):
    idea = get_or_404(Idea, idea_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return _detail(idea, {"comment": form}, 422)
    with attempt(form) as done:
        services.add_comment(idea, form.body.data, actor=g.principal)
    if not done:
        return _detail(idea, {"comment": form}, 422)
    flash(_("Your comment is posted."), "success")
    return redirect(_idea_url(idea.id))


@bp.post("/<int:idea_id>/status")
@login_required
@access.require("ideas.manage")
def change_status(idea_id: int):
    idea = get_or_404(Idea, idea_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return _detail(idea, {"status": form}, 422)
    original = None
    if form.status.data == IdeaStatus.duplicate and form.duplicate_of.data:
        original = db.session.scalars(
            select(Idea).where(Idea.id == form.duplicate_of.data)
        ).one_or_none()
        if original is None:
            form.duplicate_of.errors = [_("There is no idea with this number.")]
            return _detail(idea, {"status": form}, 422)
    with attempt(form) as done:
        services.change_status(
            idea,
            form.status.data,
            reason=form.reason.data,
            duplicate_of=original,
            actor=g.principal,
        )
    if not done:
        return _detail(idea, {"status": form}, 422)
    flash(
        _(
            "The idea is now %(status)s; its followers are told.",
            status=services.STATUS_LABELS[idea.status],
        ),
        "success",
    )
    return redirect(_idea_url(idea.id))


@bp.post("/<int:idea_id>/cases")
@login_required
@access.require("ideas.manage")
def link_case(idea_id: int):
    """From the idea page: link a case by its number."""
    idea = get_or_404(Idea, idea_id)
    form = LinkCaseForm()
    if not form.validate_on_submit():
        return _detail(idea, {"link": form}, 422)
    with attempt(form) as done:
        link = services.link_case(idea, number=form.case_number.data, actor=g.principal)
    if not done:
        return _detail(idea, {"link": form}, 422)
    flash(_("Case %(number)s is linked to this idea.", number=link.case_number), "success")
    return redirect(_idea_url(idea.id))


@bp.post("/cases/<int:case_id>/link")
@login_required
@access.require("ideas.manage")
def link_idea(case_id: int):
    """From the case page: link the case to an idea by the idea's number."""
    if events.ask("case.summary", case_id=case_id) is None:
        abort(404)
    form = LinkIdeaForm()
    if form.validate_on_submit():
        idea = db.session.get(Idea, form.idea_id.data)
        if idea is None:
            flash(_("There is no idea with this number."), "danger")
        else:
            with attempt() as done:
                services.link_case(idea, case_id=case_id, actor=g.principal)
            if done:
                flash(_("The case is linked to “%(title)s”.", title=idea.title), "success")
    else:
        flash(_("Give the number of an idea."), "danger")
    return redirect(f"/cases/{case_id}")
