"""Quote use cases: build a draft (lines priced from the catalogue, rules, discounts within a
role's limit), send it with its stored PDF, the recipient's first opening and answer, versions
(revise, discard a draft revision), partners' quote requests, and expiry by the periodic tick.

Services take plain values and a ``Principal`` as ``actor``, check the state machine, write an
audit event per step, notify the people concerned, and only flush; the view, API endpoint or job
commits once. Errors are ``DomainError``s whose message is safe to show: ``InvalidInput`` (422),
``InvalidTransition`` and ``Conflict`` (409; ``EditConflict`` for a stale page), ``Forbidden``.

States of one version: draft -> sent -> viewed -> accepted | declined | expired. Revising makes a
new draft version of the same number; the version it revises stays live for the recipient until
the revision is *sent*, which supersedes it (a draft revision may be discarded, changing nothing
else). Expiry runs on the periodic tick; acceptance of a version past its validity is refused
even before the tick has marked it. A quote request: open -> quoted | closed.
"""

from __future__ import annotations

from partners.quotes.services.answers import (  # noqa: F401
    accept_quote,
    decline_quote,
)
from partners.quotes.services.common import (  # noqa: F401
    AUDIT_FIELDS,
    DISCOUNT_LIMITS,
    EDITABLE_FIELDS,
    MAX_AMOUNT,
    MAX_QUANTITY,
    SNAPSHOT_FIELDS,
    TRANSITIONS,
)
from partners.quotes.services.drafts import (  # noqa: F401
    add_line,
    approve_discounts,
    create_quote,
    preview_pdf,
    remove_line,
    reprice,
    rule_violations,
    update_quote,
)
from partners.quotes.services.requests import (  # noqa: F401
    close_request,
    request_quote,
)
from partners.quotes.services.tick import expire_quotes  # noqa: F401
from partners.quotes.services.versions import (  # noqa: F401
    discard_revision,
    mark_viewed,
    revise_quote,
    send_quote,
    stored_pdf,
)
