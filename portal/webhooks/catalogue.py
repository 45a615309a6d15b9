"""Which events a webhook may subscribe to, and what a delivery's body holds.

The event types are the platform's own: every move of a record with a workflow
(``<record>.<status>``, or the one name its workflow gives every move) and the facts announced
besides (``case.solved``). Delivery state and credentials (mail, exports, API clients,
invitations, webhooks themselves) are not offered.

A body is ``{"id", "type", "timestamp", "data"}``: ``data`` is the record as the subscribing
organisation's API shows it (the API's own read endpoint, run under that organisation's
principal), with the status it left and reached; for a record the API has no endpoint for, its
id and status. An event whose record the subscriber may not see has no body at all.
"""

from __future__ import annotations

import json
from datetime import datetime
from fnmatch import fnmatchcase

from flask import current_app, g
from sqlalchemy import select

from portal import access
from portal.db import Base
from portal.tenancy import Principal

# Records whose events are internal delivery state or credentials, never offered.
INTERNAL_RECORDS = frozenset(
    {"export", "api_client", "outbox_message", "invitation", "webhook_delivery"}
)
# Facts announced apart from a workflow's moves (``portal.workflow.announce``, ``event=``).
ANNOUNCED = (
    "case.solved",
    "case.closed",
    "case.reopened",
    "case.merged",
    "lead.recalled",
    "idea.status_changed",
    "quote.request_quoted",
    "quote.request_closed",
    "nps_campaign.unscheduled",
    "article.published",
)
# The API's read endpoint of a kind of record: a body's ``data`` is what it answers.
RECORD_ENDPOINTS = {
    "DealRegistration": "api.get_deal",
    "Lead": "api.get_lead",
    "SharedLead": "api.get_shared_lead",
    "Quote": "api.get_quote",
    "FundRequest": "api.get_fund_request",
    "Case": "api.get_case",
    "Article": "api.get_article",
}


def event_types() -> list[str]:
    """Every event type a webhook may receive, sorted."""
    from portal.workflow import stateful_models, workflow_of

    types = set(ANNOUNCED)
    for model in stateful_models():
        flow = workflow_of(model)
        if flow.name in INTERNAL_RECORDS:
            continue
        if flow.event:
            types.add(flow.event)
        else:
            types.update(f"{flow.name}.{status.value}" for status in flow.statuses)
    return sorted(types)


def records_of_types() -> dict[str, str]:
    """Event prefix (``deal``) -> the model's class name (``DealRegistration``)."""
    from portal.workflow import stateful_models, workflow_of

    return {workflow_of(m).name: m.__name__ for m in stateful_models()}


def pattern_matches(pattern: str, event_type: str) -> bool:
    return pattern == event_type or fnmatchcase(event_type, pattern)


def unknown_patterns(patterns: list[str]) -> list[str]:
    """The patterns that match no event type (a typo, or an internal record)."""
    known = event_types()
    return [p for p in patterns if not any(pattern_matches(p, t) for t in known)]


def matches(patterns: list[str], event_type: str) -> bool:
    return any(pattern_matches(p, event_type) for p in patterns)


def subscriber_principal(org_id: int, org_kind: str) -> Principal:
    """What a delivery's body is built as: the organisation, with its admins' role and the API's
    read scopes (as a client of that organisation reading its own records)."""
    return Principal(
        org_id=org_id,
        org_kind=org_kind,
        role=access.admin_role_for(org_kind).name,
        user_id=None,
        scopes=frozenset(s for s in access.SCOPES if s.endswith(":read")),
    )


def model_named(name: str) -> type | None:
    for mapper in Base.registry.mappers:
        if mapper.class_.__name__ == name:
            return mapper.class_
    return None


def record_data(session, record_type: str, record_id: int, principal: Principal) -> dict | None:
    """The record as ``principal``'s API shows it, read on ``session`` (bound to the principal
    behind the wall); None when it may not see it."""
    model = model_named(record_type)
    if model is None:
        return None
    if session.scalars(select(model.id).where(model.id == record_id)).one_or_none() is None:
        return None
    endpoint = RECORD_ENDPOINTS.get(record_type)
    if endpoint is None or endpoint not in current_app.view_functions:
        return {"id": record_id}
    return _api_answer(endpoint, record_id, principal)


def _api_answer(endpoint: str, record_id: int, principal: Principal) -> dict | None:
    from portal.api import guard
    from portal.api.errors import ApiError

    rule = next(current_app.url_map.iter_rules(endpoint))
    (param,) = rule.arguments
    values = {param: record_id}
    path = current_app.url_map.bind("portal.invalid").build(endpoint, values)
    # The API's read endpoint itself, without its HTTP front (no token: the principal is
    # given): its access checks, its wall and its serialiser decide what the body says.
    with current_app.test_request_context(path, method="GET"):
        g.principal = principal
        try:
            guard.check_record_first(endpoint, values)
            response = current_app.make_response(current_app.view_functions[endpoint](**values))
        except ApiError:
            return None
    if response.status_code != 200:
        return None
    return json.loads(response.get_data())


def body(
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    record_type: str,
    before: str | None,
    after: str | None,
    data: dict,
) -> str:
    return json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "timestamp": occurred_at.isoformat(),
            "data": {
                "object": _object_name(record_type),
                "previous_status": before,
                "status": after,
                **data,
            },
        },
        separators=(",", ":"),
        sort_keys=False,
        default=str,
    )


def _object_name(record_type: str) -> str:
    names = {v: k for k, v in records_of_types().items()}
    return names.get(record_type, record_type.lower())
