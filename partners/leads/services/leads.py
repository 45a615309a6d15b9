"""Leads themselves: created, edited and closed (won or lost) by vendor staff or the partner
that works them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from partners.leads import queries
from partners.leads.models import Lead
from partners.leads.services.common import (
    LEAD_AUDIT_FIELDS,
    OUTCOMES,
    _checked,
    _flush,
    _offer_concerns,
    _require,
    lead_path,
    partner_people,
    require_vendor,
)
from portal import audit
from portal.concurrency import check_unchanged
from portal.db import db, unscoped
from portal.errors import Conflict, InvalidInput, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.text import clean_text

# Leads.


def create_lead(values: dict, *, actor: Principal, source: str = "manual") -> Lead:
    """A new lead in the vendor's pipeline (status new). Raises InvalidInput."""
    require_vendor(actor, "leads.manage")
    cleaned = _checked(values)
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
    cleaned = _checked(values)
    changed = {k: v for k, v in cleaned.items() if getattr(lead, k) != v}
    if not changed:
        return False
    before = audit.snapshot(lead, LEAD_AUDIT_FIELDS)
    for name, value in changed.items():
        setattr(lead, name, value)
    _flush()
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
    before = audit.snapshot(lead, LEAD_AUDIT_FIELDS)

    def record_on_lead() -> None:
        audit.record(
            f"lead.{outcome}",
            lead,
            actor=actor,
            before=before,
            after=audit.snapshot(lead, LEAD_AUDIT_FIELDS),
        )

    if actor.is_vendor_staff:
        _require(actor, "leads.manage")
        if lead.status == "offered":
            raise InvalidTransition(
                _("The lead waits for the partner's answer: recall the offer first.")
            )
        lead.status = outcome
        _flush()
        record_on_lead()
        people = partner_people(offer.org_id) if offer is not None else []
    else:
        _require(actor, "leads.respond")
        if offer is None or offer.org_id != actor.org_id or offer.status != "accepted":
            raise InvalidTransition(_("Accept the lead before you record its outcome."))
        # The lead and its history are the vendor's rows: the partner's own scope (and
        # PostgreSQL's policy) does not let it write there. It was loaded through the wall, and
        # the accepted offer is the partner's right to record the outcome, so write them
        # unscoped. Reviewed.
        _flush()
        with _racing(), unscoped():
            lead.status = outcome
            db.session.flush()
            record_on_lead()
        people = _offer_concerns(offer)
    if offer is not None:
        audit.record(f"lead_offer.{outcome}", offer, actor=actor, after={"lead_status": outcome})
    notify.notify(
        people,
        "leads.response",
        _("Lead %(company)s: %(outcome)s", company=lead.company, outcome=outcome),
        _("The lead %(company)s was closed as %(outcome)s.", company=lead.company, outcome=outcome),
        link=lead_path(lead.id),
    )


@contextmanager
def _racing() -> Iterator[None]:
    try:
        yield
    except StaleDataError:
        raise Conflict(
            _("Someone else changed this at the same moment. Reload the page and try again.")
        ) from None
