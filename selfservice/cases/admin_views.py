"""Vendor admins' pages of support: SLA policies (conditions, targets, pause rules, calendars)
and support teams (round robin). Added to the cases blueprint by
``init_app``."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from portal import access
from portal.db import get_or_404
from portal.identity.models import tier_options
from portal.routes import Routes
from portal.web import attempt, form_status
from selfservice.cases import policies, services
from selfservice.cases.forms import PolicyForm, TeamForm
from selfservice.cases.models import SlaPolicy

routes = Routes()


@routes.route("/teams", methods=["GET", "POST"])
@login_required
@access.require("support.manage")
def teams():
    """Support teams: round robin assigns a case among its team's agents; the team's lead hears
    of low satisfaction ratings on its cases."""
    form = TeamForm()
    form.members.choices = [(u.id, u.name) for u in services.agents()]
    form.lead_id.choices = [(0, "—"), *form.members.choices]
    if form.validate_on_submit():
        with attempt(form) as done:
            services.save_team(
                form.name.data,
                form.members.data or [],
                lead_id=form.lead_id.data or None,
                actor=g.principal,
            )
        if done:
            flash(_("The team is saved."), "success")
            return redirect(url_for("cases.teams"))
    teams = services.teams()
    members = {t.id: [u.name for u in services.agents(t.id)] for t in teams}
    names = dict(form.members.choices)
    leads = {t.id: names.get(t.lead_id, "") for t in teams}
    return render_template(
        "selfservice/cases/teams.html", form=form, teams=teams, members=members, leads=leads
    ), form_status(form)


def _policy_form(obj=None) -> PolicyForm:
    form = PolicyForm(obj=obj)
    form.tier.choices = [("", _("Any")), *tier_options()]
    return form


def _policy_fields(form: PolicyForm) -> dict:
    return {name: getattr(form, name).data for name in policies.FIELDS}


@routes.route("/sla", methods=["GET", "POST"])
@login_required
@access.require("support.manage")
def sla_policies():
    """The SLA policies in the order they are tried, and a new one."""
    form = _policy_form()
    if form.validate_on_submit():
        with attempt(form) as done:
            policies.save_policy(None, _policy_fields(form), actor=g.principal)
        if done:
            flash(_("The policy is saved."), "success")
            return redirect(url_for("cases.sla_policies"))
    return render_template(
        "selfservice/cases/sla.html", form=form, policies=policies.policies(), policy=None
    ), form_status(form)


@routes.route("/sla/<int:policy_id>", methods=["GET", "POST"])
@login_required
@access.require("support.manage")
def sla_policy(policy_id: int):
    policy = get_or_404(SlaPolicy, policy_id)
    form = _policy_form(obj=policy)
    if request.method == "GET":
        form.priority.data, form.tier.data = policy.priority or "", policy.tier or ""
    elif form.validate_on_submit():
        with attempt(form) as done:
            policies.save_policy(policy, _policy_fields(form), actor=g.principal)
        if done:
            flash(_("The policy is saved."), "success")
            return redirect(url_for("cases.sla_policies"))
    return render_template(
        "selfservice/cases/sla.html", form=form, policies=policies.policies(), policy=policy
    ), form_status(form)
