"""Leads partners share: submitted by a partner or supplier, approved into the vendor's pipeline
(credited to the partner) or rejected with a reason."""

from __future__ import annotations

from flask_babel import gettext as _

from partners.leads.models import Lead, SharedLead
from partners.leads.services.common import (
    LEAD_AUDIT_FIELDS,
    SHARED_AUDIT_FIELDS,
    SHARED_FIELDS,
    _checked,
    _flush,
    _one_user,
    _reason,
    _require,
    channel_team,
    partner_people,
    require_vendor,
    shared_path,
)
from portal import audit
from portal.clock import utcnow
from portal.db import db
from portal.errors import Forbidden, InvalidTransition
from portal.identity.models import User
from portal.notify import services as notify
from portal.tenancy import Principal

# Leads partners share.


def submit_shared_lead(values: dict, *, actor: Principal) -> SharedLead:
    """A partner (reseller, distributor or supplier) shares a lead it found; vendor staff review
    it. Raises InvalidInput, Forbidden."""
    if not actor.is_partner:
        raise Forbidden(_("Only partners share leads."))
    _require(actor, "leads.share")
    cleaned = _checked(values, SHARED_FIELDS)
    shared = SharedLead(org_id=actor.org_id, submitted_by_id=actor.user_id, **cleaned)
    db.session.add(shared)
    db.session.flush()
    audit.record(
        "shared_lead.submitted",
        shared,
        actor=actor,
        after=audit.snapshot(shared, SHARED_AUDIT_FIELDS),
    )
    notify.notify(
        channel_team(),
        "leads.shared_submitted",
        _("A partner shared a lead: %(company)s", company=shared.company),
        _(
            "%(company)s (%(country)s, %(line)s) waits for your review.",
            company=shared.company,
            country=shared.country,
            line=shared.product_line,
        ),
        link=shared_path(shared.id),
    )
    return shared


def _shared_outcome_people(shared: SharedLead) -> list[User]:
    return _one_user(shared.submitted_by_id) or partner_people(shared.org_id, "leads.share")


def approve_shared_lead(shared: SharedLead, *, actor: Principal, note: str = "") -> Lead:
    """Take a shared lead into the vendor's pipeline as a new lead credited to the partner.
    Raises InvalidTransition, Forbidden."""
    require_vendor(actor, "leads.review")
    note = _reason(note, field="note", required=False)
    if shared.status != "submitted":
        raise InvalidTransition(_("This shared lead is %(s)s already.", s=shared.status))
    before = audit.snapshot(shared, SHARED_AUDIT_FIELDS)
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
    shared.status = "approved"
    shared.decided_by_id = actor.user_id
    shared.decided_at = utcnow()
    shared.decision_reason = note
    shared.lead_id = lead.id
    _flush()
    audit.record(
        "lead.created",
        lead,
        actor=actor,
        after={**audit.snapshot(lead, LEAD_AUDIT_FIELDS), "shared_lead_id": shared.id},
    )
    audit.record(
        "shared_lead.approved",
        shared,
        actor=actor,
        before=before,
        after=audit.snapshot(shared, SHARED_AUDIT_FIELDS),
    )
    notify.notify(
        _shared_outcome_people(shared),
        "leads.shared_decided",
        _("Shared lead approved: %(company)s", company=shared.company),
        _(
            "The vendor took %(company)s into its pipeline, credited to your organisation.%(note)s",
            company=shared.company,
            note=f" {note}" if note else "",
        ),
        link=shared_path(shared.id),
    )
    return lead


def reject_shared_lead(shared: SharedLead, reason: str, *, actor: Principal) -> None:
    """Turn a shared lead down, saying why (the partner reads it). Raises InvalidInput,
    InvalidTransition, Forbidden."""
    require_vendor(actor, "leads.review")
    reason = _reason(reason)
    if shared.status != "submitted":
        raise InvalidTransition(_("This shared lead is %(s)s already.", s=shared.status))
    before = audit.snapshot(shared, SHARED_AUDIT_FIELDS)
    shared.status = "rejected"
    shared.decided_by_id = actor.user_id
    shared.decided_at = utcnow()
    shared.decision_reason = reason
    _flush()
    audit.record(
        "shared_lead.rejected",
        shared,
        actor=actor,
        before=before,
        after=audit.snapshot(shared, SHARED_AUDIT_FIELDS),
    )
    notify.notify(
        _shared_outcome_people(shared),
        "leads.shared_decided",
        _("Shared lead rejected: %(company)s", company=shared.company),
        _("The vendor rejected %(company)s: %(reason)s", company=shared.company, reason=reason),
        link=shared_path(shared.id),
    )
