"""Use cases of deal registration. Writers only flush; the caller commits once.

States: draft -> submitted -> approved (protected until expires_at) | rejected | info_requested;
info_requested -> submitted; approved -> won | lost | expired. Conflict detection runs on every
submit and flags, never drops.

The use cases, by topic: ``registrations`` (register, edit, submit, conflicts, direct deals),
``conflicts`` (the channel manager settles a conflict before protection), ``first_review``
(a distributor's first approval of its resellers' registrations), ``decisions``
(approve, reject, ask, close, expire, win by quote), ``extensions``.
"""

from partners.deals.models import AUDIT_FIELDS, EDITABLE_FIELDS
from partners.deals.services.common import CURRENCIES, DEFAULT_PROTECTION_DAYS, REGISTERING_KINDS
from partners.deals.services.conflicts import settle_conflict, sides
from partners.deals.services.decisions import (
    approve_deal,
    close_deal,
    expire_protection,
    reject_deal,
    request_information,
    win_deal_by_quote,
)
from partners.deals.services.extensions import (
    decline_extension,
    extend_protection,
    request_extension,
)
from partners.deals.services.first_review import (
    pass_to_vendor,
    programme,
    reject_first_review,
    set_distributor_first_approval,
)
from partners.deals.services.registrations import (
    create_direct_deal,
    register_deal,
    submit_deal,
    update_deal,
)

__all__ = [
    "AUDIT_FIELDS",
    "CURRENCIES",
    "DEFAULT_PROTECTION_DAYS",
    "EDITABLE_FIELDS",
    "REGISTERING_KINDS",
    "approve_deal",
    "close_deal",
    "create_direct_deal",
    "decline_extension",
    "expire_protection",
    "extend_protection",
    "register_deal",
    "reject_deal",
    "request_extension",
    "pass_to_vendor",
    "programme",
    "reject_first_review",
    "request_information",
    "set_distributor_first_approval",
    "settle_conflict",
    "sides",
    "submit_deal",
    "update_deal",
    "win_deal_by_quote",
]
