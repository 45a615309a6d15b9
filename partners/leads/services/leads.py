"""Leads themselves: created, edited and closed (won or lost) by vendor staff or the partner
that works them."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from partners.leads import queries
from partners.leads.models import Lead, LeadStatus, OfferStatus
from partners.leads.services.common import (
    LEAD_AUDIT_FIELDS,
    OUTCOMES,
    checked_values,
    flush_changes,
    lead_link,
    move_lead_for_partner,
    offer_concerns,
    require_action,
    require_vendor,
    stale_as_conflict,
)
from portal import audit, people
from portal.concurrency import check_unchanged
from portal.db import db
from portal.errors import InvalidInput, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.text import clean_text
from portal.workflow import transition

# Leads.


def create_lead(values: dict, *, actor: Principal, source: str = "manual") -> Lead:
    """A new lead in the vendor's pipeline (status new). Raises InvalidInput."""
    require_vendor(actor, "leads.manage")
    cleaned = checked_values(values)
    lead = Lead(org_id=actor.org_id, source=clean_text(source)[:60] or "manual", **cleaned)
    db.session.add(lead)
    db.session.flush()
    audit.record("lead.created", lead, actor=actor, after=audit.snapshot(lead, LEAD_AUDIT_FIELDS))
    return lead


def update_lead(lead: Lead, values: dict, *, seen: str | None, actor: Principal) -> bool:
    """Save what someone edited in a form opened at the version ``seen`` (a snapshot from
    ``portal.concurrency``). Raises EditConflict if the lead changed since, InvalidInput.
    Returns whether anything changed."""
    require_vendor(actor, "leads.manage")
    check_unchanged(lead, seen)
    cleaned = checked_values(values)
    changed = {k: v for k, v in cleaned.items() if getattr(lead, k) != v}
    if not changed:
        return False
    before = audit.snapshot(lead, LEAD_AUDIT_FIELDS)
    for name, value in changed.items():
        setattr(lead, name, value)
    flush_changes()
    audit.record(
        "lead.edited",
        lead,
        actor=actor,
        before=before,
        after=audit.snapshot(lead, LEAD_AUDIT_FIELDS),
    )
    return True


def close_lead(lead: Lead, outcome: str, *, actor: Principal) -> None:
    """Record a lead as won or lost: vendor staff who manage leads (any lead not offered right
    now), or the partner that accepted it. Raises InvalidInput, InvalidTransition, Forbidden."""
    if outcome not in OUTCOMES:
        raise InvalidInput(_("Choose won or lost."), field="outcome")
    if lead.status in OUTCOMES:
        raise InvalidTransition(_("This lead is already closed as %(s)s.", s=lead.status))
    offer = queries.open_offer(lead.id)
    if actor.is_vendor_staff:
        require_action(actor, "leads.manage")
        if lead.status == LeadStatus.offered:
            raise InvalidTransition(
                _("The lead waits for the partner's answer: recall the offer first.")
            )
        with stale_as_conflict():
            transition(lead, outcome, actor=actor)
        told = people.who_may("leads.respond", offer.org_id) if offer is not None else []
    else:
        require_action(actor, "leads.respond")
        if offer is None or offer.org_id != actor.org_id or offer.status != OfferStatus.accepted:
            raise InvalidTransition(_("Accept the lead before you record its outcome."))
        move_lead_for_partner(lead, outcome, actor=actor)
        told = offer_concerns(offer)
    if offer is not None:
        audit.record(f"lead_offer.{outcome}", offer, actor=actor, after={"lead_status": outcome})
    notify.notify(
        told,
        "leads.response",
        _l("Lead %(company)s: %(outcome)s", company=lead.company, outcome=outcome),
        _l(
            "The lead %(company)s was closed as %(outcome)s.",
            company=lead.company,
            outcome=outcome,
        ),
        link=lead_link(lead.id),
    )
