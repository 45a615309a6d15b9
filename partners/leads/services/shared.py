"""Leads partners share: submitted by a partner or supplier, approved into the vendor's pipeline
(credited to the partner) or rejected with a reason."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from partners.leads.models import Lead, SharedLead, SharedLeadStatus
from partners.leads.services.common import (
    LEAD_AUDIT_FIELDS,
    SHARED_AUDIT_FIELDS,
    SHARED_FIELDS,
    checked_values,
    clean_reason,
    require_action,
    require_vendor,
    shared_link,
    shared_outcome_people,
    stale_as_conflict,
    tell_channel_team,
)
from portal import audit
from portal.db import db
from portal.errors import Forbidden, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition

# Leads partners share.


def submit_shared_lead(values: dict, *, actor: Principal) -> SharedLead:
    """A partner (reseller, distributor or supplier) shares a lead it found; vendor staff review
    it. Raises InvalidInput, Forbidden."""
    if not actor.is_partner:
        raise Forbidden(_("Only partners share leads."))
    require_action(actor, "leads.share")
    cleaned = checked_values(values, SHARED_FIELDS)
    shared = SharedLead(org_id=actor.org_id, submitted_by_id=actor.user_id, **cleaned)
    db.session.add(shared)
    db.session.flush()
    audit.record(
        "shared_lead.submitted",
        shared,
        actor=actor,
        after=audit.snapshot(shared, SHARED_AUDIT_FIELDS),
    )
    tell_channel_team(
        "leads.shared_submitted",
        _l("A partner shared a lead: %(company)s", company=shared.company),
        _l(
            "%(company)s (%(country)s, %(line)s) waits for your review.",
            company=shared.company,
            country=shared.country,
            line=shared.product_line,
        ),
        link=shared_link(shared.id),
    )
    return shared


def approve_shared_lead(shared: SharedLead, *, actor: Principal, note: str = "") -> Lead:
    """Take a shared lead into the vendor's pipeline as a new lead credited to the partner.
    Raises InvalidTransition, Forbidden."""
    require_vendor(actor, "leads.review")
    note = clean_reason(note, field="note", required=False)
    if shared.status != SharedLeadStatus.submitted:
        raise InvalidTransition(_("This shared lead is %(s)s already.", s=shared.status))
    lead = Lead(
        org_id=actor.org_id,
        company=shared.company,
        contact_name=shared.contact_name,
        email=shared.email,
        country=shared.country,
        product_line=shared.product_line,
        notes=shared.notes,
        source="partner",
        credited_to_org_id=shared.org_id,
    )
    db.session.add(lead)
    db.session.flush()
    audit.record(
        "lead.created",
        lead,
        actor=actor,
        after={**audit.snapshot(lead, LEAD_AUDIT_FIELDS), "shared_lead_id": shared.id},
    )
    with stale_as_conflict():
        transition(
            shared,
            SharedLeadStatus.approved,
            actor=actor,
            changes={"decision_reason": note, "lead_id": lead.id},
        )
    notify.notify(
        shared_outcome_people(shared),
        "leads.shared_decided",
        _l("Shared lead approved: %(company)s", company=shared.company),
        _l(
            "The vendor took %(company)s into its pipeline, credited to your organisation.%(note)s",
            company=shared.company,
            note=f" {note}" if note else "",
        ),
        link=shared_link(shared.id),
    )
    return lead


def reject_shared_lead(shared: SharedLead, reason: str, *, actor: Principal) -> None:
    """Turn a shared lead down, saying why (the partner reads it). Raises InvalidInput,
    InvalidTransition, Forbidden."""
    require_vendor(actor, "leads.review")
    reason = clean_reason(reason)
    if shared.status != SharedLeadStatus.submitted:
        raise InvalidTransition(_("This shared lead is %(s)s already.", s=shared.status))
    with stale_as_conflict():
        transition(
            shared, SharedLeadStatus.rejected, actor=actor, changes={"decision_reason": reason}
        )
    notify.notify(
        shared_outcome_people(shared),
        "leads.shared_decided",
        _l("Shared lead rejected: %(company)s", company=shared.company),
        _l("The vendor rejected %(company)s: %(reason)s", company=shared.company, reason=reason),
        link=shared_link(shared.id),
    )
