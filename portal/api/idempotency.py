"""``Idempotency-Key`` on POST: the same key and body gets the first response again; the same key
with another body is 422. Keys are scoped per organisation and client, and the first response is
stored in the same transaction as the change it reports, so a retry never repeats the change."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Response, g, json, request
from sqlalchemy import select

from portal.api.errors import ApiError
from portal.db import db
from portal.errors import DomainError
from portal.oauth.models import IdempotencyRecord

HEADER = "Idempotency-Key"


def _fingerprint() -> str:
    return hashlib.sha256(
        request.method.encode() + b" " + request.path.encode() + b"\n" + request.get_data()
    ).hexdigest()


def run_once(handler: Callable[[], tuple[dict, int]]) -> Response:
    """Run ``handler`` (returning a JSON-ready body and a status) at most once per key."""
    key = request.headers.get(HEADER)
    if key is None:
        body, status = handler()
        return _json(body, status)
    if not 1 <= len(key) <= 200:
        raise ApiError(422, "Unprocessable Content", f"{HEADER} must be 1 to 200 characters.")
    token = g.api_token
    stored = db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.org_id == token.client.org_id,
            IdempotencyRecord.client_pk == token.client_pk,
            IdempotencyRecord.key == key,
        )
    )
    fingerprint = _fingerprint()
    if stored is not None:
        if stored.fingerprint != fingerprint:
            raise ApiError(
                422, "Unprocessable Content", f"This {HEADER} was used with a different request."
            )
        response = _json(stored.response_body, stored.status_code)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    body, status = handler()
    db.session.add(
        IdempotencyRecord(
            org_id=token.client.org_id,
            client_pk=token.client_pk,
            key=key,
            fingerprint=fingerprint,
            status_code=status,
            response_body=body,
        )
    )
    return _json(body, status)


def write_once(handler: Callable[[], dict], status: int = 200) -> Response:
    """A write endpoint's whole tail: run the use case ``handler`` (returning a JSON-ready body)
    once per ``Idempotency-Key``, turn a domain error into its problem, commit."""

    def run():
        try:
            return handler(), status
        except DomainError as error:
            title = {403: "Forbidden", 409: "Conflict"}.get(
                error.status_code, "Unprocessable Content"
            )
            raise ApiError(error.status_code, title, error.message) from None

    response = run_once(run)
    db.session.commit()
    return response


def _json(body: dict, status: int) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
