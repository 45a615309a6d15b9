"""Lead use cases: create and edit leads, offer them to partners (by hand or by rule), the
partner's answer, expiry and reminders (the periodic ``tick``), outcomes, and leads partners share.

Services take plain values and a ``Principal`` as ``actor`` (None: the system, in jobs and tick),
check the state machine, write an audit event per step, notify the people concerned, and only
flush; the view, API endpoint or job commits once. Errors are ``DomainError``s whose message is
safe to show: ``InvalidInput`` (422), ``InvalidTransition`` and ``Conflict`` (409), ``Forbidden``.

State machines:
    offer:        offered -> accepted | declined | expired | recalled;  accepted -> recalled
    lead:         new -> offered -> accepted -> won | lost;  offered/accepted -> new (the offer
                  ended: declined, expired, recalled); new -> won | lost (vendor staff)
    shared lead:  submitted -> approved | rejected
"""

from __future__ import annotations

from partners.leads.services.common import (  # noqa: F401
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
    channel_team,
    clean_lead_values,
    country_choices,
    country_code,
    lead_path,
    partner_people,
    require_vendor,
    shared_path,
)
from partners.leads.services.leads import (  # noqa: F401
    close_lead,
    create_lead,
    update_lead,
)
from partners.leads.services.offers import (  # noqa: F401
    RankedPartner,
    accept_offer,
    decline_offer,
    offer_by_rule,
    offer_lead,
    rank_partners,
    recall_offer,
    reoffer_lead,
)
from partners.leads.services.shared import (  # noqa: F401
    approve_shared_lead,
    reject_shared_lead,
    submit_shared_lead,
)
from partners.leads.services.tick import (  # noqa: F401
    BATCH,
    expire_lead_offers,
    expire_offer,
    remind_lead_offers,
)
from portal.jobs import system_session  # noqa: F401  (named here, as every use case)
from portal.text import clean_text  # noqa: F401
