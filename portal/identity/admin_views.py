"""Administration: an organisation's admins manage its users; vendor admins manage
organisations (and through them, every organisation's admins) and read the audit log."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from portal import access, audit
from portal.db import get_or_404
from portal.identity import queries, services
from portal.identity.forms import (
    ConfirmForm,
    InviteForm,
    NewOrganizationForm,
    OrganizationForm,
    RoleForm,
)
from portal.identity.models import Invitation, Organization, User
from portal.routes import Routes
from portal.tenancy import Principal
from portal.web import attempt, form_status, paginate, role_choices

routes = Routes()


def _principal() -> Principal:
    return g.principal


# Users of one's own organisation.


@routes.get("/admin/users")
@login_required
@access.require("users.view")
def users():
    org = get_or_404(Organization, _principal().org_id)
    return render_template(
        "identity/admin/users.html",
        org=org,
        page=paginate(queries.users_of(org.id)),
        invitations=queries.pending_invitations_of(org.id),
        confirm=ConfirmForm(),
    )


@routes.route("/admin/organizations/<int:org_id>/invite", methods=["GET", "POST"])
@login_required
@access.require("users.manage")
def invite(org_id: int):
    org = get_or_404(Organization, org_id)
    services.check_may_manage_members(org, _principal())
    form = InviteForm()
    form.role.choices = role_choices(org.kind)
    if form.validate_on_submit():
        with attempt(form) as done:
            services.invite_user(
                org,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                actor=_principal(),
            )
        if done:
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
            return redirect(_org_users_url(org))
    return render_template("identity/admin/invite.html", form=form, org=org), form_status(form)


def _org_users_url(org: Organization) -> str:
    if org.id == _principal().org_id:
        return url_for("identity.users")
    return url_for("identity.organization", org_id=org.id)


@routes.get("/admin/users/<int:user_id>")
@login_required
@access.require("users.view")
def user_detail(user_id: int):
    user = get_or_404(User, user_id)
    form = RoleForm(role=user.role)
    form.role.choices = role_choices(user.org_kind)
    return render_template(
        "identity/admin/user_detail.html",
        user=user,
        form=form,
        confirm=ConfirmForm(),
        events=audit.history_for(user),
    )


@routes.post("/admin/users/<int:user_id>/role")
@login_required
@access.require("users.manage")
def change_role(user_id: int):
    user = get_or_404(User, user_id)
    form = RoleForm()
    form.role.choices = role_choices(user.org_kind)
    if form.validate_on_submit():
        with attempt() as done:
            services.change_role(user, form.role.data, actor=_principal())
        if done:
            flash(_("%(name)s is now %(role)s.", name=user.name, role=user.role_label), "success")
    return redirect(url_for("identity.user_detail", user_id=user.id))


@routes.post("/admin/users/<int:user_id>/<any(activate, deactivate):change>")
@login_required
@access.require("users.manage")
def set_user_active(user_id: int, change: str):
    user = get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            services.set_user_active(user, change == "activate", actor=_principal())
        if done:
            flash(
                _("%(name)s is active.", name=user.name)
                if user.active
                else _("%(name)s is deactivated and signed out.", name=user.name),
                "success",
            )
    return redirect(url_for("identity.user_detail", user_id=user.id))


@routes.post("/admin/invitations/<int:invitation_id>/revoke")
@login_required
@access.require("users.manage")
def revoke_invitation(invitation_id: int):
    invitation = get_or_404(Invitation, invitation_id)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            services.revoke_invitation(invitation, actor=_principal())
        if done:
            flash(_("Invitation to %(email)s revoked.", email=invitation.email), "success")
    return redirect(_org_users_url(invitation.org))


# Organisations (vendor staff read; vendor admins manage).


@routes.get("/admin/organizations")
@login_required
@access.require("orgs.view")
def organizations():
    kind, search, relationship = queries.organization_filters(request.args)
    return render_template(
        "identity/admin/organizations.html",
        kind=kind,
        q=search or "",
        relationship=relationship,
        relationships=queries.SUPPLIER_RELATIONSHIP_LABELS,
        page=paginate(queries.organizations(kind, search, relationship)),
    )


@routes.route("/admin/organizations/new", methods=["GET", "POST"])
@login_required
@access.require("orgs.manage")
def new_organization():
    form = NewOrganizationForm()
    form.managed_by_id.choices = queries.partner_choices()
    if form.validate_on_submit():
        with attempt(form) as done:
            org = services.create_organization(
                name=form.name.data,
                kind=form.kind.data,
                tier=form.tier.data or None,
                managed_by_id=form.managed_by_id.data,
                admin_name=form.admin_name.data,
                admin_email=form.admin_email.data,
                actor=_principal(),
                supplier_relationship=form.supplier_relationship.data or None,
            )
        if done:
            flash(_("%(name)s created; its admin is invited.", name=org.name), "success")
            return redirect(url_for("identity.organization", org_id=org.id))
    return render_template(
        "identity/admin/organization_form.html", form=form, org=None
    ), form_status(form)


@routes.get("/admin/organizations/<int:org_id>")
@login_required
def organization_detail(org_id: int):
    """The old address of an organisation's page: it moved to ``identity.organization``."""
    org = queries.organization_for_page(org_id, _principal())
    return redirect(url_for("identity.organization", org_id=org.id), 301)


@routes.route("/admin/organizations/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
@access.require("orgs.manage")
def edit_organization(org_id: int):
    org = get_or_404(Organization, org_id)
    form = OrganizationForm(obj=org)
    form.managed_by_id.choices = queries.partner_choices()
    if org.kind not in access.SUPPLIER_KINDS:
        del form.supplier_relationship  # only a supplier has one
    if form.validate_on_submit():
        with attempt(form) as done:
            services.update_organization(
                org,
                name=form.name.data,
                tier=form.tier.data or None,
                managed_by_id=form.managed_by_id.data,
                actor=_principal(),
                supplier_relationship=(
                    form.supplier_relationship.data or None
                    if "supplier_relationship" in form
                    else None
                ),
            )
        if done:
            flash(_("%(name)s saved.", name=org.name), "success")
            return redirect(url_for("identity.organization", org_id=org.id))
    return render_template(
        "identity/admin/organization_form.html", form=form, org=org
    ), form_status(form)


@routes.post("/admin/organizations/<int:org_id>/<any(activate, deactivate):change>")
@login_required
@access.require("orgs.manage")
def set_organization_active(org_id: int, change: str):
    org = get_or_404(Organization, org_id)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            services.set_organization_active(org, change == "activate", actor=_principal())
        if done:
            flash(
                _("%(name)s is active.", name=org.name)
                if org.active
                else _("%(name)s is deactivated; its users are signed out.", name=org.name),
                "success",
            )
    return redirect(url_for("identity.organization", org_id=org.id))


@routes.get("/admin/audit")
@login_required
@access.require("audit.view")
def audit_log():
    action = queries.audit_filter(request.args)
    return render_template(
        "identity/admin/audit.html",
        page=paginate(queries.audit_log(action), per_page=50),
        action=action or "",
    )
