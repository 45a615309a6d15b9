"""The REST API under ``/api/v1``: OAuth bearer tokens, JSON, an OpenAPI 3.1 document generated
from the code (spectree and pydantic), problem+json errors, cursor pagination, idempotent POSTs
and rate limits per client. Each package declares its resources in a ``Routes`` table (with
``api.validate``) and its ``init_app`` adds them with ``add_routes``, before the app factory
registers the blueprint."""

from __future__ import annotations

import copy

from flask import Blueprint, current_app, g, render_template, request
from spectree import SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData
from spectree.plugins.flask_plugin import FlaskPlugin

from portal import access
from portal.api import auth, guard
from portal.api.errors import ApiError, Problem, problem_response, problemize
from portal.extensions import csrf, limiter

PREFIX = "/api/v1"
BEARER = "oauth2"


class _Plugin(FlaskPlugin):
    """spectree's Flask plugin, without its own document routes: ``/api/v1/openapi.json`` below
    serves the one document (with problem+json errors), and the reference page is ours."""

    def register_route(self, app):
        app.record(lambda state: setattr(self, "blueprint_state", state))


def _problem_on_invalid_input(req, resp, err, instance, adapter):
    if err is not None:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
            for e in adapter.validation_errors(err)
        ]
        problem = Problem(
            title="Unprocessable Content",
            status=422,
            detail="The request does not match the API's schema.",
            errors=errors,
        )
        resp.set_data(problem.model_dump_json(exclude_none=True))
        resp.mimetype = "application/problem+json"


api = SpecTree(
    "flask",
    backend=_Plugin,
    mode="strict",
    title="Partner Portal API",
    version="1",
    description="Every request carries an OAuth 2 bearer token (see "
    "/.well-known/oauth-authorization-server). Errors are application/problem+json.",
    before=_problem_on_invalid_input,
    validation_error_model=Problem,
    security_schemes=[
        SecurityScheme(
            name=BEARER,
            data=SecuritySchemeData(
                type="oauth2",
                flows={
                    "clientCredentials": {
                        "tokenUrl": "/oauth/token",
                        "scopes": {s: s for s in access.SCOPES},
                    },
                    "authorizationCode": {
                        "authorizationUrl": "/oauth/authorize",
                        "tokenUrl": "/oauth/token",
                        "refreshUrl": "/oauth/token",
                        "scopes": {s: s for s in access.SCOPES},
                    },
                },
            ),
        )
    ],
    security={BEARER: []},
)

bp = Blueprint("api", __name__, url_prefix=PREFIX)
csrf.exempt(bp)  # bearer tokens, never cookies: there is no ambient credential to forge
# One budget per client across the whole API, not one per route.
limiter.shared_limit(
    lambda: current_app.config["API_RATE_LIMIT"], scope="api", key_func=auth.client_key
)(bp)

PUBLIC_ENDPOINTS = {"api.openapi", "api.reference"}


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    # Who, may they, and is the record theirs to see — before the body (portal.api.guard).
    auth.authenticate()
    guard.check_record_first(request.endpoint, request.view_args)
    if request.method in {"POST", "PUT", "PATCH"} and not request.is_json:
        return problem_response(415, "Unsupported Media Type", "Send application/json.")
    return None


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    from portal.api.errors import from_api_error

    return from_api_error(error)


@bp.get("/openapi.json")
def openapi():
    document = problemize(copy.deepcopy(api.spec))
    document["servers"] = [{"url": current_app.config["BASE_URL"]}]
    for section in DOCUMENT_SECTIONS:  # top-level sections a package adds (``webhooks``)
        document.update(section(document))
    return document


@bp.get("/docs")
def reference():
    """A browsable reference, rendered here from the same document (no CDN, works offline)."""
    return render_template("api/reference.html", document=openapi(), principal=g.get("principal"))


DOCUMENT_SECTIONS: list = []


def add_document_section(build) -> None:
    """Add top-level sections to the OpenAPI document: ``build(document) -> {name: value}``
    (registering the same function again keeps one)."""
    key = (build.__module__, build.__qualname__)
    DOCUMENT_SECTIONS[:] = [f for f in DOCUMENT_SECTIONS if (f.__module__, f.__qualname__) != key]
    DOCUMENT_SECTIONS.append(build)


def add_routes(routes) -> None:
    """Add a package's API resources (a ``portal.routes.Routes``) to the API blueprint."""
    routes.add_to(bp)


def init_app(app) -> None:
    """The platform's own resources; the app factory registers the blueprint after every
    package has added its routes."""
    from portal.api import resources
    from portal.identity import api as identity_api

    add_routes(resources.routes)
    add_routes(identity_api.routes)  # organisations
