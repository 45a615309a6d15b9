"""The CSAT answer page of a signed link: no sign-in. GET only shows the form (email scanners
open links); POST, CSRF-protected like every form, records. A link that was answered, has
expired or was altered gets a page that says so, never an error page."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from feedback import links
from feedback.csat import services
from feedback.csat.forms import CsatAnswerForm
from portal.db import db
from portal.errors import InvalidInput

public = Blueprint("csat", __name__, url_prefix="/feedback/csat")


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
            except services.AlreadyAnswered:
                db.session.rollback()
                return _message(already, 200)
            except InvalidInput as error:
                db.session.rollback()
                form.score.errors = [*form.score.errors, error.message]
            else:
                return render_template("feedback/survey/thanks.html")
        return render_template("feedback/csat/answer.html", form=form, opened=opened), 422
    return render_template("feedback/csat/answer.html", form=form, opened=opened)
