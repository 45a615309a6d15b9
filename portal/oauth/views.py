"""Pages where an organisation's admins manage its API clients."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from portal import access, audit
from portal.db import db, get_or_404
from portal.identity.forms import ConfirmForm
from portal.identity.models import Organization
from portal.oauth import services
from portal.oauth.forms import ApiClientForm
from portal.oauth.models import ClientStatus, OAuthClient
from portal.web import attempt, form_status, role_choices

bp = Blueprint("api_clients", __name__, url_prefix="/admin/api-clients")


@bp.get("/")
@login_required
@access.require("api_clients.manage")
def index():
    clients = db.session.scalars(
        select(OAuthClient)
        .where(OAuthClient.org_id == g.principal.org_id)
        .order_by(OAuthClient.name)
    ).all()
    return render_template("oauth/clients/index.html", clients=clients)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@access.require("api_clients.manage")
def new():
    org = get_or_404(Organization, g.principal.org_id)
    form = ApiClientForm()
    form.service_role.choices = role_choices(org.kind, blank=True)
    if form.validate_on_submit():
        with attempt(form) as done:
            client, secret = services.register_client(
                org,
                name=form.name.data,
                redirect_uris=form.redirect_uri_list(),
                scopes=form.scopes.data,
                confidential=form.confidential.data,
                service_role=form.service_role.data or None,
                actor=g.principal,
            )
        if done:
            flash(_("%(name)s is registered.", name=client.name), "success")
            return _detail(client, secret)  # the secret is shown this once, never again
    return render_template("oauth/clients/new.html", form=form), form_status(form)


@bp.get("/<int:api_client_id>")
@login_required
@access.require("api_clients.manage")
def detail(api_client_id: int):
    return _detail(get_or_404(OAuthClient, api_client_id))


def _detail(client: OAuthClient, secret: str | None = None):
    return render_template(
        "oauth/clients/detail.html",
        client=client,
        secret=secret,
        confirm=ConfirmForm(),
        events=audit.history_for(client),
    )


@bp.post("/<int:api_client_id>/rotate-secret")
@login_required
@access.require("api_clients.manage")
def rotate_secret(api_client_id: int):
    client = get_or_404(OAuthClient, api_client_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("api_clients.detail", api_client_id=client.id))
    with attempt() as done:
        secret = services.rotate_secret(client, actor=g.principal)
    if not done:
        return redirect(url_for("api_clients.detail", api_client_id=client.id))
    flash(_("A new secret is made; the old one no longer works."), "success")
    return _detail(client, secret)


@bp.post("/<int:api_client_id>/<any(enable, disable):change>")
@login_required
@access.require("api_clients.manage")
def set_active(api_client_id: int, change: str):
    client = get_or_404(OAuthClient, api_client_id)
    if ConfirmForm().validate_on_submit():
        services.set_client_active(client, change == "enable", actor=g.principal)
        db.session.commit()
        flash(
            _("%(name)s is enabled.", name=client.name)
            if client.status == ClientStatus.active
            else _("%(name)s is disabled; its tokens no longer work.", name=client.name),
            "success",
        )
    return redirect(url_for("api_clients.detail", api_client_id=client.id))
