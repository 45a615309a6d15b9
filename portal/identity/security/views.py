"""The "Security" pages of one's account (second factor, sessions, authorised apps), the second
step of a password sign-in, and an organisation admin's demand for a second factor."""

from __future__ import annotations

import time

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from portal import access
from portal.db import db, get_or_404, set_principal
from portal.extensions import limiter
from portal.identity import services as identity
from portal.identity import tokens
from portal.identity.forms import ConfirmForm
from portal.identity.models import Organization, UserSession
from portal.identity.security import apps, passkeys, second_factor, sessions
from portal.identity.security.forms import (
    CodeForm,
    ConfirmCodeForm,
    DisableForm,
    PasskeyForm,
    PasskeySignInForm,
    PolicyForm,
    RemovePasskeyForm,
)
from portal.identity.security.models import Passkey
from portal.oauth import services as oauth_services
from portal.routes import Routes
from portal.tenancy import Principal
from portal.web import attempt, form_status, safe_next_url

routes = Routes()

# The half-signed-in state between the password and the code: in the signed session cookie, it
# names the person and grants nothing else; it lasts this long.
PENDING = "second_factor_pending"
PENDING_SECONDS = 5 * 60
# What a signed-in person who must enrol may still open.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "identity.security",
        "identity.second_factor_setup",
        "identity.second_factor_confirm",
        "identity.passkey_add",
        "identity.logout",
        "static",
        "bootstrap.static",
        "i18n.choose",  # the language switch
    }
)


# Sign-in, second step.


def after_password(user, next_url: str | None):
    """The password was right: sign in, or ask for the code first when the person has a second
    factor (the half-signed-in state)."""
    from portal.identity.views import complete_sign_in

    set_principal(db.session, Principal.for_user(user, request.remote_addr))  # their own factor
    if not second_factor.has_second_factor(user.id):
        return complete_sign_in(user, next_url, signed_in_with=second_factor.PASSWORD)
    db.session.rollback()  # nothing written: the transaction read the factor only
    session.clear()
    session[PENDING] = {
        "u": user.id,
        "e": user.email,
        "n": safe_next_url(next_url),
        "t": int(time.time()) + PENDING_SECONDS,
    }
    return redirect(url_for("identity.sign_in_code"))


def _pending() -> dict | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("t", 0) < time.time():
        return None
    return pending


def _pending_account() -> str:
    return (_pending() or {}).get("e", "-")


def _pending_account_and_address() -> str:
    return f"{_pending_account()} {get_remote_address()}"


def _code_was_wrong(response) -> bool:
    return g.get("sign_in_failed", False)


def _codes_limited(setting: str, key_func):
    """Wrong codes count against the sign-in limits' settings, in limits of their own."""
    return limiter.limit(
        lambda: current_app.config[setting],
        methods=["POST"],
        key_func=key_func,
        deduct_when=_code_was_wrong,
        scope=f"second_factor_{setting.lower()}",
    )


@routes.route("/login/code", methods=["GET", "POST"])
@_codes_limited("LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS", _pending_account_and_address)
@_codes_limited("LOGIN_LIMIT_PER_ADDRESS", get_remote_address)
@_codes_limited("LOGIN_LIMIT_PER_ACCOUNT_ACROSS_ADDRESSES", _pending_account)
def sign_in_code():
    from portal.identity.views import complete_sign_in

    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    pending = _pending()
    user = _pending_user(pending)
    if user is None:
        return _pending_expired()
    actor = Principal.for_user(user, request.remote_addr)
    set_principal(db.session, actor)
    form = CodeForm()
    if form.validate_on_submit():
        how = second_factor.check_sign_in_code(user, form.code.data, actor=actor)
        if how is not None:
            return complete_sign_in(user, pending.get("n"), signed_in_with=how)
        db.session.rollback()
        g.sign_in_failed = True
        form.code.errors = [_("That code is not right, or it was used already.")]
    return _code_page(user, form), form_status(form)


def _pending_user(pending: dict | None):
    user = identity.account_for_sign_in(pending["e"]) if pending else None
    if user is None or user.id != pending["u"] or not user.is_active:
        return None
    return user


def _pending_expired():
    session.pop(PENDING, None)
    flash(_("Sign in again: the step for your code has expired."), "info")
    return redirect(url_for("identity.login"))


def _code_page(user, form, passkey_failed: bool = False):
    """The second step's page: the code form (with an authenticator app) and "Use a passkey"
    (with passkeys; its options carry a fresh challenge)."""
    with_passkey = passkeys.has_passkey(user.id)
    return render_template(
        "identity/security/code.html",
        form=form,
        has_app=second_factor.has_authenticator_app(user.id),
        passkey_form=PasskeySignInForm(formdata=None) if with_passkey else None,
        passkey_options=passkeys.authentication_options(user) if with_passkey else None,
        passkey_failed=passkey_failed,
    )


@routes.post("/login/code/passkey")
@_codes_limited("LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS", _pending_account_and_address)
@_codes_limited("LOGIN_LIMIT_PER_ADDRESS", get_remote_address)
@_codes_limited("LOGIN_LIMIT_PER_ACCOUNT_ACROSS_ADDRESSES", _pending_account)
def sign_in_passkey():
    """The second step with a passkey: the browser's assertion over the challenge given on the
    code page completes the sign-in as a right code does."""
    from portal.identity.views import complete_sign_in

    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    pending = _pending()
    user = _pending_user(pending)
    if user is None:
        return _pending_expired()
    actor = Principal.for_user(user, request.remote_addr)
    set_principal(db.session, actor)
    form = PasskeySignInForm()
    challenge = passkeys.take_challenge(passkeys.SIGN_IN, user.id)  # used once, right or wrong
    if form.validate_on_submit() and passkeys.check_assertion(
        user, form.credential.data, challenge=challenge, actor=actor
    ):
        return complete_sign_in(user, pending.get("n"), signed_in_with=second_factor.PASSKEY)
    db.session.rollback()
    g.sign_in_failed = True
    return _code_page(user, CodeForm(formdata=None), passkey_failed=True), 422


def enrolment_gate():
    """``before_request``, after the principal is known: a person who must have a second factor
    and has none goes to enrolment, whatever they asked for (the API answers with tokens only)."""
    if request.blueprint == "api" or request.endpoint in ENROLMENT_ENDPOINTS:
        return None
    if g.get("principal") is None or not second_factor.needs_enrolment(current_user):
        return None
    if request.method == "GET":
        flash(_("Your organisation asks for a second factor: set up an authenticator app."), "info")
    return redirect(url_for("identity.security"))


# The account's security pages.


@routes.get("/account/security")
@login_required
def security():
    user = current_user
    factor = second_factor.factor_of(user.id)
    enabled = factor is not None and factor.confirmed_at is not None
    own_passkeys = passkeys.passkeys_of(user.id)
    return render_template(
        "identity/security/index.html",
        passkeys=own_passkeys,
        passkey_form=PasskeyForm(formdata=None),
        passkey_options=passkeys.registration_options(user),
        remove_forms={p.id: RemovePasskeyForm(prefix=f"passkey{p.id}") for p in own_passkeys},
        enabled=enabled,
        enabled_at=factor.confirmed_at if enabled else None,
        codes_left=second_factor.recovery_codes_left(user.id) if enabled else 0,
        required=second_factor.second_factor_required(user),
        sso_user=getattr(user, "signed_in_with", None) == second_factor.SSO,
        sessions_count=len(sessions.sessions_of(user)),
        apps_count=len(apps.apps_of(user.id)),
        disable_form=DisableForm(),
        confirm=ConfirmForm(),
    )


@routes.post("/account/security/second-factor/setup")
@login_required
def second_factor_setup():
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            second_factor.begin_enrolment(current_user, actor=g.principal)
        if done:
            return redirect(url_for("identity.second_factor_confirm"))
    return redirect(url_for("identity.security"))


@routes.route("/account/security/second-factor/confirm", methods=["GET", "POST"])
@login_required
def second_factor_confirm():
    setup = second_factor.pending_setup(current_user)
    if setup is None:
        return redirect(url_for("identity.security"))
    form = ConfirmCodeForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            codes = second_factor.confirm_enrolment(
                current_user,
                form.code.data,
                session_token=current_user.session_token,
                actor=g.principal,
            )
        if done:
            flash(_("Your authenticator app is set up."), "success")
            return render_template("identity/security/recovery_codes.html", codes=codes)
    return render_template("identity/security/setup.html", setup=setup, form=form), form_status(
        form
    )


@routes.post("/account/security/recovery-codes")
@login_required
def recovery_codes():
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            codes = second_factor.new_recovery_codes(current_user, actor=g.principal)
        if done:
            return render_template("identity/security/recovery_codes.html", codes=codes)
    return redirect(url_for("identity.security"))


@routes.post("/account/security/second-factor/disable")
@login_required
def second_factor_disable():
    form = DisableForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            second_factor.disable_second_factor(current_user, form.proof.data, actor=g.principal)
        if done:
            flash(_("Your authenticator app is turned off."), "success")
            return redirect(url_for("identity.security"))
    _flash_errors(form)
    return redirect(url_for("identity.security"))


@routes.post("/account/security/passkeys")
@login_required
def passkey_add():
    form = PasskeyForm()
    challenge = passkeys.take_challenge(passkeys.REGISTER, current_user.id)
    if form.validate_on_submit():
        with attempt(form) as done:
            passkey = passkeys.register(
                current_user,
                form.name.data,
                form.credential.data,
                challenge=challenge,
                actor=g.principal,
            )
            if getattr(current_user, "signed_in_with", None) not in second_factor.PROVEN:
                second_factor.mark_session(current_user.session_token, second_factor.PASSKEY)
        if done:
            flash(_("The passkey “%(name)s” is added.", name=passkey.name), "success")
            return redirect(url_for("identity.security"))
    _flash_errors(form)
    return redirect(url_for("identity.security"))


@routes.post("/account/security/passkeys/<int:passkey_id>/remove")
@login_required
def passkey_remove(passkey_id: int):
    passkey = get_or_404(Passkey, passkey_id)  # one's own passkeys only: another's is 404
    form = RemovePasskeyForm(prefix=f"passkey{passkey.id}")
    if form.validate_on_submit():
        with attempt(form) as done:
            passkeys.remove(passkey, current_user, form.proof.data, actor=g.principal)
        if done:
            flash(_("The passkey is removed."), "success")
            return redirect(url_for("identity.security"))
    _flash_errors(form)
    return redirect(url_for("identity.security"))


@routes.get("/account/security/sessions")
@login_required
def sessions_list():
    return render_template(
        "identity/security/sessions.html",
        lines=sessions.sessions_of(current_user),
        confirm=ConfirmForm(),
    )


@routes.post("/account/security/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    row = get_or_404(UserSession, session_id)  # one's own sessions only: another's is 404
    if ConfirmForm().validate_on_submit():
        if row.token_hash == tokens.hash_token(current_user.session_token):
            flash(_("To sign out here, use Sign out."), "info")
            return redirect(url_for("identity.sessions_list"))
        with attempt() as done:
            sessions.end_one_session(row, actor=g.principal)
        if done:
            flash(_("That session is signed out."), "success")
    return redirect(url_for("identity.sessions_list"))


@routes.post("/account/security/sessions/end-others")
@login_required
def end_other_sessions():
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            sessions.end_other_sessions(current_user, actor=g.principal)
        if done:
            flash(_("Your other sessions are signed out."), "success")
    return redirect(url_for("identity.sessions_list"))


@routes.get("/account/security/apps")
@login_required
def authorised_apps():
    return render_template(
        "identity/security/apps.html", lines=apps.apps_of(current_user.id), confirm=ConfirmForm()
    )


@routes.post("/account/security/apps/<int:client_id>/revoke")
@login_required
def revoke_app(client_id: int):
    client = apps.authorised_client(current_user.id, client_id)
    if client is None:  # another person's, another organisation's, or none: the same 404
        abort(404)
    if ConfirmForm().validate_on_submit():
        with attempt() as done:
            oauth_services.revoke_consent(client, actor=g.principal)
        if done:
            flash(_("%(name)s can no longer act for you.", name=client.name), "success")
    return redirect(url_for("identity.authorised_apps"))


# The organisation's demand.


@routes.route("/admin/second-factor", methods=["GET", "POST"])
@login_required
@access.require("sso.manage")
def second_factor_policy():
    org = get_or_404(Organization, g.principal.org_id)
    form = PolicyForm(require_second_factor=second_factor.org_requires_second_factor(org.id))
    if form.validate_on_submit():
        with attempt(form) as done:
            second_factor.set_second_factor_required(
                org, form.require_second_factor.data, actor=g.principal
            )
        if done:
            flash(_("The second-factor rule is saved."), "success")
            return redirect(url_for("identity.second_factor_policy"))
    return render_template(
        "identity/security/policy.html",
        form=form,
        org=org,
        staff_required=current_app.config["SECOND_FACTOR_FOR_VENDOR_STAFF"]
        and org.kind == access.VENDOR,
    ), form_status(form)


def _flash_errors(form) -> None:
    """The errors of a form posted from the Security page, which answers with a redirect, as
    messages shown there."""
    fields = [field for field in form if field.short_name != "csrf_token"]  # its own fields
    for error in [*form.form_errors, *(e for field in fields for e in field.errors)]:
        flash(error, "danger")
