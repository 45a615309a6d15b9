"""The forecast: open registrations by expected close month, weighted by how often registrations
at the same stage were won, beside what was won in the same months a year before.

The conversion of a stage comes from the transitions' history: ``portal.workflow.transition``
records every move of a registration as an audit event (``deal.submitted``, ``deal.approved``...,
object type ``DealRegistration``). Of the registrations that reached a stage and have finished
since (won, lost, rejected or expired), the share that was won is that stage's rate. A stage with
no finished registration yet borrows the rate of ``submitted``, which every registration passes
through; with no finished registration at all there is no rate and nothing is weighted.

The open pipeline is the registrations under review, awaiting information or approved (a draft
is not registered yet). Money is never converted: one currency at a time, as on the channel
dashboard. Weighted values are exact fractions until they are rounded, half up, to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import and_, case, func, select

from partners.deals.models import DealRegistration, DealStatus
from portal import reports
from portal.audit import AuditEvent
from portal.db import db

# The stages of the open pipeline, in the order a registration reaches them.
STAGES = (DealStatus.submitted, DealStatus.info_requested, DealStatus.approved)
FINISHED = (DealStatus.won, DealStatus.lost, DealStatus.rejected, DealStatus.expired)
CENT = Decimal("0.01")


def _cents(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class StageRate:
    """Of the ``finished`` registrations that once reached ``stage``, ``won`` were won. A stage
    without a finished registration uses the rate of ``borrowed_from`` (``borrowed``)."""

    stage: str
    finished: int
    won: int
    borrowed_from: str | None = None
    borrowed: Fraction | None = None

    @property
    def weight(self) -> Fraction | None:
        """What an open registration at this stage counts for, None for no history at all."""
        return Fraction(self.won, self.finished) if self.finished else self.borrowed

    @property
    def rate(self) -> float | None:
        weight = self.weight
        return None if weight is None else float(weight)


def stage_rates() -> dict[str, StageRate]:
    """Each stage's conversion to won, from the audit history (one statement)."""
    workflow = DealRegistration.workflow
    actions = {workflow.event_for(stage): stage for stage in STAGES}
    # A registration sent back for information reaches "submitted" twice: count it once.
    reached = (
        select(AuditEvent.object_id.label("deal_id"), AuditEvent.action.label("action"))
        .where(
            AuditEvent.object_type == DealRegistration.__name__,
            AuditEvent.action.in_(actions),
        )
        .distinct()
        .subquery()
    )
    rows = db.session.execute(
        select(
            reached.c.action,
            func.count(),
            func.count(case((DealRegistration.status == DealStatus.won, 1))),
        )
        .join(DealRegistration, DealRegistration.id == reached.c.deal_id)
        .where(DealRegistration.status.in_(FINISHED))
        .group_by(reached.c.action)
    ).all()
    found = {actions[action]: (finished, won) for action, finished, won in rows}
    first = StageRate(DealStatus.submitted, *found.get(DealStatus.submitted, (0, 0)))
    rates = {first.stage: first}
    for stage in STAGES[1:]:
        finished, won = found.get(stage, (0, 0))
        if finished or first.weight is None:
            rates[stage] = StageRate(stage, finished, won)
        else:
            rates[stage] = StageRate(stage, 0, 0, first.stage, first.weight)
    return rates


@dataclass(frozen=True)
class Forecast:
    """Aligned with ``period.months()``: open registrations expected to close in each month
    (their number and value), the value weighted by their stages' rates, and the value won in
    the same month a year before; the rates used; and the open registrations expected to close
    before the period (``overdue``, a number in every currency and the value in this one)."""

    open_count: list[int]
    pipeline: list[Decimal]
    weighted: list[Decimal]
    won_year_before: list[Decimal]
    rates: dict[str, StageRate]
    overdue_count: int
    overdue_value: Decimal

    @property
    def total_pipeline(self) -> Decimal:
        return sum(self.pipeline, Decimal("0.00"))

    @property
    def total_weighted(self) -> Decimal:
        return sum(self.weighted, Decimal("0.00"))

    @property
    def total_won_year_before(self) -> Decimal:
        return sum(self.won_year_before, Decimal("0.00"))


def forecast(period: reports.Period, currency: str) -> Forecast:
    """The forecast for the months of ``period`` in one currency (four statements)."""
    deal = DealRegistration
    rates = stage_rates()
    month = reports.month_key(deal.expected_close)
    open_deal = deal.status.in_(STAGES)
    rows = db.session.execute(
        select(month, deal.status, func.count(deal.id), func.sum(deal.value))
        .where(
            open_deal,
            deal.currency == currency,
            deal.expected_close >= period.start,
            deal.expected_close <= period.end,
        )
        .group_by(month, deal.status)
    ).all()
    counts: dict[str, int] = {}
    values: dict[str, Fraction] = {}
    weighted: dict[str, Fraction] = {}
    for key, status, count, total in rows:
        value = Fraction(Decimal(str(total or 0)))
        counts[key] = counts.get(key, 0) + count
        values[key] = values.get(key, Fraction(0)) + value
        weight = rates[status].weight or Fraction(0)
        weighted[key] = weighted.get(key, Fraction(0)) + value * weight

    before = period.year_before()
    won_month = reports.month_key(deal.closed_at)
    won = db.session.execute(
        select(won_month, func.sum(deal.value))
        .where(
            deal.status == DealStatus.won,
            deal.currency == currency,
            deal.closed_at >= before.starts_at,
            deal.closed_at < before.ends_at,
        )
        .group_by(won_month)
    ).all()
    # The same month a year later: the period's month it stands beside.
    won_beside = [(f"{int(key[:4]) + 1:04d}{key[4:]}", _cents(Fraction(Decimal(str(v)))))
                  for key, v in won]  # fmt: skip

    overdue_count, overdue_value = db.session.execute(
        select(
            func.count(deal.id),
            func.coalesce(func.sum(case((deal.currency == currency, deal.value), else_=0)), 0),
        ).where(and_(open_deal, deal.expected_close < period.start))
    ).one()

    zero = Decimal("0.00")
    return Forecast(
        open_count=reports.by_month(period, counts.items()),
        pipeline=reports.by_month(period, ((k, _cents(v)) for k, v in values.items()), zero),
        weighted=reports.by_month(period, ((k, _cents(v)) for k, v in weighted.items()), zero),
        won_year_before=reports.by_month(period, won_beside, zero),
        rates=rates,
        overdue_count=overdue_count,
        overdue_value=_cents(Fraction(Decimal(str(overdue_value or 0)))),
    )
