"""The OpenAPI 3.1 document's top-level ``webhooks`` section: one entry per event type, with
its body, whose ``data`` is the record as the API's read endpoint answers (its schema, where
the API has one) and the signature headers."""

from __future__ import annotations

import re

from flask import current_app

from portal.webhooks import catalogue

SIGNATURE_HEADERS = {
    "webhook-id": "The event's id (the same for a redelivery): keep it to ignore repeats.",
    "webhook-timestamp": "Seconds since the epoch when this attempt was signed.",
    "webhook-signature": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the secret's "
    "key; during the day after a rotation, a second signature (old secret) follows, "
    "space-separated.",
}


def _record_schema(document: dict, record_type: str) -> dict:
    endpoint = catalogue.RECORD_ENDPOINTS.get(record_type)
    if endpoint is None or endpoint not in current_app.view_functions:
        return {"type": "object", "properties": {"id": {"type": "integer"}}}
    rule = next(current_app.url_map.iter_rules(endpoint))
    operation = _operation_for(document, rule.rule)
    if operation is None:
        return {"type": "object"}
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return schema or {"type": "object"}


def _operation_for(document: dict, rule: str) -> dict | None:
    openapi_path = re.sub(r"<(?:[^<>]+:)?([^<>:]+)>", r"{\1}", rule)
    return document.get("paths", {}).get(openapi_path, {}).get("get")


def webhooks_section(document: dict) -> dict:
    """``{"webhooks": {event_type: path item}}`` for the document."""
    names = catalogue.records_of_types()
    entries = {}
    for event_type in catalogue.event_types():
        prefix = event_type.partition(".")[0]
        record_type = names.get(prefix, "")
        data = _record_schema(document, record_type)
        entries[event_type] = {
            "post": {
                "summary": f"{event_type}",
                "description": (
                    f"Sent when `{event_type}` happens to a {prefix.replace('_', ' ')} the "
                    "subscribing organisation may see; `data` is the record as this API's read "
                    "endpoint shows it to that organisation, with the status it left. Signed "
                    "per the Standard Webhooks scheme. Answer 2xx within 10 seconds; anything "
                    "else is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, in "
                    "order per endpoint."
                ),
                "tags": ["webhooks"],
                "parameters": [
                    {
                        "name": name,
                        "in": "header",
                        "required": True,
                        "description": text,
                        "schema": {"type": "string"},
                    }
                    for name, text in SIGNATURE_HEADERS.items()
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["id", "type", "timestamp", "data"],
                                "properties": {
                                    "id": {"type": "string", "description": "= webhook-id"},
                                    "type": {"type": "string", "const": event_type},
                                    "timestamp": {"type": "string", "format": "date-time"},
                                    "data": {
                                        "allOf": [
                                            data,
                                            {
                                                "type": "object",
                                                "properties": {
                                                    "object": {"type": "string"},
                                                    "previous_status": {"type": ["string", "null"]},
                                                },
                                            },
                                        ]
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {"2XX": {"description": "Received; anything else is retried."}},
            }
        }
    return {"webhooks": entries}
