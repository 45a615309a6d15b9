"""The partner's answer to an offer: accepted, or declined with a reason (the lead then goes
to the next partner by rule, in a job), before ``respond_by``."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from partners.leads.models import LeadOffer, LeadStatus, OfferStatus
from partners.leads.services.common import (
    clean_reason,
    lead_link,
    move_lead_for_partner,
    offer_concerns,
    require_action,
    stale_as_conflict,
    tell_distributor,
)
from partners.leads.services.offers import reoffer_lead
from portal import jobs
from portal.clock import utcnow
from portal.errors import Forbidden, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition

# Answers.


def _check_answerable(offer: LeadOffer, actor: Principal, now: datetime) -> None:
    if not actor.is_partner or offer.org_id != actor.org_id:
        raise Forbidden(_("Only the partner the lead is offered to answers it."))
    require_action(actor, "leads.respond")
    if offer.status != OfferStatus.offered:
        raise InvalidTransition(
            _("This offer is %(status)s already: it cannot be answered.", status=offer.status)
        )
    if offer.respond_by <= now:
        raise InvalidTransition(_("The time to answer this offer has run out."))


def _answer(
    offer: LeadOffer,
    status: OfferStatus,
    lead_status: LeadStatus,
    *,
    actor: Principal,
    now: datetime,
    title: str,
    body: str,
    reason: str = "",
) -> None:
    """What accepting and declining share: the offer's answer and the lead's move (each
    audited), and the notice to the vendor people concerned. A reseller's answer to what its
    distributor passed down moves no lead (it stays the distributor's) and tells the
    distributor."""
    lead = offer.lead
    with stale_as_conflict():
        transition(
            offer,
            status,
            actor=actor,
            at=now,
            changes={"decline_reason": reason} if reason else None,
        )
    if offer.passed_down_from_id is not None:
        tell_distributor(offer, title, body)
        return
    move_lead_for_partner(
        lead,
        lead_status,
        actor=actor,
        at=now,
        event=f"lead.{status}",
        data={"partner": offer.partner.name, "offer_id": offer.id},
    )
    notify.notify(offer_concerns(offer), "leads.response", title, body, link=lead_link(lead.id))


def accept_offer(offer: LeadOffer, *, actor: Principal, now: datetime | None = None) -> None:
    """The partner takes the lead. Raises InvalidTransition (not offered any more, or too
    late), Forbidden, Conflict."""
    now = now or utcnow()
    _check_answerable(offer, actor, now)
    name, company = offer.partner.name, offer.lead.company
    _answer(
        offer,
        OfferStatus.accepted,
        LeadStatus.accepted,
        actor=actor,
        now=now,
        title=_("%(partner)s accepted %(company)s", partner=name, company=company),
        body=_("%(partner)s accepted the lead %(company)s.", partner=name, company=company),
    )


def decline_offer(
    offer: LeadOffer, reason: str, *, actor: Principal, now: datetime | None = None
) -> None:
    """The partner turns the lead down, saying why; the lead goes to the next partner by rule
    (a job, after this commits). Raises InvalidInput (no reason), InvalidTransition, Forbidden."""
    now = now or utcnow()
    reason = clean_reason(reason)
    _check_answerable(offer, actor, now)
    name, company = offer.partner.name, offer.lead.company
    _answer(
        offer,
        OfferStatus.declined,
        LeadStatus.new,
        actor=actor,
        now=now,
        title=_("%(partner)s declined %(company)s", partner=name, company=company),
        body=_(
            "%(partner)s declined the lead %(company)s: %(reason)s",
            partner=name,
            company=company,
            reason=reason,
        ),
        reason=reason,
    )
    # The next partner is chosen by the system, which may read every partner: not in this
    # partner's transaction. What a distributor passed down stays with it instead.
    if offer.passed_down_from_id is None:
        jobs.enqueue(reoffer_lead, offer.lead_id)
