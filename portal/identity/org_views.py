"""The organisation page: one page per organisation, summarising everything between it and the
vendor, for everyone who may see the organisation (vendor staff any, a partner its own and the
customers it manages, a customer its own), with the management actions for those who may.

What the feature packages own comes from their panels (place ``organization``, ``portal.panels``);
the profile, people, account manager and activity timeline are identity's.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from portal import access, audit, panels
from portal.identity import queries, services
from portal.identity.forms import AccountManagerForm, ConfirmForm
from portal.keyset import InvalidCursor
from portal.routes import Routes
from portal.web import attempt

routes = Routes()


@routes.get("/organizations/<int:org_id>")
@login_required
@access.require("home.view")
def organization(org_id: int):
    principal = g.principal
    org = queries.organization_for_page(org_id, principal)
    try:
        timeline = queries.timeline(
            org.id, after=request.args.get("after"), before=request.args.get("before")
        )
    except InvalidCursor:
        abort(422)
    manages = principal.can("orgs.manage") and org.kind != access.VENDOR
    form = None
    if manages:
        form = AccountManagerForm(account_manager_id=org.account_manager_id)
        form.account_manager_id.choices = queries.account_manager_choices()
    may_invite = principal.can("users.manage") and (
        principal.is_vendor_staff or org.id == principal.org_id
    )
    return render_template(
        "identity/organization.html",
        org=org,
        serving_partner=queries.serving_partner_name(org) if org.managed_by_id else None,
        supplier_relationship=queries.supplier_relationship_label(org.supplier_relationship),
        managed=queries.managed_customers(org.id) if org.kind in access.PARTNER_KINDS else ([], 0),
        users=queries.people_of(org.id),
        invitations=queries.pending_invitations_of(org.id) if may_invite else [],
        manager=queries.account_manager_of(org),
        sections=panels.build("organization", principal, org_id=org.id),
        timeline=timeline,
        actor_orgs=queries.actor_organizations(timeline.items),
        event_label=audit.describe,
        manages=manages,
        may_invite=may_invite,
        form=form,
        confirm=ConfirmForm(),
    )


@routes.get("/organizations/<int:org_id>/customers")
@login_required
@access.require("home.view")
def managed_customers(org_id: int):
    """Every customer a partner manages, by name (the organisation page names the first few);
    none for an organisation of another kind."""
    org = queries.organization_for_page(org_id, g.principal)
    try:
        page = queries.managed_customers_page(
            org.id, after=request.args.get("after"), before=request.args.get("before")
        )
    except InvalidCursor:
        abort(422)
    return render_template("identity/managed_customers.html", org=org, page=page)


@routes.post("/organizations/<int:org_id>/account-manager")
@login_required
@access.require("orgs.manage")
def assign_account_manager(org_id: int):
    org = queries.organization_for_page(org_id, g.principal)
    form = AccountManagerForm()
    form.account_manager_id.choices = queries.account_manager_choices()
    if form.validate_on_submit():
        with attempt() as done:
            services.assign_account_manager(org, form.account_manager_id.data, actor=g.principal)
        if done:
            manager = queries.account_manager_of(org)
            flash(
                _("%(name)s now looks after %(org)s.", name=manager.name, org=org.name)
                if manager
                else _("%(org)s has no account manager now.", org=org.name),
                "success",
            )
    else:
        flash(_("Choose someone from the list."), "danger")
    return redirect(url_for("identity.organization", org_id=org.id, _anchor="account-manager"))


@routes.get("/organizations/mine")
@login_required
@access.require("home.view")
def my_organization():
    """The signed-in person's own organisation's page (the navigation's "My organisation")."""
    return redirect(url_for("identity.organization", org_id=g.principal.org_id))
