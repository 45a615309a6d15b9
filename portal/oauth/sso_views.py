"""The provider's callback, and the page where an organisation's admin configures sign-in."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, Optional

from portal import access, audit
from portal.db import db, get_or_404
from portal.engine import writes_on_get
from portal.errors import DomainError
from portal.identity.models import Organization
from portal.identity.views import complete_sign_in
from portal.oauth import sso, sso_settings
from portal.oauth.models import IdentityProvider
from portal.web import attempt, form_status, role_choices

bp = Blueprint("sso", __name__)


class ProviderForm(FlaskForm):
    issuer = StringField(
        _l("Issuer URL"), validators=[DataRequired(), URL(require_tld=False), Length(max=500)]
    )
    client_id = StringField(_l("Client ID"), validators=[DataRequired(), Length(max=200)])
    client_secret = PasswordField(
        _l("Client secret"),
        validators=[Optional(), Length(max=500)],
        description=_l("Leave blank to keep the saved one."),
    )
    allowed_domains = TextAreaField(
        _l("Email domains, one per line"), validators=[DataRequired(), Length(max=2000)]
    )
    default_role = SelectField(_l("Role of people who sign in for the first time"))
    password_login_allowed = BooleanField(
        _l("People may still sign in with a password"), default=True
    )


@bp.get("/sso/callback")
@writes_on_get  # signs in: a session row, the sign-in time, a first sign-in's account
def callback():
    try:
        user, next_url = sso.finish_sign_in()
    except DomainError as error:
        db.session.rollback()
        return render_template("oauth/sso_refused.html", message=error.message), 403
    return complete_sign_in(user, next_url, signed_in_with="sso")


@bp.route("/admin/sign-in", methods=["GET", "POST"])
@login_required
@access.require("sso.manage")
def configure():
    org = get_or_404(Organization, g.principal.org_id)
    provider = db.session.scalar(select(IdentityProvider).where(IdentityProvider.org_id == org.id))
    form = ProviderForm(obj=provider)
    if request.method == "GET" and provider is not None:
        form.allowed_domains.data = "\n".join(provider.allowed_domains)
    form.default_role.choices = role_choices(org.kind)
    if form.validate_on_submit():
        with attempt(form) as done:
            sso_settings.configure_provider(
                org,
                issuer=form.issuer.data,
                client_id=form.client_id.data,
                client_secret=form.client_secret.data or None,
                allowed_domains=form.allowed_domains.data.splitlines(),
                default_role=form.default_role.data,
                password_login_allowed=form.password_login_allowed.data,
                actor=g.principal,
            )
        if done:
            flash(
                _("Sign-in through %(issuer)s is saved and in use.", issuer=form.issuer.data),
                "success",
            )
            return redirect(url_for("sso.configure"))
    return render_template(
        "oauth/sso_configure.html",
        form=form,
        provider=provider,
        callback_url=url_for("sso.callback", _external=True),
        events=audit.history_for(provider) if provider else [],
    ), form_status(form)
