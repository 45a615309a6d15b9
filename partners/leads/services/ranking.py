"""The distribution rule's view of the partners: which fit a lead, which the rule skips and why,
and in what order it offers to the eligible ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.sql.elements import ColumnElement

from partners.leads import queries
from partners.leads.models import Lead, OfferStatus
from partners.leads.services.common import RULE_WINDOW
from partners.program.models import Tier
from portal.clock import utcnow
from portal.errors import InvalidInput
from portal.identity.models import Organization
from portal.segments import queries as segments


def tier_of(org: Organization, tiers: dict[str, Tier]) -> Tier | None:
    """The partner's tier; one without a tier is treated as the lowest."""
    if org.tier in tiers:
        return tiers[org.tier]
    return min(tiers.values(), key=lambda t: t.rank) if tiers else None


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


def within_segment(segment_id: int | None) -> ColumnElement[bool] | None:
    """The membership of a segment (``portal.segments``) as SQL, None for no segment. Raises
    InvalidInput for a segment that is gone."""
    if segment_id is None:
        return None
    criteria = segments.criteria_of(segment_id)
    if criteria is None:
        raise InvalidInput(_("Choose a segment from the list."), field="segment_id")
    return Organization.id.in_(segments.member_ids(criteria))


def rank_partners(
    lead: Lead, now: datetime | None = None, segment_id: int | None = None
) -> list[RankedPartner]:
    """Every partner whose territory and specialisation fit ``lead`` (and, given
    ``segment_id``, that belongs to that segment): the eligible ones best first (highest
    priority, then higher tier, fewer open leads, older partner), then the ones the rule skips,
    each with why: declined this lead, had it before (expired or recalled), at its tier's
    open-lead cap, or a tier that gets no leads (weight 0). Raises InvalidInput for a segment
    that is gone."""
    now = now or utcnow()
    fitting = queries.fitting_partners(
        lead.country, lead.product_line, within=within_segment(segment_id)
    )
    ids = [org.id for org in fitting]
    tiers = queries.tiers_by_code()
    open_counts = queries.open_lead_counts(ids)
    recent = queries.offer_counts_since(ids, now - RULE_WINDOW)
    history = queries.offer_history(lead.id)
    ranked = []
    for org in fitting:
        tier = tier_of(org, tiers)
        entry = RankedPartner(org, tier, open_counts.get(org.id, 0), recent.get(org.id, 0))
        past = history.get(org.id, set())
        if OfferStatus.declined in past:
            entry.skipped = _("declined this lead")
        elif past & {OfferStatus.offered, OfferStatus.accepted}:
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


def rule_reason(lead: Lead, best: RankedPartner, ranked: list[RankedPartner]) -> str:
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
