"""Segment pages, for the vendor's channel and sales staff (``segments.manage``): the list with
live counts, a segment's organisations (paged, each linking to its organisation page), creating,
editing and deleting one. Routes load through the tenant wall (a segment is the vendor's: anyone
else gets 403 from the action, and a missing id 404), call one service, commit once."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from portal import access
from portal.db import get_or_404
from portal.identity.forms import ConfirmForm
from portal.navigation import NavItem
from portal.segments import queries, services
from portal.segments.forms import segment_form
from portal.segments.models import Segment
from portal.web import attempt, form_status, paginate

bp = Blueprint("segments", __name__, url_prefix="/segments")
NAVIGATION = [
    NavItem("segments.index", _l("Segments"), "segments.manage", ("vendor",), 35, "sales"),
]
PER_PAGE = 25


@bp.get("/")
@login_required
@access.require("segments.manage")
def index():
    page = paginate(queries.segments(), per_page=50)
    options: dict = {}
    return render_template(
        "segments/index.html",
        page=page,
        counts=queries.counts(page.items),
        described={s.id: queries.described(s.criteria, options) for s in page.items},
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("segments.manage")
def new():
    form = segment_form()
    if form.validate_on_submit():
        with attempt(form) as done:
            segment = services.create_segment(form.name.data, form.values(), actor=g.principal)
        if done:
            flash(_("Segment “%(name)s” saved.", name=segment.name), "success")
            return redirect(url_for("segments.detail", segment_id=segment.id))
    return render_template("segments/form.html", form=form, segment=None), form_status(form)


@bp.get("/<int(max=2147483647):segment_id>")
@login_required
@access.require("segments.manage")
def detail(segment_id: int):
    segment = get_or_404(Segment, segment_id)
    return render_template(
        "segments/detail.html",
        segment=segment,
        page=paginate(queries.members(segment), per_page=PER_PAGE),
        described=queries.described(segment.criteria),
        confirm=ConfirmForm(),
    )


@bp.route("/<int(max=2147483647):segment_id>/edit", methods=["GET", "POST"])
@login_required
@access.require("segments.manage")
def edit(segment_id: int):
    segment = get_or_404(Segment, segment_id)
    form = segment_form(segment if request.method == "GET" else None)
    if form.validate_on_submit():
        with attempt(form) as done:
            changed = services.update_segment(
                segment, form.name.data, form.values(), actor=g.principal
            )
        if done:
            flash(
                _("Segment “%(name)s” saved.", name=segment.name)
                if changed
                else _("Nothing changed."),
                "success",
            )
            return redirect(url_for("segments.detail", segment_id=segment.id))
    return render_template("segments/form.html", form=form, segment=segment), form_status(form)


@bp.post("/<int(max=2147483647):segment_id>/delete")
@login_required
@access.require("segments.manage")
def delete(segment_id: int):
    segment = get_or_404(Segment, segment_id)
    name = segment.name
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("segments.detail", segment_id=segment.id))
    with attempt() as done:
        services.delete_segment(segment, actor=g.principal)
    if not done:
        return redirect(url_for("segments.detail", segment_id=segment_id))
    flash(_("Segment “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("segments.index"))
