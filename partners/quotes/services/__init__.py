"""Quote use cases: build a draft (lines priced from the catalogue, rules, discounts within a
role's limit), send it with its stored PDF, the recipient's first opening and answer, versions
(revise, discard a draft revision), partners' quote requests, and expiry by the periodic tick.

Services take plain values and a ``Principal`` as ``actor``, check the state machine, write an
audit event per step, notify the people concerned, and only flush; the view, API endpoint or job
commits once. Errors are ``DomainError``s whose message is safe to show: ``InvalidInput`` (422),
``InvalidTransition`` and ``Conflict`` (409; ``EditConflict`` for a stale page), ``Forbidden``.

States of one version (``Quote.workflow``): draft -> sent -> viewed -> accepted | declined |
expired; every move goes through ``portal.workflow.transition``. Revising makes a new draft
version of the same number; the version it revises stays live for the recipient until the
revision is *sent*, which supersedes it (a draft revision may be discarded, changing nothing
else). Expiry runs on the periodic tick; acceptance of a version past its validity is refused
even before the tick has marked it. A quote request (``QuoteRequest.workflow``): open -> quoted
| closed.
"""

from __future__ import annotations

from partners.quotes.models import AUDIT_FIELDS
from partners.quotes.services.answers import accept_quote, decline_quote
from partners.quotes.services.common import (
    DISCOUNT_LIMITS,
    EDITABLE_FIELDS,
    MAX_AMOUNT,
    MAX_QUANTITY,
    SNAPSHOT_FIELDS,
)
from partners.quotes.services.drafts import (
    add_line,
    approve_discounts,
    create_quote,
    preview_pdf,
    remove_line,
    reprice,
    rule_violations,
    update_quote,
)
from partners.quotes.services.requests import close_request, request_quote
from partners.quotes.services.tick import expire_quotes
from partners.quotes.services.versions import (
    discard_revision,
    mark_viewed,
    revise_quote,
    send_quote,
    stored_pdf,
)

__all__ = [
    "AUDIT_FIELDS",
    "DISCOUNT_LIMITS",
    "EDITABLE_FIELDS",
    "MAX_AMOUNT",
    "MAX_QUANTITY",
    "SNAPSHOT_FIELDS",
    "accept_quote",
    "add_line",
    "approve_discounts",
    "close_request",
    "create_quote",
    "decline_quote",
    "discard_revision",
    "expire_quotes",
    "mark_viewed",
    "preview_pdf",
    "remove_line",
    "reprice",
    "request_quote",
    "revise_quote",
    "rule_violations",
    "send_quote",
    "stored_pdf",
    "update_quote",
]
