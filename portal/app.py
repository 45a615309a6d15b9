"""The application factory."""

from __future__ import annotations

import importlib
import os

from flask import Flask, abort, current_app, g, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import audit, badges, formatting, i18n, jobs, observability, product_lines
from portal import config as portal_config
from portal.db import db, set_principal
from portal.engine import database_busy, retry_after_seconds, stop_writing
from portal.errors import Forbidden
from portal.extensions import babel, bootstrap, csrf, limiter, login_manager, talisman
from portal.identity import security as identity_security
from portal.tenancy import Principal

# Feature packages are found, not imported by name, so portal depends on none of them.
FEATURE_PACKAGES = ("partners", "selfservice", "feedback")

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}


class PortalJSONProvider(DefaultJSONProvider):
    """Flask's JSON, less NUL characters in incoming strings: no database column can hold them
    (PostgreSQL refuses them outright) and no person types them."""

    def loads(self, s, **kwargs):
        return _without_nul(super().loads(s, **kwargs))


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def create_app(config: dict | None = None) -> Flask:
    """Build the portal. ``config`` overrides what the environment gives (tests use it)."""
    app = Flask(
        __name__,
        template_folder=str(portal_config.PROJECT_ROOT / "templates"),
        instance_path=str(portal_config.PROJECT_ROOT / "instance"),
    )
    app.json = PortalJSONProvider(app)
    config = dict(config or {})
    # Settings that decide others (PORTAL_ENV decides HSTS, secure cookies...) are read as if
    # they came from the environment, then the rest override.
    environ = {
        **os.environ,
        **{
            k: v
            for k, v in config.items()
            if k in portal_config.ENVIRONMENT_KEYS and isinstance(v, str)
        },
    }
    app.config.update(portal_config.from_environment(environ))
    config.pop("DATABASE_URL", None)
    app.config.update(config)
    observability.init_app(app)  # first: its request id and clock start before other hooks

    load_models()  # every model registered before the engine is used
    db.init_app(app)
    jobs.init_app(app)
    i18n.init_app(app)  # the catalogue (compiled if stale) and the language switch, first
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=_user_timezone)
    bootstrap.init_app(app)
    csrf.init_app(app)
    _init_login(app)
    _init_limits(app)
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at the proxy; HSTS tells browsers to stay on it
        strict_transport_security=app.config["HSTS"],
        strict_transport_security_max_age=31536000,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
    )

    _register_parts(app)

    app.before_request(_refuse_nul_in_forms)
    app.before_request(_resolve_principal)
    app.before_request(identity_security.before_request)  # after the principal is known
    app.after_request(identity_security.after_request)
    app.after_request(_no_store_for_signed_in)
    _init_errors(app)
    app.context_processor(_template_globals)
    app.add_template_filter(audit.shown, "shown")
    app.add_template_filter(audit.described, "described")
    app.add_template_filter(audit.status_label, "status_label")
    app.add_template_global(badges.status_badge, "status_badge")
    app.add_template_filter(product_lines.label, "product_line")
    for name, function in formatting.FILTERS.items():
        app.add_template_filter(function, name)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` proxies, ``request.remote_addr`` (recorded on acceptances,
    counted by sign-in limits) and the scheme are the client's, as the proxies forwarded them."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def load_models() -> None:
    """Import every module that maps tables (the platform's, then each feature package's
    ``models``), so the metadata is complete: before the engine is used, and for ``db check``."""
    for module in (
        "portal.audit",
        "portal.identity.models",
        "portal.identity.security.models",
        "portal.notify.models",
        "portal.mailin.models",
        "portal.oauth.models",
        "portal.segments.models",
        "portal.export_jobs",
        "portal.webhooks.models",
    ):
        importlib.import_module(module)
    for package in FEATURE_PACKAGES:
        try:
            importlib.import_module(f"{package}.models")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.models":
                raise


def _register_parts(app: Flask) -> None:
    """Every part registers itself, in this order: its blueprints (pages and API resources),
    navigation, notification kinds, periodic jobs, seeders and event subscriptions, in one
    ``init_app``. The API blueprint is registered last, once every part has added its routes."""
    from portal import (
        api,
        cli,
        dashboard,
        export,
        identity,
        notify,
        planner_statistics,
        search_views,
        segments,
        views,
        webhooks,
    )
    from portal.oauth import endpoints, server, sso, sso_views
    from portal.oauth import views as api_clients

    server.init_app(app)
    sso.oauth.init_app(app)
    for blueprint in (
        views.bp,
        notify.views_blueprint(),
        dashboard.bp,
        endpoints.bp,
        sso_views.bp,
        api_clients.bp,
        search_views.bp,
    ):
        app.register_blueprint(blueprint)
    dashboard.init_app(app)
    identity.init_app(app)
    notify.init_app(app)
    api.init_app(app)
    segments.init_app(app)  # before the feature packages, which add their criteria
    export.init_app(app)
    webhooks.init_app(app)
    jobs.add_periodic("planner_statistics", planner_statistics.refresh)
    for package in FEATURE_PACKAGES:
        importlib.import_module(package).init_app(app)
    app.register_blueprint(api.bp)
    cli.init_app(app)


def _init_login(app: Flask) -> None:
    from portal.identity import services

    login_manager.init_app(app)
    login_manager.login_view = "identity.login"
    login_manager.login_message = None
    login_manager.session_protection = None  # the server-side session row is the protection

    @login_manager.user_loader
    def load_user(session_token: str):
        return services.user_for_session(session_token)


def _init_limits(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    if app.config["REDIS_URL"]:
        # A Redis that hangs costs a request a second at most, then limits count in memory.
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1}
        )
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)


def _refuse_nul_in_forms() -> None:
    """A form value with a NUL character is a crafted request (no browser sends one), and no
    column could store it: refuse it plainly instead of failing at the database."""
    if request.method == "POST" and any("\x00" in v for v in request.form.values()):
        abort(400, description="The form contains characters that cannot be stored.")


def _resolve_principal() -> None:
    """The principal comes from the authenticated identity only, never from the request. The API
    resolves its own, from the bearer token alone (a cookie there counts for nothing)."""
    if request.blueprint == "api":
        g.principal = None
        return
    principal = (
        Principal.for_user(current_user, request.remote_addr)
        if current_user.is_authenticated
        else None
    )
    g.principal = principal
    set_principal(db.session, principal)


def _user_timezone():
    """The signed-in person's time zone (the one their browser reported, or the one they chose);
    UTC (Babel's default) for visitors, for people whose zone is not known yet, and for a stored
    name this machine does not know."""
    name = getattr(current_user, "timezone", None) if current_user else None
    return name if formatting.zone_or_none(name) is not None else None


def _no_store_for_signed_in(response):
    if g.get("principal") is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


# The layout's (templates/base.html) constant texts, once per language.
LAYOUT_TEXTS = i18n.Texts(
    skip=_l("Skip to content"),
    main_navigation=_l("Main navigation"),
    show_navigation=_l("Show navigation"),
    notifications=_l("Notifications"),
    your_account=_l("Your account"),
    security=_l("Security"),
    my_data=_l("My data"),
    language=_l("Language"),
    sign_out=_l("Sign out"),
    search=_l("Search"),
    search_the_portal=_l("Search the portal"),
    vendor=_l("Vendor portal"),
    partner=_l("Partner portal"),
    customer=_l("Customer portal"),
)


def _template_globals():
    from portal import access, navigation

    principal = g.get("principal")
    return {
        "principal": principal,
        "access": access,
        "navigation_html": lambda endpoint: navigation.navigation_html(principal, endpoint),
        "layout_texts": LAYOUT_TEXTS,
        # Read with the session at the request's start (identity.services.user_for_session).
        "unread_notifications": getattr(current_user, "unread_notifications", 0),
        "vendor_name": current_app.config["VENDOR_NAME"],
    }


def _init_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_expired(error):
        return render_template("errors/csrf.html", reason=error.description), 400

    @app.errorhandler(Forbidden)
    def forbidden(error: Forbidden):
        db.session.rollback()
        return render_template("errors/403.html", message=error.message), 403

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/api/"):
            from portal.api.errors import from_http_exception

            return from_http_exception(error)
        template = {
            403: "errors/403.html",
            404: "errors/404.html",
            413: "errors/413.html",
            429: "errors/429.html",
        }.get(error.code, "errors/generic.html")
        limit = getattr(error, "limit", None)  # flask-limiter's RateLimitExceeded
        retry_minutes = -(-limit.limit.get_expiry() // 60) if limit is not None else None
        return render_template(template, error=error, retry_minutes=retry_minutes), error.code

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        db.session.rollback()
        if database_busy(error):  # SQLite's write lock not had in time: nothing was written
            app.logger.warning("database busy on %s %s: 503", request.method, request.path)
            stop_writing()  # the page reads who is signed in without waiting for the lock
            retry = {"Retry-After": str(retry_after_seconds())}
            if request.path.startswith("/api/"):
                from portal.api.errors import problem_response

                detail = "The portal is busy. Try again in a moment."
                return problem_response(503, "Service Unavailable", detail, retry)
            return render_template("errors/503.html"), 503, retry
        if isinstance(error, StaleDataError):  # a versioned row moved under a write no service
            # settles itself: nothing was written, and the person can try again
            app.logger.warning("stale write on %s %s: 409", request.method, request.path)
            if request.path.startswith("/api/"):
                from portal.api.errors import problem_response

                detail = "Someone else changed this at the same moment. Read it again and retry."
                return problem_response(409, "Conflict", detail)
            return render_template("errors/409.html"), 409
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            from portal.api.errors import problem_response

            return problem_response(500, "Internal Server Error", "Something went wrong.")
        return render_template(
            "errors/500.html", message=_("Something went wrong on our side.")
        ), 500
