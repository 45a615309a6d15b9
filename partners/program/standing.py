"""Tier compliance: each partner's standing against its tier and the next, the promotions and
demotions the tick proposes from it, and the channel manager's decision on each.

A partner *meets* a tier when every requirement the tier sets is met (``MET``, by
``partners.scorecards.queries.requirement_verdicts``, over the last 12 months and the people
certified today). The tick proposes a **promotion** to the next tier up when the partner meets
it (a tier that requires nothing is no reason to promote), and a **demotion** to the next tier
down when a requirement of its own tier is not met (an acceptance rate not yet measured is no
reason to demote). Partners without a tier are left to the vendor admins. A proposal the channel
manager dismissed is not proposed again for ``QUIET_DAYS``; an open one that no longer holds is
withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from partners.program import queries
from partners.program.models import ProposalDirection, ProposalStatus, Tier, TierProposal
from partners.program.services import set_partner_tier
from partners.scorecards.queries import (
    MET,
    NOT_MET,
    Figures,
    Window,
    partner_rows,
    requirement_verdicts,
)
from portal import access, audit, reports
from portal.clock import utcnow
from portal.db import db
from portal.errors import Conflict, Forbidden, InvalidInput
from portal.identity.models import Organization
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition

QUIET_DAYS = 90
NOTE_MAX = 2000


@dataclass(frozen=True)
class Standing:
    """A partner's figures against its tier and the next one up."""

    figures: Figures
    tier: Tier | None
    next_tier: Tier | None
    lower_tier: Tier | None
    verdicts: dict[str, str]  # of its own tier
    next_verdicts: dict[str, str]  # of the next tier

    @property
    def proposal(self) -> tuple[Tier, str] | None:
        """(tier, direction) the standing calls for, or None."""
        if self.tier is None:
            return None
        if NOT_MET in self.verdicts.values() and self.lower_tier is not None:
            return self.lower_tier, ProposalDirection.demotion
        if (
            self.next_tier is not None
            and self.next_verdicts
            and all(v == MET for v in self.next_verdicts.values())
            and NOT_MET not in self.verdicts.values()
        ):
            return self.next_tier, ProposalDirection.promotion
        return None

    def plain(self) -> dict:
        """What a proposal keeps of it: the figures the requirements measure, as text."""
        f = self.figures
        return {
            "won_value_12m": str(f.won_value_12m),
            "accepted": f.accepted,
            "answered": f.answered,
            "certified_people": f.certified_people,
        }


def window(now=None) -> Window:
    """The last 12 months to ``now``: what standing is measured over."""
    now = now or utcnow()
    return Window.of(reports.period_of("12m", now.date()), now)


def standing_of(code: str | None, figures: Figures, tiers: list[Tier]) -> Standing:
    """A partner's standing, from its tier's code, its figures and the tiers in order."""
    at = next((i for i, t in enumerate(tiers) if t.code == code), None)
    tier = tiers[at] if at is not None else None
    upper = tiers[at + 1] if at is not None and at + 1 < len(tiers) else None
    lower = tiers[at - 1] if at is not None and at > 0 else None
    return Standing(
        figures,
        tier,
        upper,
        lower,
        requirement_verdicts(tier, figures),
        requirement_verdicts(upper, figures),
    )


def partner_standing(org_id: int, code: str | None) -> Standing:
    """One partner's standing now (through the wall: the partner itself or vendor staff)."""
    from partners.scorecards.queries import partner_figures

    return standing_of(code, partner_figures(org_id, window()), queries.tiers())


# The tick.


def propose_tier_changes() -> int:
    """Tick: propose each partner's promotion or demotion from its standing; withdraw open
    proposals that no longer hold. Safe to run twice, or twice at once: one open proposal per
    partner is a unique index, and the loser of a race skips the partner. Returns proposals
    made."""
    tiers = queries.tiers()
    rows = [row for row in partner_rows(window()) if row.tier is not None]
    open_ = {
        p.org_id: p
        for p in db.session.scalars(
            select(TierProposal).where(TierProposal.status == ProposalStatus.proposed)
        )
    }
    quiet_since = utcnow() - timedelta(days=QUIET_DAYS)
    dismissed = set(
        db.session.execute(
            select(TierProposal.org_id, TierProposal.from_tier, TierProposal.to_tier).where(
                TierProposal.status == ProposalStatus.dismissed,
                TierProposal.decided_at >= quiet_since,
            )
        ).all()
    )
    vendor_id = db.session.scalar(select(Organization.id).where(Organization.kind == access.VENDOR))
    made = 0
    for row in rows:
        standing = standing_of(row.tier.code, row.figures, tiers)
        wanted = standing.proposal
        current = open_.get(row.org_id)
        if current is not None:
            if (
                wanted is not None
                and current.to_tier == wanted[0].code
                and current.from_tier == row.tier.code
            ):
                continue  # still holds
            transition(current, ProposalStatus.withdrawn, actor=None, audit_org_id=vendor_id)
        if wanted is None or (row.org_id, row.tier.code, wanted[0].code) in dismissed:
            continue
        made += _propose(row.org_id, row.name, standing, wanted, vendor_id)
    return made


def _propose(org_id: int, name: str, standing: Standing, wanted, vendor_id: int | None) -> int:
    to, direction = wanted
    proposal = TierProposal(
        org_id=org_id,
        from_tier=standing.tier.code,
        to_tier=to.code,
        direction=direction,
        standing=standing.plain(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(proposal)
            db.session.flush()
    except IntegrityError:
        return 0  # another tick proposed for this partner at the same moment
    audit.record(
        "tier_proposal.proposed",
        proposal,
        actor=None,
        org_id=vendor_id,
        after={"from_tier": proposal.from_tier, "to_tier": to.code, "direction": direction},
    )
    notify.tell(
        "program.review",
        None,
        "program.proposals",
        _l("%(org)s: promotion to %(tier)s proposed", org=name, tier=to.name)
        if direction == ProposalDirection.promotion
        else _l("%(org)s: demotion to %(tier)s proposed", org=name, tier=to.name),
        link=notify.link("compliance.proposals"),
    )
    return 1


# The channel manager's decision.


def _check_reviewer(actor: Principal) -> None:
    if not actor.can("program.review"):
        raise Forbidden(_("Only the vendor's channel managers decide on tier changes."))


def _claim(proposal: TierProposal, to: str, *, actor: Principal, **kwargs) -> None:
    if proposal.status != ProposalStatus.proposed or not transition(
        proposal, to, actor=actor, claim=True, audit_org_id=actor.org_id, **kwargs
    ):
        raise Conflict(_("This proposal was already decided on."))


def apply_proposal(proposal: TierProposal, *, actor: Principal) -> None:
    """Move the partner to the proposed tier (audited; its admins are told). Raises
    ``Forbidden``, and ``Conflict`` when the proposal was decided already (also by someone at
    the same moment) or the partner's tier changed since it was proposed (nothing is written)."""
    _check_reviewer(actor)
    partner = db.session.get(Organization, proposal.org_id)
    tier = queries.tier_by_code(proposal.to_tier)
    if partner is None or tier is None or partner.tier != proposal.from_tier:
        raise Conflict(
            _("The partner's tier changed since this was proposed: dismiss the proposal.")
        )
    _claim(proposal, ProposalStatus.applied, actor=actor)
    set_partner_tier(partner, tier, actor=actor, data={"proposal": proposal.id})


def dismiss_proposal(proposal: TierProposal, *, note: str, actor: Principal) -> None:
    """Keep the partner where it is; the same change is not proposed again for ``QUIET_DAYS``.
    ``note`` (optional) says why. Raises ``Forbidden``, ``InvalidInput`` (note too long) and
    ``Conflict`` (decided already)."""
    _check_reviewer(actor)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(_("Use at most %(n)d characters.", n=NOTE_MAX), field="note")
    _claim(proposal, ProposalStatus.dismissed, actor=actor, changes={"note": note})
