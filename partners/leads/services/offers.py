"""Offers of a lead to a partner: by hand or by the distribution rule, recalled, and answered
(accepted or declined) by the partner before ``respond_by``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from partners.leads import queries
from partners.leads.models import Lead, LeadOffer
from partners.leads.services.common import (
    OFFER_AUDIT_FIELDS,
    OUTCOMES,
    RULE_WINDOW,
    _flush,
    _offer_concerns,
    _reason,
    _require,
    _when,
    channel_team,
    lead_path,
    partner_people,
    require_vendor,
)
from partners.leads.services.leads import _racing
from partners.program.models import Tier
from portal import audit, jobs
from portal.business_hours import add_business_hours, calendar_from_config
from portal.clock import utcnow
from portal.db import db, unscoped
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization
from portal.jobs import system_session
from portal.notify import services as notify
from portal.tenancy import Principal

# Offers.


def _respond_by(now: datetime) -> datetime:
    config = current_app.config
    return add_business_hours(now, config["LEAD_RESPONSE_HOURS"], calendar_from_config(config))


def _check_offerable(lead: Lead) -> None:
    if lead.status in OUTCOMES:
        raise InvalidTransition(_("This lead is closed (%(s)s).", s=lead.status))
    if lead.status != "new":
        raise InvalidTransition(
            _("This lead is already offered to a partner. Recall the offer first.")
        )


def _tier_of(org: Organization, tiers: dict[str, Tier]) -> Tier | None:
    """The partner's tier; one without a tier is treated as the lowest."""
    if org.tier in tiers:
        return tiers[org.tier]
    return min(tiers.values(), key=lambda t: t.rank) if tiers else None


def offer_lead(lead: Lead, partner: Organization, *, actor: Principal, note: str = "") -> LeadOffer:
    """Offer ``lead`` to ``partner`` by hand. The partner must be an active reseller or
    distributor that has not declined this lead and is below its tier's open-lead cap.
    Raises InvalidTransition, InvalidInput, Forbidden."""
    require_vendor(actor, "leads.manage")
    _check_offerable(lead)
    note = _reason(note, field="note", required=False)
    if partner.kind not in queries.OFFER_KINDS:
        raise InvalidInput(
            _("Leads are offered to resellers and distributors only."), field="partner_id"
        )
    if not partner.active:
        raise InvalidInput(_("%(name)s is deactivated.", name=partner.name), field="partner_id")
    if "declined" in queries.offer_history(lead.id).get(partner.id, set()):
        raise InvalidInput(
            _("%(name)s declined this lead already.", name=partner.name), field="partner_id"
        )
    tier = _tier_of(partner, queries.tiers_by_code())
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
) -> LeadOffer:
    now = utcnow()
    offer = LeadOffer(
        org_id=partner.id,
        lead=lead,
        status="offered",
        offered_at=now,
        respond_by=_respond_by(now),
        offered_by_id=actor.user_id if actor else None,
        reason=reason,
    )
    db.session.add(offer)
    before = audit.snapshot(lead, ["status"])
    lead.status = "offered"
    _flush()
    after = {"status": "offered", "partner": partner.name, "offer_id": offer.id, "reason": reason}
    if ranking is not None:
        after["ranking"] = ranking  # other partners' names: in the vendor's history only
    audit.record("lead.offered", lead, actor=actor, before=before, after=after)
    audit.record(
        "lead_offer.created", offer, actor=actor, after=audit.snapshot(offer, OFFER_AUDIT_FIELDS)
    )
    notify.notify(
        partner_people(partner.id),
        "leads.offered",
        _("Lead offered to you: %(company)s", company=lead.company),
        _(
            "%(company)s (%(country)s, %(line)s) is offered to %(partner)s. Accept or decline "
            "it by %(when)s; after that it goes to another partner.",
            company=lead.company,
            country=lead.country,
            line=lead.product_line,
            partner=partner.name,
            when=_when(offer.respond_by),
        ),
        link=lead_path(lead.id),
    )
    return offer


@dataclass
class RankedPartner:
    """A partner whose territory and specialisation fit a lead, as the rule sees it."""

    org: Organization
    tier: Tier | None
    open_leads: int
    recent_offers: int
    skipped: str | None = None  # why the rule leaves it out; None: eligible

    @property
    def weight(self) -> int:
        return self.tier.distribution_weight if self.tier else 0

    @property
    def priority(self) -> float:
        """Its weight shared over the offers it had lately, counting this one (the D'Hondt
        divisor): over time each partner gets leads in proportion to its tier's weight."""
        return self.weight / (self.recent_offers + 1)

    def as_dict(self) -> dict:
        return {
            "partner": self.org.name,
            "tier": self.tier.code if self.tier else None,
            "weight": self.weight,
            "open_leads": self.open_leads,
            "recent_offers": self.recent_offers,
            "priority": round(self.priority, 3),
            "skipped": self.skipped,
        }


def rank_partners(lead: Lead, now: datetime | None = None) -> list[RankedPartner]:
    """Every partner whose territory and specialisation fit ``lead``: the eligible ones best
    first (highest priority, then higher tier, fewer open leads, older partner), then the ones
    the rule skips, each with why: declined this lead, had it before (expired or recalled),
    at its tier's open-lead cap, or a tier that gets no leads (weight 0)."""
    now = now or utcnow()
    fitting = queries.fitting_partners(lead.country, lead.product_line)
    ids = [org.id for org in fitting]
    tiers = queries.tiers_by_code()
    open_counts = queries.open_lead_counts(ids)
    recent = queries.offer_counts_since(ids, now - RULE_WINDOW)
    history = queries.offer_history(lead.id)
    ranked = []
    for org in fitting:
        tier = _tier_of(org, tiers)
        entry = RankedPartner(org, tier, open_counts.get(org.id, 0), recent.get(org.id, 0))
        past = history.get(org.id, set())
        if "declined" in past:
            entry.skipped = _("declined this lead")
        elif past & {"offered", "accepted"}:
            entry.skipped = _("holds this lead")
        elif past:
            entry.skipped = _("had this lead before and did not answer in time")
        elif tier is None or tier.distribution_weight <= 0:
            entry.skipped = _("its tier gets no leads by rule")
        elif entry.open_leads >= tier.max_open_leads:
            entry.skipped = _("at its cap of %(n)d open leads", n=tier.max_open_leads)
        ranked.append(entry)
    eligible = sorted(
        (r for r in ranked if r.skipped is None),
        key=lambda r: (-r.priority, -r.tier.rank, r.open_leads, r.org.id),
    )
    return eligible + [r for r in ranked if r.skipped is not None]


def _rule_reason(lead: Lead, best: RankedPartner, ranked: list[RankedPartner]) -> str:
    """Why the rule chose ``best``, without naming any other partner (the offer is the
    partner's row: it may read it)."""
    eligible = sum(1 for r in ranked if r.skipped is None)
    skipped: dict[str, int] = {}
    for r in ranked:
        if r.skipped is not None:
            skipped[r.skipped] = skipped.get(r.skipped, 0) + 1
    text = _(
        "By rule: territory %(country)s and specialisation %(line)s fit; tier %(tier)s "
        "(weight %(weight)d); %(open)d of %(cap)d open leads; %(recent)d offers in the last "
        "%(days)d days, so priority %(priority).2f, the highest of %(eligible)d eligible "
        "partner(s).",
        country=lead.country,
        line=lead.product_line,
        tier=best.tier.name,
        weight=best.weight,
        open=best.open_leads,
        cap=best.tier.max_open_leads,
        recent=best.recent_offers,
        days=RULE_WINDOW.days,
        priority=best.priority,
        eligible=eligible,
    )
    if skipped:
        text += " " + _(
            "Skipped: %(list)s.",
            list="; ".join(f"{why} ({count})" for why, count in skipped.items()),
        )
    return text


def offer_by_rule(lead: Lead, *, actor: Principal | None) -> LeadOffer | None:
    """Offer ``lead`` to the partner the rule ranks first (see ``rank_partners``), recording why
    on the offer and the whole ranking in the vendor's history. If no partner is eligible, the
    lead stays new, the channel team is told, and None is returned. Raises InvalidTransition."""
    require_vendor(actor, "leads.manage")
    _check_offerable(lead)
    ranked = rank_partners(lead)
    ranking = [r.as_dict() for r in ranked]
    if not ranked or ranked[0].skipped is not None:
        audit.record(
            "lead.no_partner",
            lead,
            actor=actor,
            after={"country": lead.country, "product_line": lead.product_line, "ranking": ranking},
        )
        notify.notify(
            channel_team(),
            "leads.distribution",
            _("No partner for lead %(company)s", company=lead.company),
            _(
                "No partner can take %(company)s (%(country)s, %(line)s) now: %(n)d fit its "
                "territory and specialisation, none is eligible. Offer it by hand or later.",
                company=lead.company,
                country=lead.country,
                line=lead.product_line,
                n=len(ranked),
            ),
            link=lead_path(lead.id),
        )
        return None
    best = ranked[0]
    return _make_offer(
        lead, best.org, actor=actor, reason=_rule_reason(lead, best, ranked), ranking=ranking
    )


def recall_offer(lead: Lead, *, actor: Principal) -> LeadOffer:
    """Take the lead back from the partner holding it (offered or accepted); the partner loses
    access to it at once. Raises InvalidTransition."""
    require_vendor(actor, "leads.manage")
    if lead.status in OUTCOMES:
        raise InvalidTransition(_("This lead is closed (%(s)s).", s=lead.status))
    offer = queries.open_offer(lead.id)
    if offer is None:
        raise InvalidTransition(_("This lead is not offered to anyone."))
    before = audit.snapshot(offer, OFFER_AUDIT_FIELDS)
    offer.status = "recalled"
    lead.status = "new"
    _flush()
    audit.record(
        "lead_offer.recalled",
        offer,
        actor=actor,
        before=before,
        after=audit.snapshot(offer, OFFER_AUDIT_FIELDS),
    )
    audit.record(
        "lead.recalled", lead, actor=actor, after={"status": "new", "partner": offer.partner.name}
    )
    notify.notify(
        partner_people(offer.org_id),
        "leads.offer_closed",
        _("Lead recalled: %(company)s", company=lead.company),
        _("The vendor took the lead %(company)s back.", company=lead.company),
    )
    return offer


def _check_answerable(offer: LeadOffer, actor: Principal, now: datetime) -> None:
    if not actor.is_partner or offer.org_id != actor.org_id:
        raise Forbidden(_("Only the partner the lead is offered to answers it."))
    _require(actor, "leads.respond")
    if offer.status != "offered":
        raise InvalidTransition(
            _("This offer is %(status)s already: it cannot be answered.", status=offer.status)
        )
    if offer.respond_by <= now:
        raise InvalidTransition(_("The time to answer this offer has run out."))


def _set_lead_status_for_partner(lead: Lead, status: str) -> None:
    """The partner's answer moves the vendor's lead. The lead was loaded through the wall (its
    offer is open), but the partner's scope, and PostgreSQL's policy, refuse writes to the
    vendor's row, so this one write is unscoped. Reviewed."""
    _flush()  # the partner's own rows, under its own scope
    with _racing(), unscoped():
        lead.status = status


def _answer(
    offer: LeadOffer,
    status: str,
    lead_status: str,
    *,
    actor: Principal,
    now: datetime,
    title: str,
    body: str,
    reason: str = "",
) -> None:
    """What accepting and declining share: the offer's answer, the lead's status, the audit
    event and the notice to the vendor people concerned."""
    before = audit.snapshot(offer, OFFER_AUDIT_FIELDS)
    offer.status, offer.responded_at = status, now
    if reason:
        offer.decline_reason = reason
    _set_lead_status_for_partner(offer.lead, lead_status)
    audit.record(
        f"lead_offer.{status}",
        offer,
        actor=actor,
        before=before,
        after=audit.snapshot(offer, OFFER_AUDIT_FIELDS),
    )
    notify.notify(
        _offer_concerns(offer), "leads.response", title, body, link=lead_path(offer.lead.id)
    )


def accept_offer(offer: LeadOffer, *, actor: Principal, now: datetime | None = None) -> None:
    """The partner takes the lead. Raises InvalidTransition (not offered any more, or too
    late), Forbidden, Conflict."""
    now = now or utcnow()
    _check_answerable(offer, actor, now)
    name, company = offer.partner.name, offer.lead.company
    _answer(
        offer,
        "accepted",
        "accepted",
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
    reason = _reason(reason)
    _check_answerable(offer, actor, now)
    name, company = offer.partner.name, offer.lead.company
    _answer(
        offer,
        "declined",
        "new",
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
    # partner's transaction.
    jobs.enqueue(reoffer_lead, offer.lead_id)


# The system re-offers in a job. Jobs run in their own unscoped session; the services write audit
# events and notifications through ``db.session``, so it is pointed at the job's session for the
# duration.


def reoffer_lead(session: Session, lead_id: int) -> LeadOffer | None:
    """Job: offer a lead that came back (declined) to the next partner by rule, unless someone
    offered or closed it meanwhile."""
    with system_session(session):
        lead = session.get(Lead, lead_id, populate_existing=True)
        if lead is None or lead.status != "new":
            return None
        return offer_by_rule(lead, actor=None)
