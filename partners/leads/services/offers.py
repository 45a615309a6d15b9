"""Offers of a lead to a partner: by hand or by the distribution rule (ranked in ``ranking``),
recalled, and re-offered by the system after a decline. The partner's answer is in ``answers``."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from partners.leads import queries
from partners.leads.models import Lead, LeadOffer, LeadStatus, OfferStatus
from partners.leads.services.common import (
    OFFER_AUDIT_FIELDS,
    OUTCOMES,
    clean_reason,
    flush_changes,
    format_when,
    lead_link,
    require_vendor,
    stale_as_conflict,
    tell_channel_team,
    tell_partner,
)
from partners.leads.services.ranking import rank_partners, rule_reason, tier_of
from portal import audit
from portal.business_hours import add_business_hours, calendar_from_config
from portal.clock import utcnow
from portal.db import db
from portal.errors import InvalidInput, InvalidTransition
from portal.identity.models import Organization
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition

# Offers.


def _respond_by(now: datetime) -> datetime:
    config = current_app.config
    return add_business_hours(now, config["LEAD_RESPONSE_HOURS"], calendar_from_config(config))


def _check_offerable(lead: Lead) -> None:
    if lead.status in OUTCOMES:
        raise InvalidTransition(_("This lead is closed (%(s)s).", s=lead.status))
    if lead.status != LeadStatus.new:
        raise InvalidTransition(
            _("This lead is already offered to a partner. Recall the offer first.")
        )


def offer_lead(lead: Lead, partner: Organization, *, actor: Principal, note: str = "") -> LeadOffer:
    """Offer ``lead`` to ``partner`` by hand. The partner must be an active reseller or
    distributor that has not declined this lead and is below its tier's open-lead cap.
    Raises InvalidTransition, InvalidInput, Forbidden."""
    require_vendor(actor, "leads.manage")
    _check_offerable(lead)
    note = clean_reason(note, field="note", required=False)
    if partner.kind not in queries.OFFER_KINDS:
        raise InvalidInput(
            _("Leads are offered to resellers and distributors only."), field="partner_id"
        )
    if not partner.active:
        raise InvalidInput(_("%(name)s is deactivated.", name=partner.name), field="partner_id")
    if OfferStatus.declined in queries.offer_history(lead.id).get(partner.id, set()):
        raise InvalidInput(
            _("%(name)s declined this lead already.", name=partner.name), field="partner_id"
        )
    tier = tier_of(partner, queries.tiers_by_code())
    open_leads = queries.open_lead_counts([partner.id]).get(partner.id, 0)
    if tier is not None and open_leads >= tier.max_open_leads:
        raise InvalidInput(
            _(
                "%(name)s holds %(n)d open leads, the most its tier (%(tier)s) allows.",
                name=partner.name,
                n=open_leads,
                tier=tier.name,
            ),
            field="partner_id",
        )
    reason = _("Offered by hand.") + (f" {note}" if note else "")
    return _make_offer(lead, partner, actor=actor, reason=reason, ranking=None)


def _make_offer(
    lead: Lead,
    partner: Organization,
    *,
    actor: Principal | None,
    reason: str,
    ranking: list[dict] | None,
    segment_id: int | None = None,
) -> LeadOffer:
    now = utcnow()
    offer = LeadOffer(
        org_id=partner.id,
        lead=lead,
        status=OfferStatus.offered,
        offered_at=now,
        respond_by=_respond_by(now),
        offered_by_id=actor.user_id if actor else None,
        reason=reason,
        segment_id=segment_id,
    )
    db.session.add(offer)
    flush_changes()
    moved = {"partner": partner.name, "offer_id": offer.id, "reason": reason}
    # Other partners' names: in the vendor's history only, never in the event.
    ranked = {"ranking": ranking} if ranking is not None else None
    with stale_as_conflict():
        transition(lead, LeadStatus.offered, actor=actor, data=moved, audit_data=ranked)
    audit.record(
        "lead_offer.created", offer, actor=actor, after=audit.snapshot(offer, OFFER_AUDIT_FIELDS)
    )
    tell_partner(
        partner.id,
        "leads.offered",
        _l("Lead offered to you: %(company)s", company=lead.company),
        _l(
            "%(company)s (%(country)s, %(line)s) is offered to %(partner)s. Accept or decline "
            "it by %(when)s; after that it goes to another partner.",
            company=lead.company,
            country=lead.country,
            line=lead.product_line,
            partner=partner.name,
            when=notify.lazy(format_when, offer.respond_by),
        ),
        link=lead_link(lead.id),
    )
    return offer


def offer_by_rule(
    lead: Lead, *, actor: Principal | None, segment_id: int | None = None
) -> LeadOffer | None:
    """Offer ``lead`` to the partner the rule ranks first (see ``rank_partners``), recording why
    on the offer and the whole ranking in the vendor's history. Given ``segment_id``, only the
    partners of that segment (``portal.segments``) are candidates. If no partner is eligible,
    the lead stays new, the channel team is told, and None is returned. Raises
    InvalidTransition, InvalidInput (a segment that is gone)."""
    require_vendor(actor, "leads.manage")
    _check_offerable(lead)
    ranked = rank_partners(lead, segment_id=segment_id)
    ranking = [r.as_dict() for r in ranked]
    within = {"segment_id": segment_id} if segment_id is not None else {}
    if not ranked or ranked[0].skipped is not None:
        audit.record(
            "lead.no_partner",
            lead,
            actor=actor,
            after={
                "country": lead.country,
                "product_line": lead.product_line,
                **within,
                "ranking": ranking,
            },
        )
        tell_channel_team(
            "leads.distribution",
            _l("No partner for lead %(company)s", company=lead.company),
            _l(
                "No partner can take %(company)s (%(country)s, %(line)s) now: %(n)d fit its "
                "territory and specialisation, none is eligible. Offer it by hand or later.",
                company=lead.company,
                country=lead.country,
                line=lead.product_line,
                n=len(ranked),
            ),
            link=lead_link(lead.id),
        )
        return None
    best = ranked[0]
    reason = rule_reason(lead, best, ranked)
    if segment_id is not None:
        reason = _("Candidates: the partners of a segment.") + " " + reason
    return _make_offer(
        lead, best.org, actor=actor, reason=reason, ranking=ranking, segment_id=segment_id
    )


def recall_offer(lead: Lead, *, actor: Principal) -> LeadOffer:
    """Take the lead back from the partner holding it (offered or accepted), and from the
    reseller its distributor passed it to; they lose access to it at once. Raises
    InvalidTransition."""
    require_vendor(actor, "leads.manage")
    if lead.status in OUTCOMES:
        raise InvalidTransition(_("This lead is closed (%(s)s).", s=lead.status))
    offer = queries.open_offer(lead.id)
    if offer is None:
        raise InvalidTransition(_("This lead is not offered to anyone."))
    with stale_as_conflict():
        recall_passed_down(offer, actor=actor)
        transition(offer, OfferStatus.recalled, actor=actor)
        transition(
            lead,
            LeadStatus.new,
            actor=actor,
            event="lead.recalled",
            data={"partner": offer.partner.name},
        )
    tell_partner(
        offer.org_id,
        "leads.offer_closed",
        _l("Lead recalled: %(company)s", company=lead.company),
        _l("The vendor took the lead %(company)s back.", company=lead.company),
    )
    return offer


def recall_passed_down(offer: LeadOffer, *, actor: Principal | None) -> None:
    """With the vendor's recall of ``offer``, whatever its distributor passed down from it ends
    too (the vendor's scope, or the system's, writes every organisation's rows)."""
    passed = queries.open_pass_down(offer.id)
    if passed is None:
        return
    transition(passed, OfferStatus.recalled, actor=actor)
    tell_partner(
        passed.org_id,
        "leads.offer_closed",
        _l("Lead recalled: %(company)s", company=offer.lead.company),
        _l("The vendor took the lead %(company)s back.", company=offer.lead.company),
    )


# The system re-offers in a job (its own session, bound as ``db.session``, sees every
# organisation).


def reoffer_lead(lead_id: int) -> LeadOffer | None:
    """Job: offer a lead that came back (declined) to the next partner by rule, among the
    partners of the segment its last offer by rule was made within (if that segment still
    exists), unless someone offered or closed it meanwhile."""
    lead = db.session.get(Lead, lead_id, populate_existing=True)
    if lead is None or lead.status != LeadStatus.new:
        return None
    return offer_by_rule(lead, actor=None, segment_id=queries.last_offer_segment(lead.id))
