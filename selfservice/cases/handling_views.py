"""Pages' actions on a case beyond the conversation: merging a duplicate (agents) and its
watchers (added by the case's people or an agent; anyone may stop watching). Added to the
cases blueprint by ``init_app``."""

from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import login_required

from portal import access
from portal.db import get_or_404
from portal.identity.personal_data import erasure as personal_data
from portal.identity.personal_data.forms import LegalHoldForm
from portal.routes import Routes
from portal.web import attempt
from selfservice.cases import queries, services
from selfservice.cases.forms import MergeForm, SolveForm, WatcherForm
from selfservice.cases.models import Case, CaseWatcher
from selfservice.cases.views import render_detail

routes = Routes()


@routes.post("/<int:case_id>/merge")
@login_required
@access.require("cases.work")
def merge(case_id: int):
    case = get_or_404(Case, case_id)
    form = MergeForm()
    if not form.validate_on_submit():
        return render_detail(case, {"merge": form}, 422)
    into = queries.case_by_number(form.into.data)
    if into is None:
        form.into.errors = [_("There is no case with this number.")]
        return render_detail(case, {"merge": form}, 422)
    with attempt(form) as done:
        services.merge_case(case, into, actor=g.principal)
    if not done:
        return render_detail(case, {"merge": form}, done.error.status_code)
    flash(_("%(a)s is merged into %(b)s.", a=case.number, b=into.number), "success")
    return redirect(url_for("cases.detail", case_id=into.id))


@routes.post("/<int:case_id>/watchers")
@login_required
@access.require("cases.view")
def add_watcher(case_id: int):
    case = get_or_404(Case, case_id)
    form = WatcherForm()
    if not form.validate_on_submit():
        return render_detail(case, {"watcher": form}, 422)
    services.require_participant(case, g.principal)
    user = queries.watcher_candidate(form.email.data)
    if user is None:
        form.email.errors = [_("Nobody with this email can watch this case.")]
        return render_detail(case, {"watcher": form}, 422)
    with attempt(form) as done:
        services.add_watcher(case, user, actor=g.principal)
    if not done:
        form.email.errors = [_("Nobody with this email can watch this case.")]
        return render_detail(case, {"watcher": form}, 422)
    flash(_("%(name)s watches this case.", name=user.name), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


@routes.post("/<int:case_id>/legal-hold")
@login_required
@access.require("cases.legal_hold")
def set_legal_hold(case_id: int):
    """Vendor admins put a case under legal hold: its people cannot be erased meanwhile."""
    case = get_or_404(Case, case_id)
    form = LegalHoldForm()
    if form.validate_on_submit():
        with attempt() as done:
            personal_data.set_legal_hold(case, True, reason=form.reason.data, actor=g.principal)
        if done:
            flash(_("%(number)s is under legal hold.", number=case.number), "success")
    else:
        flash(_("Say why the case is held."), "danger")
    return redirect(url_for("cases.detail", case_id=case.id, _anchor="legal-hold"))


@routes.post("/<int:case_id>/legal-hold/clear")
@login_required
@access.require("cases.legal_hold")
def clear_legal_hold(case_id: int):
    case = get_or_404(Case, case_id)
    if SolveForm().validate_on_submit():
        with attempt() as done:
            personal_data.set_legal_hold(case, False, reason=None, actor=g.principal)
        if done:
            flash(_("The legal hold on %(number)s is lifted.", number=case.number), "success")
    return redirect(url_for("cases.detail", case_id=case.id, _anchor="legal-hold"))


@routes.post("/watchers/<int:watcher_id>/remove")
@login_required
@access.require("cases.view")
def remove_watcher(watcher_id: int):
    watcher = get_or_404(CaseWatcher, watcher_id)
    case_id = watcher.case_id
    if SolveForm().validate_on_submit():
        with attempt() as done:
            services.remove_watcher(watcher, actor=g.principal)
        if done:
            flash(_("The watcher is removed."), "success")
    return redirect(url_for("cases.detail", case_id=case_id))
