"""The channel dashboard's figures: registered, approved and won value; win rate and time to
decision; conflicts; how partners answer lead offers; protections about to end.

Every figure is one grouped statement (``portal.reports`` renders months, durations and medians
for both databases); nothing here loads rows to count them, so the number of statements per page
does not grow with the data. Values, counts of registrations and outcomes are read from the
rollup (``models.DealDay``, kept by ``rollup``: at most a row per partner, day and currency, as
fresh as the last tick); the medians, conflicts, lead answers and protections are grouped live
on indexed columns.

Money is never converted: registrations carry a currency each and the portal has no exchange
rates, so value figures are given in one currency at a time (``currencies`` lists those in use,
the most used first, which the page shows by default), and counts cover every currency.

When things count:
- *registered*: submitted to the vendor, in the month of ``submitted_at`` (a registration sent
  back for information and submitted again counts at its latest submission);
- *approved*: approved (and maybe since won, lost or expired), in the month of ``decided_at``;
- *won*: in the month of ``closed_at``;
- *win rate*: won / (won + lost) of the registrations closed in the period; protections that
  expired without an outcome are counted beside it, not in it;
- *time to decision*: ``submitted_at`` to ``decided_at`` of the registrations approved or
  rejected in the period (a request for information is not a decision);
- *lead answers*: offers made in the period; the acceptance rate is accepted / answered
  (accepted or declined), as on a partner's profile; the answer time runs from the offer to the
  answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, literal_column, select

from partners.analytics.models import DealDay
from partners.deals.models import DealConflict, DealRegistration, DealStatus
from partners.deals.queries import ending_soon
from partners.leads.models import LeadOffer, OfferStatus
from partners.program.models import Tier
from portal import reports
from portal.db import db
from portal.identity.models import Organization

# Registrations submitted to the vendor (at their latest submission): every status but a draft.
SUBMITTED = tuple(s for s in DealStatus if s != DealStatus.draft)
# Registrations that were approved once, whatever became of them since.
APPROVED_ONCE = (DealStatus.approved, DealStatus.won, DealStatus.lost, DealStatus.expired)
# Registrations whose ``decided_at`` is a decision (approval or rejection), not a request for
# information.
DECIDED = (*APPROVED_ONCE, DealStatus.rejected)
CLOSED = (DealStatus.won, DealStatus.lost, DealStatus.expired)
# How far ahead "protections ending" looks, in days.
HORIZONS = (30, 60, 90)
# The partners a chart shows by name (those with the most activity); the rest are summed.
TOP_PARTNERS = 12
CENT = Decimal("0.01")


def _within(column, period: reports.Period):
    return and_(column >= period.starts_at, column < period.ends_at)


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def currencies() -> list[str]:
    """The currencies of registrations submitted to the vendor (as the rollup counts them: a
    registration in the distributor's review, never submitted to the vendor, is not), the most
    used first (then by code)."""
    count = func.sum(DealDay.registered)
    rows = db.session.execute(
        select(DealDay.currency, count)
        .group_by(DealDay.currency)
        .having(count > 0)
        .order_by(count.desc(), DealDay.currency)
    )
    return [currency for currency, _n in rows]


# --- value ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueByMonth:
    """Values in one currency, aligned with ``period.months()``."""

    registered: list[Decimal]
    approved: list[Decimal]
    won: list[Decimal]


def _in(period: reports.Period):
    return DealDay.day.between(period.start, period.end)


def value_by_month(period: reports.Period, currency: str) -> ValueByMonth:
    """Registered, approved and won value per month (one statement)."""
    month = reports.month_key(DealDay.day)
    rows = db.session.execute(
        select(
            month,
            func.sum(DealDay.registered_value),
            func.sum(DealDay.approved_value),
            func.sum(DealDay.won_value),
        )
        .where(DealDay.currency == currency, _in(period))
        .group_by(month)
    ).all()
    return ValueByMonth(
        *(
            reports.by_month(period, [(row[0], _money(row[i])) for row in rows], Decimal("0.00"))
            for i in (1, 2, 3)
        )
    )


@dataclass(frozen=True)
class PartnerValue:
    name: str
    registered: Decimal
    approved: Decimal
    won: Decimal


def value_by_partner(
    period: reports.Period, currency: str, limit: int = TOP_PARTNERS
) -> tuple[list[PartnerValue], PartnerValue | None]:
    """Registered, approved and won value per partner in one currency, the ``limit`` partners
    with the most registered (then won) value by name, and the others summed (None if none)."""
    per_partner = (
        select(
            DealDay.org_id.label("org_id"),
            func.sum(DealDay.registered_value).label("registered"),
            func.sum(DealDay.approved_value).label("approved"),
            func.sum(DealDay.won_value).label("won"),
        )
        .where(DealDay.currency == currency, _in(period))
        .group_by(DealDay.org_id)
        # partners with a registration registered, approved or won in it (not only lost)
        .having(func.sum(DealDay.registered + DealDay.approved + DealDay.won) > 0)
        .subquery()
    )
    ranked = select(
        per_partner,
        func.row_number()
        .over(
            order_by=(
                per_partner.c.registered.desc(),
                per_partner.c.won.desc(),
                per_partner.c.org_id,
            )
        )
        .label("place"),
    ).subquery()
    # Plain SQL numbers, not parameters: PostgreSQL matches the GROUP BY expression by its text.
    bucket = case(
        (ranked.c.place <= literal_column(str(int(limit))), ranked.c.place),
        else_=literal_column(str(int(limit) + 1)),
    )
    rows = db.session.execute(
        select(
            bucket,
            func.max(Organization.name),
            func.sum(ranked.c.registered),
            func.sum(ranked.c.approved),
            func.sum(ranked.c.won),
        )
        .join(Organization, Organization.id == ranked.c.org_id)
        .group_by(bucket)
        .order_by(bucket)
    ).all()
    partners, others = [], None
    for place, name, reg, appr, wn in rows:
        figures = PartnerValue(name if place <= limit else "", *map(_money, (reg, appr, wn)))
        if place > limit:
            others = figures
        else:
            partners.append(figures)
    return partners, others


# --- decisions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    won: int
    lost: int
    expired: int

    @property
    def win_rate(self) -> float | None:
        return reports.rate(self.won, self.won + self.lost)


@dataclass(frozen=True)
class Decisions:
    """Win rate and time to decision over the period, and month by month."""

    outcomes: Outcomes
    median_days: float | None
    monthly_outcomes: list[Outcomes]
    monthly_median_days: list[float | None]


def decisions(period: reports.Period) -> Decisions:
    """Outcomes of the registrations closed in the period and the median days from submission
    to decision of those decided in it (three statements)."""
    month = reports.month_key(DealDay.day)
    monthly = {
        key: Outcomes(*figures)
        for key, *figures in db.session.execute(
            select(month, func.sum(DealDay.won), func.sum(DealDay.lost), func.sum(DealDay.expired))
            .where(_in(period))
            .group_by(month)
        )
    }
    by_month = reports.by_month(period, monthly.items(), Outcomes(0, 0, 0))
    overall = Outcomes(*(sum(getattr(o, f) for o in by_month) for f in ("won", "lost", "expired")))

    deal = DealRegistration
    days = reports.days_between(deal.submitted_at, deal.decided_at)
    decided = and_(
        deal.status.in_(DECIDED),
        deal.submitted_at.is_not(None),
        _within(deal.decided_at, period),
    )
    medians = reports.median_by(select(reports.month_key(deal.decided_at), days).where(decided))
    return Decisions(
        outcomes=overall,
        median_days=reports.median(select(days).where(decided)),
        monthly_outcomes=by_month,
        monthly_median_days=reports.by_month(period, medians.items(), None),
    )


# --- conflicts --------------------------------------------------------------------------------

CONFLICT_KINDS = ("domain", "name")


def conflicts_by_month(period: reports.Period) -> dict[str, list[int]]:
    """Conflicts found per month, by kind (same domain, similar name), aligned with the
    period's months."""
    month = reports.month_key(DealConflict.found_at)
    rows = db.session.execute(
        select(DealConflict.kind, month, func.count(DealConflict.id))
        .where(_within(DealConflict.found_at, period))
        .group_by(DealConflict.kind, month)
    ).all()
    return {
        kind: reports.by_month(period, [(m, n) for k, m, n in rows if k == kind])
        for kind in CONFLICT_KINDS
    }


# --- lead offers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    """How one partner (or tier) answered the leads offered to it."""

    label: str
    offered: int
    answered: int
    accepted: int
    median_hours: float | None

    @property
    def acceptance_rate(self) -> float | None:
        return reports.rate(self.accepted, self.answered)


def _answer_counts():
    answered = LeadOffer.responded_at.is_not(None)
    return (
        func.count(LeadOffer.id),
        func.count(case((answered, 1))),
        func.count(case((and_(answered, LeadOffer.status == OfferStatus.accepted), 1))),
    )


def _answer_hours():
    return reports.hours_between(LeadOffer.offered_at, LeadOffer.responded_at)


def answers_by_partner(period: reports.Period, limit: int = TOP_PARTNERS) -> list[Answers]:
    """Per partner, the offers made to it in the period: the ``limit`` partners offered the most
    (two statements)."""
    offered = _within(LeadOffer.offered_at, period)
    count = func.count(LeadOffer.id)
    rows = db.session.execute(
        select(LeadOffer.org_id, Organization.name, *_answer_counts())
        .join(Organization, Organization.id == LeadOffer.org_id)
        .where(offered)
        .group_by(LeadOffer.org_id, Organization.name)
        .order_by(count.desc(), Organization.name)
        .limit(limit)
    ).all()
    medians = reports.median_by(
        select(LeadOffer.org_id, _answer_hours()).where(
            offered, LeadOffer.org_id.in_([row[0] for row in rows])
        )
    )
    return [Answers(name, *figures, medians.get(org_id)) for org_id, name, *figures in rows]


def answers_by_tier(period: reports.Period, no_tier: str) -> list[Answers]:
    """Per tier of the partner (best tier first; ``no_tier`` names partners without one), the
    offers made in the period (two statements)."""
    offered = _within(LeadOffer.offered_at, period)
    rows = db.session.execute(
        select(Organization.tier, Tier.name, *_answer_counts())
        .join(Organization, Organization.id == LeadOffer.org_id)
        .outerjoin(Tier, Tier.code == Organization.tier)
        .where(offered)
        .group_by(Organization.tier, Tier.name, Tier.rank)
        .order_by(Tier.rank.desc().nulls_last(), Organization.tier)
    ).all()
    medians = reports.median_by(
        select(Organization.tier, _answer_hours())
        .join(Organization, Organization.id == LeadOffer.org_id)
        .where(offered)
    )
    return [
        Answers(name or code or no_tier, *figures, medians.get(code))
        for code, name, *figures in rows
    ]


# --- protections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Protections:
    """Approved registrations whose protection ends within each horizon (cumulative: the 60
    days include the 30), counted in every currency, and their value per currency."""

    counts: list[int]
    values: dict[str, list[Decimal]]


def protections_ending(now: datetime) -> Protections:
    """One statement; a protection past its end that the tick has not expired yet counts as
    ending (as the registration list's "ending soon" does)."""
    deal = DealRegistration
    ends = [deal.expires_at <= now + timedelta(days=days) for days in HORIZONS]
    rows = db.session.execute(
        select(
            deal.currency,
            *(func.count(case((end, 1))) for end in ends),
            *(func.coalesce(func.sum(case((end, deal.value), else_=0)), 0) for end in ends),
        )
        .where(ending_soon(now + timedelta(days=max(HORIZONS))))
        .group_by(deal.currency)
        .order_by(deal.currency)
    ).all()
    width = len(HORIZONS)
    counts = [sum(row[1 + i] for row in rows) for i in range(width)]
    values = {row[0]: [_money(v) for v in row[1 + width :]] for row in rows}
    return Protections(counts, values)
