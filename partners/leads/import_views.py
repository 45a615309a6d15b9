"""Importing leads from a CSV file: upload, a preview that checks every row, and the confirmed
import. Routes added to ``partners.leads.views.bp`` by the package's ``init_app``."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from partners.leads import csv_import, services
from partners.leads.forms import ImportConfirmForm, ImportForm
from partners.leads.views import current_principal
from portal import access, csv_upload
from portal.errors import InvalidInput
from portal.routes import Routes
from portal.web import attempt, form_status

routes = Routes()


@routes.route("/import", methods=["GET", "POST"])
@login_required
@access.require("leads.manage")
def import_file():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        filename = services.clean_text(upload.filename or "leads.csv")[:200]
        try:
            text = csv_upload.read_text(upload, csv_import.MAX_BYTES)
        except InvalidInput as error:
            form.file.errors.append(error.message)
        else:
            check = csv_import.check_csv(text, filename)
            source = form.source.data or "import"
            return _render_preview(check, text, source)
    return render_template("partners/leads/import.html", form=form), form_status(form)


def _render_preview(check: csv_import.ImportCheck, text: str, source: str):
    return render_template(
        "partners/leads/import_preview.html",
        check=check,
        source=source,
        sample=check.rows[:10],
        payload=csv_import.seal(text, check.filename, source) if check.ok else [],
        confirm=ImportConfirmForm(),
        form=ImportForm(source=source),
    ), (200 if check.ok else 422)


@routes.post("/import/confirm")
@login_required
@access.require("leads.manage")
def import_confirm():
    ImportConfirmForm().validate_on_submit()
    try:
        text, filename, source = csv_import.unseal(request.form.getlist("payload"))
    except InvalidInput as error:
        flash(error.message, "danger")
        return render_template("partners/leads/import.html", form=ImportForm()), 422
    check = csv_import.check_csv(text, filename)
    if not check.ok:  # something changed since the preview (a duplicate arrived): nothing saved
        return _render_preview(check, text, source)
    with attempt() as done:
        ids = csv_import.import_leads(check, actor=current_principal(), source=source)
    if done:
        flash(
            _("Imported %(n)d leads from %(file)s.", n=len(ids), file=filename),
            "success",
        )
        return redirect(url_for("leads.index"))
    return _render_preview(check, text, source)
