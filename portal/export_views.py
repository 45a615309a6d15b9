"""CSV export pages: the file of a list (``/export/<key>.csv`` with the list's filters), and for
a big list the job's progress page and its file, for the user who asked only.

The lists are the feature packages' ``portal.export.ExportSource``s (``portal`` imports none of
them); each reads through the tenant wall, so an export holds exactly what its list shows."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup

from portal import access, export
from portal.clock import utcnow
from portal.db import db, get_or_404, session_principal, set_principal
from portal.errors import Forbidden
from portal.export_jobs import (
    STATUS_LABELS,
    Export,
    ExportStatus,
    file_chunks,
    job_threshold,
    my_exports,
)
from portal.export_jobs import request_export as request_export_job
from portal.identity.forms import ConfirmForm
from portal.replica import reads_replica
from portal.web import attempt

bp = Blueprint("export", __name__, url_prefix="/export")

CSV_TYPE = "text/csv; charset=utf-8"


def _source(key: str) -> export.ExportSource:
    """The export ``key`` names, if the principal may use it: an unknown key is a 404, a list
    the role may not read a 403 (the same for every principal of the role)."""
    found = export.source(key)
    if found is None or g.principal.audience not in found.audiences:
        abort(404)
    if not g.principal.can(found.action):
        reason = access.kind_refusal(g.principal.org_kind, found.action)
        if reason is not None:
            raise Forbidden(str(reason))
        abort(403)
    return found


def _statement(source: export.ExportSource):
    try:
        return source.statement(g.principal, request.args)
    except export.InvalidFilters as error:
        abort(422, description=error.message or None)


def _streamed(chunks_of) -> Iterator[bytes]:
    """The response body ``chunks_of(session)`` gives, read while the response is sent. By then
    the view has returned and the request's session is closed (Flask tears the app context
    down first, then iterates): the rows are read on a new session of the same principal, so
    the wall applies exactly as it did to the view."""
    principal = g.principal

    def generate() -> Iterator[bytes]:
        session = db.session
        if session_principal(session) is None:
            set_principal(session, principal)
        yield from chunks_of(session)

    return stream_with_context(generate())


def _attachment(body, filename: str) -> Response:
    response = Response(body, content_type=CSV_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<key>.csv")
@reads_replica
@login_required
def csv_file(key: str):
    """The list's rows as CSV, streamed; past the threshold, the page that offers a job."""
    source = _source(key)
    stmt = _statement(source)
    threshold = job_threshold()
    rows = export.count_upto(stmt, threshold)
    if rows > threshold:
        return render_template(
            "export/large.html",
            source=source,
            threshold=threshold,
            query=urlencode(export.list_args(request.args), doseq=True),
            confirm=ConfirmForm(),
        )
    columns = source.columns_for(g.principal)
    body = _streamed(lambda session: export.csv_chunks(columns, export.streamed(stmt, session)))
    return _attachment(body, source.filename(utcnow().date()))


@bp.post("/<key>/job")
@login_required
def start(key: str):
    """Prepare the list's file as a job (a big list), then show its progress."""
    source = _source(key)
    _statement(source)  # filters the list refuses are refused here too
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        record = request_export_job(source, export.list_args(request.args), actor=g.principal)
    if not done:
        abort(422)
    flash(_("Your export is being prepared."), "info")
    return redirect(url_for("export.job", export_id=record.id))


@bp.get("/jobs")
@login_required
def jobs():
    """The signed-in user's own exports, newest first."""
    return render_template("export/jobs.html", exports=my_exports(), labels=STATUS_LABELS)


@bp.get("/jobs/<int:export_id>")
@login_required
def job(export_id: int):
    """An export's progress (the page refreshes itself until it is done) and, when ready, the
    link to its file. Another user's export is a 404, like a missing one."""
    record = get_or_404(Export, export_id)
    source = export.source(record.source_key)
    return render_template("export/job.html", export=record, source=source, labels=STATUS_LABELS)


@bp.get("/jobs/<int:export_id>/file")
@reads_replica
@login_required
def job_file(export_id: int):
    """The file of a ready export, streamed from where it is stored; its requester's only."""
    record = get_or_404(Export, export_id)
    if record.status != ExportStatus.ready:
        abort(404)
    found = record.id
    return _attachment(_streamed(lambda session: file_chunks(found, session)), record.filename)


def export_link(key: str, **extra) -> Markup:
    """The list page's "Export CSV" link (template global ``export_link``), carrying the page's
    current filters (and ``extra`` ones, such as the campaign of a campaign's page); nothing for
    a principal whose role may not export that list."""
    source = export.source(key)
    if source is None or not source.allows(g.get("principal")):
        return Markup("")
    args = export.list_args(request.args)
    args.update({name: [str(value)] for name, value in extra.items() if value is not None})
    url = url_for("export.csv_file", key=key)
    if args:
        url += "?" + urlencode(args, doseq=True)
    return Markup(render_template("export/_link.html", url=url, source=source))  # noqa: S704 - rendered by Jinja, escaped there
