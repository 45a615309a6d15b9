"""Webhook endpoints in the API (``webhooks:read``, ``webhooks:write``), through the same
services as the pages. A subscription is its organisation's alone (vendor staff included):
another organisation's id answers 404. Bad input (a URL that is not one, or points to a private
address; an event pattern that matches nothing) is a 422 naming the field, nothing written."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import g
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response

from portal.api import api
from portal.api.auth import require_action
from portal.api.errors import ApiError, Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.pagination import PageQuery, page_of
from portal.api.resources import ERRORS, ID, WRITE_ERRORS, action
from portal.db import db
from portal.errors import InvalidInput
from portal.routes import Routes
from portal.webhooks import queries, services
from portal.webhooks.models import WebhookDelivery, WebhookSubscription

TAGS = ["webhooks"]
routes = Routes()


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000, description="https://… (public address).")
    events: list[str] = Field(
        min_length=1,
        max_length=50,
        description="Event type patterns: `deal.*`, `case.solved`, `*` (see `webhooks`).",
    )
    description: str = Field("", max_length=200)


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(None, min_length=1, max_length=2000)
    events: list[str] | None = Field(None, min_length=1, max_length=50)
    description: str | None = Field(None, max_length=200)
    active: bool | None = Field(
        None, description="false: stop sending; true: send again, from where it stopped."
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    disabled_reason: str
    created_at: str
    previous_secret_valid_until: str | None = Field(
        None, description="After a rotation, deliveries are signed with the old secret too."
    )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret (`whsec_` + base64), shown this once.")


class SecretOut(BaseModel):
    secret: str
    previous_secret_valid_until: str


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None


class AttemptOut(BaseModel):
    at: str
    status_code: int | None
    latency_ms: int
    response_excerpt: str = Field(description="The answer's first kilobyte.")
    error: str


class DeliveryOut(BaseModel):
    id: int
    event_id: str = Field(description="The `webhook-id` header (the same for a redelivery).")
    event_type: str
    status: str = Field(description="pending, delivered or failed (gave up).")
    occurred_at: str
    next_attempt_at: str | None
    delivered_at: str | None
    attempts: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _out(subscription: WebhookSubscription) -> dict:
    return WebhookOut(
        id=subscription.id,
        url=subscription.url,
        events=list(subscription.events),
        description=subscription.description,
        active=subscription.active,
        disabled_reason=subscription.disabled_reason,
        created_at=subscription.created_at.isoformat(),
        previous_secret_valid_until=_iso(subscription.previous_secret_until),
    ).model_dump()


def _deliveries(rows: list[WebhookDelivery]) -> list[dict]:
    attempts = queries.attempts_of([d.id for d in rows])
    return [
        DeliveryOut(
            id=d.id,
            event_id=d.event_id,
            event_type=d.event_type,
            status=d.status,
            occurred_at=d.occurred_at.isoformat(),
            next_attempt_at=_iso(d.next_attempt_at) if d.status == "pending" else None,
            delivered_at=_iso(d.delivered_at),
            attempts=[
                AttemptOut(
                    at=a.at.isoformat(),
                    status_code=a.status_code,
                    latency_ms=a.latency_ms,
                    response_excerpt=a.response_excerpt,
                    error=a.error,
                )
                for a in attempts[d.id]
            ],
        ).model_dump()
        for d in rows
    ]


def _unprocessable(error: InvalidInput) -> ApiError:
    return ApiError(
        422,
        "Unprocessable Content",
        error.message,
        errors=[{"loc": ["body", error.field or "body"], "msg": error.message}],
    )


@routes.get("/webhooks")
@action("webhooks.view")
@api.validate(
    query=PageQuery, resp=Response(HTTP_200=WebhookPage, HTTP_422=Problem, **ERRORS), tags=TAGS
)
def list_webhooks(query: PageQuery):
    """The caller's organisation's webhook endpoints."""
    require_action("webhooks.view")
    statement = queries.subscriptions_of(g.principal.org_id).order_by(None)
    rows, cursor = page_of(statement, WebhookSubscription, query)
    return WebhookPage(items=[_out(s) for s in rows], next_cursor=cursor)


@routes.post("/webhooks")
@action("webhooks.manage")
@api.validate(
    json=WebhookIn,
    resp=Response(
        HTTP_201=WebhookCreated, HTTP_409=Problem, HTTP_415=Problem, HTTP_422=Problem, **ERRORS
    ),
    tags=TAGS,
)
def create_webhook(json: WebhookIn):
    """Subscribe an endpoint to event types; the answer holds the signing ``secret``, shown
    this once. Send an ``Idempotency-Key`` header to retry safely."""
    require_action("webhooks.manage")

    def create() -> dict:
        try:
            subscription, secret = services.create_subscription(
                g.principal.org_id,
                url=json.url,
                events=json.events,
                description=json.description,
                actor=g.principal,
            )
        except InvalidInput as error:
            raise _unprocessable(error) from None
        return {**_out(subscription), "secret": secret}

    return write_once(create, 201)


@routes.get(f"/webhooks/<{ID}:webhook_id>")
@guarded(WebhookSubscription, "webhook_id", "webhooks.view")
@api.validate(resp=Response(HTTP_200=WebhookOut, HTTP_404=Problem, **ERRORS), tags=TAGS)
def get_webhook(webhook_id: int):
    """One endpoint of the caller's organisation."""
    return WebhookOut(**_out(g.api_record))


@routes.patch(f"/webhooks/<{ID}:webhook_id>")
@guarded(WebhookSubscription, "webhook_id", "webhooks.manage")
@api.validate(
    json=WebhookPatch, resp=Response(HTTP_200=WebhookOut, **WRITE_ERRORS, **ERRORS), tags=TAGS
)
def update_webhook(webhook_id: int, json: WebhookPatch):
    """Change the URL, the event types, the description, or enable / disable the endpoint."""

    def update() -> dict:
        try:
            services.update_subscription(g.api_record, **json.model_dump(), actor=g.principal)
        except InvalidInput as error:
            raise _unprocessable(error) from None
        return _out(g.api_record)

    return write_once(update)


@routes.delete(f"/webhooks/<{ID}:webhook_id>")
@guarded(WebhookSubscription, "webhook_id", "webhooks.manage")
@api.validate(resp=Response(HTTP_204=None, HTTP_404=Problem, **ERRORS), tags=TAGS)
def delete_webhook(webhook_id: int):
    """Remove the endpoint and its delivery log."""
    services.delete_subscription(g.api_record, actor=g.principal)
    db.session.commit()
    return FlaskResponse(status=204)


@routes.post(f"/webhooks/<{ID}:webhook_id>/rotate-secret")
@guarded(WebhookSubscription, "webhook_id", "webhooks.manage")
@api.validate(json=Empty, resp=Response(HTTP_200=SecretOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def rotate_webhook_secret(webhook_id: int, json: Empty):
    """A new signing secret; for 24 hours deliveries carry a signature with the old one too."""

    def rotate() -> dict:
        secret = services.rotate_secret(g.api_record, actor=g.principal)
        return SecretOut(
            secret=secret,
            previous_secret_valid_until=g.api_record.previous_secret_until.isoformat(),
        ).model_dump()

    return write_once(rotate)


@routes.get(f"/webhooks/<{ID}:webhook_id>/deliveries")
@guarded(WebhookSubscription, "webhook_id", "webhooks.view")
@api.validate(
    query=PageQuery,
    resp=Response(HTTP_200=DeliveryPage, HTTP_404=Problem, HTTP_422=Problem, **ERRORS),
    tags=TAGS,
)
def list_webhook_deliveries(webhook_id: int, query: PageQuery):
    """The endpoint's delivery log, oldest first, each delivery with its attempts."""
    statement = queries.log_of(webhook_id).order_by(None)
    rows, cursor = page_of(statement, WebhookDelivery, query)
    return DeliveryPage(items=_deliveries(rows), next_cursor=cursor)


@routes.post(f"/webhooks/deliveries/<{ID}:delivery_id>/redeliver")
@guarded(WebhookDelivery, "delivery_id", "webhooks.manage")
@api.validate(json=Empty, resp=Response(HTTP_202=DeliveryOut, **WRITE_ERRORS, **ERRORS), tags=TAGS)
def redeliver_webhook(delivery_id: int, json: Empty):
    """Send a delivery's event again (same ``webhook-id`` and body), after what is queued for
    its endpoint. The delivery's id is unique across endpoints (see the delivery log)."""
    delivery = g.api_record
    if delivery.payload is None:
        raise ApiError(404, "Not Found", f"No delivery {delivery_id} here.")

    def again() -> dict:
        return _deliveries([services.redeliver(delivery, actor=g.principal)])[0]

    return write_once(again, 202)
