"""Errors of the API as ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

from flask import Response, json, request
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict] | None = None


class ApiError(Exception):
    """Raised by API code: becomes a problem response with ``status``."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        headers: dict | None = None,
        errors: list[dict] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.headers, self.errors = headers or {}, errors


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    headers: dict | None = None,
    errors: list[dict] | None = None,
) -> Response:
    body = Problem(title=title, status=status, detail=detail, errors=errors)
    response = Response(
        json.dumps(body.model_dump(exclude_none=True)), status=status, mimetype=PROBLEM_JSON
    )
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def from_api_error(error: ApiError) -> Response:
    return problem_response(error.status, error.title, error.detail, error.headers, error.errors)


def from_http_exception(error: HTTPException) -> Response:
    if error.code == 405 and _names_an_id_past_int32(request.path):
        # Ids are int32 (resources.ID), so such a path names no record: 404, as for any missing
        # one. Werkzeug says 405 when another method's rule of the same path matched first.
        return problem_response(404, "Not Found", "No such record.")
    headers = {k: v for k, v in error.get_headers() if k.lower() in {"allow", "retry-after"}}
    return problem_response(error.code or 500, error.name, error.description, headers)


def _names_an_id_past_int32(path: str) -> bool:
    return any(part.isdigit() and int(part) > 2**31 - 1 for part in path.split("/"))


def problemize(document: dict) -> dict:
    """Declare every 4xx/5xx response of the document as problem+json."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code[0] in "45" and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    return document
