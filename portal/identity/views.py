"""Sign-in, sign-out, password reset, invitations and the user's own account page."""

from __future__ import annotations

from flask import (
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from portal.db import db
from portal.extensions import limiter
from portal.identity import services
from portal.identity.forms import (
    AcceptInvitationForm,
    BrowserTimezoneForm,
    ChangePasswordForm,
    ConfirmForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    ProfileForm,
)
from portal.notify import KINDS
from portal.notify import services as notify
from portal.oauth import sso
from portal.routes import Routes
from portal.web import attempt, form_status, safe_next_url

routes = Routes()


def _password_was_wrong(response) -> bool:
    # Only a wrong password (or unknown address) counts towards the limits: not a success, not a
    # form sent incomplete, and not an attempt the limits refused before any password was tried.
    return g.get("sign_in_failed", False)


def _account() -> str:
    return services.normalise_email(request.form.get("email", "")) or "-"


def _account_and_address() -> str:
    return f"{_account()} {get_remote_address()}"


def _failures_limited(setting: str, key_func):
    """Wrong passwords limited as ``setting`` says, counted per ``key_func()``."""
    return limiter.limit(
        lambda: current_app.config[setting],
        methods=["POST"],
        key_func=key_func,
        deduct_when=_password_was_wrong,
        scope=setting.lower(),
    )


# Three limits, so that guessing from elsewhere cannot lock an account's owner out: tight for one
# account from one address; looser for one address, whatever accounts it tries; and high for one
# account from every address together, against guessing spread over many. Counted in Redis when
# REDIS_URL is set (shared by every process), in each process's memory otherwise.
@routes.route("/login", methods=["GET", "POST"])
@_failures_limited("LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS", _account_and_address)
@_failures_limited("LOGIN_LIMIT_PER_ADDRESS", get_remote_address)
@_failures_limited("LOGIN_LIMIT_PER_ACCOUNT_ACROSS_ADDRESSES", _account)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email, password = form.email.data, form.password.data or ""
        provider = sso.provider_for_email(email)
        if provider is not None and (not password or not provider.password_login_allowed):
            # A page that moves on by itself, not a redirect: the browser applies this form's
            # CSP form-action 'self' to redirects, and the provider is another origin.
            url = sso.start_sign_in(provider, safe_next_url(request.args.get("next")))
            response = make_response(render_template("oauth/sso_redirect.html", url=url))
            response.headers["Cache-Control"] = "no-store"
            return response
        if not password:
            form.password.errors = [_("Enter your password.")]
        else:
            user = services.account_for_sign_in(email)
            by_password = user is None or sso.password_login_allowed(user.org_id)
            # The reading ends before the password check: on SQLite a POST's transaction holds
            # the one write lock from its first statement, and the check takes tens of
            # milliseconds on purpose. A sign-in then writes once, briefly (complete_sign_in).
            db.session.commit()
            if not services.check_password(user, password):
                g.sign_in_failed = True
                form.form_errors.append(_("Email or password is not correct."))
            elif not by_password:
                db.session.commit()  # a renewed password hash, if any
                form.form_errors.append(
                    _(
                        "Your organisation signs in through its identity "
                        "provider: leave the password empty."
                    )
                )
            else:
                from portal.identity.security import views as security

                # Signed in now, or asked for the code of a second factor first.
                return security.after_password(user, request.args.get("next"))
    status = 422 if request.method == "POST" else 200
    return render_template("identity/login.html", form=form), status


def complete_sign_in(user, next_url: str | None, *, signed_in_with: str):
    """Open the server-side session of a user whose identity was just proven (password, second
    factor or identity provider: ``signed_in_with``) and go on to where they were heading. One
    short write transaction: the session row, the time of sign-in and a renewed password hash,
    if any."""
    token = services.start_session(
        user, request.remote_addr, request.user_agent.string, signed_in_with
    )
    db.session.commit()
    session.clear()  # a new session after sign-in: nothing planted before it survives
    user.session_token = token
    login_user(user)
    session.permanent = True
    return redirect(safe_next_url(next_url) or url_for("dashboard.home"))


@routes.post("/logout")
@login_required
def logout():
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("dashboard.home"))
    services.end_session(current_user.session_token)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("identity.login"))


@routes.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], scope="password-forgot")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        flash(
            _("If an account has this address, we sent it a link to choose a new password."), "info"
        )
        return redirect(url_for("identity.login"))
    return render_template("identity/forgot_password.html", form=form), form_status(form)


@routes.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if not services.reset_token_is_valid(token):
        return render_template("identity/link_invalid.html", what=_("password reset link")), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.reset_password(token, form.password.data, ip_address=request.remote_addr)
        if done:
            flash(_("Your password is changed. Sign in with it."), "success")
            return redirect(url_for("identity.login"))
    return render_template("identity/reset_password.html", form=form), form_status(form)


@routes.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render_template("identity/link_invalid.html", what=_("invitation")), 410
    form = AcceptInvitationForm(name=invitation.name)
    if form.validate_on_submit():
        with attempt(form) as done:
            services.accept_invitation(
                token,
                name=form.name.data,
                password=form.password.data,
                ip_address=request.remote_addr,
            )
        if done:
            flash(_("Welcome! Sign in with your email and new password."), "success")
            return redirect(url_for("identity.login"))
        invitation = services.invitation_for_token(token)  # used meanwhile, perhaps
        if invitation is None:
            return render_template("identity/link_invalid.html", what=_("invitation")), 410
    return render_template(
        "identity/accept_invitation.html", form=form, invitation=invitation
    ), form_status(form)


@routes.route("/account", methods=["GET", "POST"])
@login_required
def account():
    profile = ProfileForm(obj=current_user)
    password_form = ChangePasswordForm(prefix="pw")
    if profile.validate_on_submit():
        with attempt(profile) as done:
            services.update_profile(
                current_user, name=profile.name.data, timezone=profile.timezone.data
            )
        if done:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("identity.account"))
    return _account_page(profile, password_form, form_status(profile))


@routes.post("/account/password")
@login_required
def change_password():
    password_form = ChangePasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        with attempt(password_form) as done:
            services.change_password(
                current_user,
                password_form.current_password.data,
                password_form.password.data,
                keep_token=current_user.session_token,
                actor=g.principal,
            )
        if done:
            flash(_("Your password is changed. Your other sessions were signed out."), "success")
            return redirect(url_for("identity.account"))
    return _account_page(ProfileForm(obj=current_user, formdata=None), password_form, 422)


@routes.post("/account/timezone")
@login_required
def browser_timezone():
    """The time zone the browser reports, stored only while the person has none (sent once by
    ``portal/static/timezone.js``): 204, or 400 for an unknown zone."""
    form = BrowserTimezoneForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.set_browser_timezone(current_user, form.timezone.data)
        if done:
            return "", 204
    return {"errors": form.errors}, 400


@routes.post("/account/notifications")
@login_required
def notification_preferences():
    if ConfirmForm().validate_on_submit():
        notify.set_email_preferences(current_user, set(request.form.getlist("email_kinds")))
        db.session.commit()
        flash(_("Your email choices are saved."), "success")
    return redirect(url_for("identity.account"))


def _account_page(profile, password_form, status: int = 200):
    off = notify.emails_off([current_user.id], KINDS)
    enabled = {k for k in KINDS if (current_user.id, k) not in off}
    return render_template(
        "identity/account.html",
        profile=profile,
        password_form=password_form,
        kinds=[k for k in KINDS.values() if k.optional],
        enabled=enabled,
        confirm=ConfirmForm(),
    ), status
