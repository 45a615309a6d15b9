"""Routes of personal data: one's own ("My data" in the account menu) and, on the people page,
an admin's export and erasure of a member's data (typed confirmation)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, abort, flash, g, redirect, render_template, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import login_required

from portal import access
from portal.clock import utcnow
from portal.db import db, get_or_404, session_principal, set_principal
from portal.identity.forms import ConfirmForm
from portal.identity.models import User
from portal.identity.personal_data import erasure, export
from portal.identity.personal_data.forms import EraseForm
from portal.routes import Routes
from portal.web import attempt, form_status

routes = Routes()


def _zip_response(user: User) -> Response:
    """Audit the export (committed before a byte is sent), then stream the zip. The body is
    read after the view returned, on a new session of the same principal (as
    ``portal.export_views`` does for CSV), so the wall applies to it as to the view."""
    export.record_export(user, actor=g.principal)
    db.session.commit()
    principal = g.principal
    filename = export.export_filename(user, utcnow())
    chunks = export.export_chunks(user, actor=principal)

    def generate() -> Iterator[bytes]:
        session = db.session
        if session_principal(session) is None:
            set_principal(session, principal)
        yield from chunks

    response = Response(stream_with_context(generate()), content_type="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/account/data")
@login_required
@access.require("account.manage")
def my_data():
    user = get_or_404(User, g.principal.user_id)
    return render_template("identity/personal_data/mine.html", user=user, confirm=ConfirmForm())


# Exports are POSTs: each is audited (a write), and a GET never writes.
@routes.post("/account/data/export")
@login_required
@access.require("account.manage")
def export_my_data():
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("identity.my_data"))
    return _zip_response(get_or_404(User, g.principal.user_id))


@routes.post("/account/data/erasure-request")
@login_required
@access.require("account.manage")
def request_erasure():
    user = get_or_404(User, g.principal.user_id)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            erasure.request_erasure(user, actor=g.principal)
        if done:
            flash(_("Your organisation's admins are told; they will erase your data."), "success")
    return redirect(url_for("identity.my_data"))


def _member(user_id: int, action: str) -> User:
    """A person the principal sees (else 404) and may handle the data of (else 403)."""
    user = get_or_404(User, user_id)
    principal = g.principal
    if not access.may_handle_personal_data(
        principal.role,
        principal.org_id,
        principal.org_kind,
        principal.user_id,
        user.org_id,
        user.id,
        action,
    ):
        abort(403)
    return user


@routes.post("/admin/users/<int:user_id>/data/export")
@login_required
@access.require("people.export_data")
def export_member_data(user_id: int):
    user = _member(user_id, "people.export_data")
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("identity.user_detail", user_id=user.id))
    return _zip_response(user)


@routes.route("/admin/users/<int:user_id>/erase", methods=["GET", "POST"])
@login_required
@access.require("people.erase")
def erase_member(user_id: int):
    user = _member(user_id, "people.erase")
    form = EraseForm()
    status = 0
    if user.erased_at is None and form.validate_on_submit():
        with attempt(form) as done:
            erasure.erase_person(user, actor=g.principal, confirmation=form.confirmation.data)
        if done:
            flash(_("The person's data is erased; they are shown as “Former user”."), "success")
            return redirect(url_for("identity.user_detail", user_id=user.id))
        status = done.error.status_code if done.error else 422  # 409: a legal hold, the last admin
    held = erasure.held_records(user.id) if user.erased_at is None else []
    return render_template(
        "identity/personal_data/erase.html", user=user, form=form, held=held, confirm=ConfirmForm()
    ), status or form_status(form)
