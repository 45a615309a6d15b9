"""CSAT pages: the results for vendor staff, the rating shown on a case page (to vendor staff),
the rating asked of a solved case's requester on its page, and the answer page of a signed
link.

The answer page needs no sign-in. GET only shows the form (email scanners open links); POST,
CSRF-protected like every form, records. A link that was answered, has expired or was altered
gets a page that says so, never an error page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from feedback import links
from feedback.csat import queries, services
from feedback.csat.forms import CsatAnswerForm
from feedback.ideas import services as idea_services
from portal import access
from portal.db import db
from portal.errors import InvalidInput
from portal.navigation import NavItem
from portal.web import attempt

bp = Blueprint("csat_results", __name__, url_prefix="/feedback/satisfaction")
public = Blueprint("csat", __name__, url_prefix="/feedback/csat")
NAVIGATION = [
    NavItem("csat_results.index", _l("CSAT"), "feedback.view", ("vendor",), 59, "feedback")
]

BREAKDOWNS = (
    ("agent", _l("Per agent")),
    ("team", _l("Per team")),
    ("organisation", _l("Per organisation")),
    ("partner", _l("Per partner (the customers it manages)")),
    ("month", _l("Per month")),
)


@bp.get("/")
@login_required
@access.require("feedback.view")
def index():
    return render_template(
        "feedback/csat/results.html", results=queries.results(), breakdowns=BREAKDOWNS
    )


@bp.app_context_processor
def _case_ratings():
    """For the case page (``templates/feedback/_case_panel.html``): ``csat_ratings(case_id)``
    and ``case_ideas(case_id)``, vendor staff only, empty for anyone else."""

    def csat_ratings(case_id: int) -> list[tuple[int, str]]:
        principal = g.get("principal")
        if principal is None or not principal.is_vendor_staff:
            return []
        return queries.rating_of_case(case_id)

    def case_ideas(case_id: int) -> list:
        principal = g.get("principal")
        if principal is None or not principal.can("ideas.manage"):
            return []
        return idea_services.linked_cases(case_id=case_id)

    def csat_asked(case_id: int) -> tuple[queries.AskedRating, CsatAnswerForm] | None:
        """What the solved case asks the signed-in requester, and the form to answer it."""
        principal = g.get("principal")
        if principal is None or principal.is_vendor_staff:
            return None
        asked = queries.rating_asked(case_id, principal.user_id)
        return (asked, CsatAnswerForm(formdata=None)) if asked is not None else None

    return {"csat_ratings": csat_ratings, "case_ideas": case_ideas, "csat_asked": csat_asked}


@bp.post("/cases/<int:case_id>")
@login_required
@access.require("cases.view")
def rate_case(case_id: int):
    """The requester's rating given on the solved case's page (the email's question, signed in).
    A case that asks this person nothing (another's, a foreign one) is not found."""
    if queries.rating_asked(case_id, g.principal.user_id) is None:
        abort(404)
    form = CsatAnswerForm()
    if not form.validate_on_submit():
        flash(_("Choose a rating from 1 to 5."), "warning")
    else:
        with attempt() as done:
            services.rate_case(case_id, form.score.data, form.comment.data, actor=g.principal)
        if done:
            flash(_("Thank you: your rating is recorded."), "success")
    return redirect(url_for("cases.detail", case_id=case_id) + "#csat-prompt")


def _message(message: str, status: int):
    return render_template("feedback/survey/closed.html", message=message), status


@public.route("/<token>", methods=["GET", "POST"])
def answer(token: str):
    try:
        opened = services.open_link(token)
    except links.LinkExpired:
        return _message(_("This survey link has expired. Thank you all the same."), 410)
    except links.LinkInvalid:
        return _message(
            _("This survey link is not valid. Please open it exactly as it came in the email."),
            400,
        )
    already = _("You have already answered this survey. Thank you!")
    if opened.answered:
        return _message(already, 200)
    form = CsatAnswerForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.record_answer(token, form.score.data, form.comment.data)
                db.session.commit()
            except links.AlreadyAnswered:
                db.session.rollback()
                return _message(already, 200)
            except InvalidInput as error:
                db.session.rollback()
                form.score.errors = [*form.score.errors, error.message]
            else:
                return render_template("feedback/survey/thanks.html")
        return render_template("feedback/csat/answer.html", form=form, opened=opened), 422
    return render_template("feedback/csat/answer.html", form=form, opened=opened)
