"""Lead use cases: create and edit leads, offer them to partners (by hand or by rule), the
partner's answer, expiry and reminders (the periodic ``tick``), outcomes, and leads partners share.

Services take plain values and a ``Principal`` as ``actor`` (None: the system, in jobs and tick),
check the state machine, write an audit event per step, notify the people concerned, and only
flush; the view, API endpoint or job commits once. Errors are ``DomainError``s whose message is
safe to show: ``InvalidInput`` (422), ``InvalidTransition`` and ``Conflict`` (409), ``Forbidden``.

State machines (declared once, on the models' ``workflow``; every move goes through
``portal.workflow.transition``):
    offer:        offered -> accepted | declined | expired | recalled;  accepted -> recalled
                  (a distributor's accepted offer may be passed down to one of its resellers
                  as a new offer; its end leaves the lead with the distributor: ``passing``)
    lead:         new -> offered -> accepted -> won | lost;  offered/accepted -> new (the offer
                  ended: declined, expired, recalled); new -> won | lost (vendor staff)
    shared lead:  submitted -> approved | rejected
"""

from __future__ import annotations

from partners.leads.services.answers import accept_offer, decline_offer
from partners.leads.services.common import (
    EDITABLE_FIELDS,
    LEAD_AUDIT_FIELDS,
    LEAD_FIELDS,
    MAX_REASON,
    OFFER_AUDIT_FIELDS,
    OUTCOMES,
    REQUIRED_FIELDS,
    RULE_WINDOW,
    SHARED_AUDIT_FIELDS,
    SHARED_FIELDS,
    clean_lead_values,
    country_choices,
    country_code,
    lead_link,
    require_vendor,
    shared_link,
)
from partners.leads.services.leads import close_lead, create_lead, update_lead
from partners.leads.services.offers import offer_by_rule, offer_lead, recall_offer, reoffer_lead
from partners.leads.services.passing import pass_down, recall_pass_down
from partners.leads.services.ranking import RankedPartner, rank_partners
from partners.leads.services.shared import (
    approve_shared_lead,
    reject_shared_lead,
    submit_shared_lead,
)
from partners.leads.services.tick import (
    BATCH,
    expire_lead_offers,
    expire_offer,
    remind_lead_offers,
)
from portal.text import clean_text

__all__ = [
    "BATCH",
    "EDITABLE_FIELDS",
    "LEAD_AUDIT_FIELDS",
    "LEAD_FIELDS",
    "MAX_REASON",
    "OFFER_AUDIT_FIELDS",
    "OUTCOMES",
    "REQUIRED_FIELDS",
    "RULE_WINDOW",
    "SHARED_AUDIT_FIELDS",
    "SHARED_FIELDS",
    "RankedPartner",
    "accept_offer",
    "approve_shared_lead",
    "clean_lead_values",
    "clean_text",
    "close_lead",
    "country_choices",
    "country_code",
    "create_lead",
    "decline_offer",
    "expire_lead_offers",
    "expire_offer",
    "lead_link",
    "offer_by_rule",
    "offer_lead",
    "pass_down",
    "rank_partners",
    "recall_offer",
    "recall_pass_down",
    "reject_shared_lead",
    "remind_lead_offers",
    "reoffer_lead",
    "require_vendor",
    "shared_link",
    "submit_shared_lead",
    "update_lead",
]
