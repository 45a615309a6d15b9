"""Read side of the partner scorecard: a partner's figures for a period, every partner's figures
for the vendor's list, and the programme's average, each an SQL aggregate.

The figures, for a period ``[starts_at, ends_at)`` and a moment ``now``:

- *pipeline*: the open registrations (submitted, information requested, approved) now, how many
  and their value;
- *win rate*: of the registrations closed as won or lost in the period, the share won;
- *offer acceptance rate*: of the lead offers made in the period that the partner answered
  (accepted or declined), the share accepted; *median answer time*: the median hours from offer
  to answer over the same offers (as the channel dashboard and a partner's profile count them);
- *protections*: approved registrations (protected) now, and those of them whose protection
  ends within ``ENDING_SOON_DAYS``;
- *won value*: of the registrations won in the period, and in the last 12 months (the twelve
  calendar months ending with this one, as the period filter's "Last 12 months");
- *certified people*: the partner's active people with a verified certification (not a
  training) valid on the day of ``now``.

Money is counted in the programme's currency (``REQUIREMENT_CURRENCY``, what tiers' requirements
are set in): the portal keeps no exchange rates, so registrations in other currencies are
counted apart (``other_currency``), never added in.

A partner's own figures are read through the tenant wall (a partner reads only its own rows).
The programme's average is read past it (``read_across``) and leaves this module as plain
numbers about the whole programme, never a row or a figure of one partner. Amounts and counts
are per partner (the total over the active partners, divided by their number); rates and the
answer time are the programme's own (accepted of answered over every partner's offers). Each
figure is a fixed number of grouped statements, whatever the number of rows or partners.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Select, and_, case, func, or_, select

from partners.deals.models import OPEN_DEAL_STATUSES, DealRegistration, DealStatus
from partners.deals.queries import ENDING_SOON_DAYS, ending_soon
from partners.leads.models import LeadOffer, OfferStatus
from partners.program.models import (
    REQUIREMENT_CURRENCY,
    Certification,
    CertificationKind,
    CertificationStatus,
    Tier,
)
from portal import access, reports
from portal.db import db, read_across
from portal.identity.models import Organization, User

CURRENCY = REQUIREMENT_CURRENCY
# Fewer active partners than this, and a partner is shown no programme average: with two, the
# average and its own figures would give the other partner's away.
MIN_PARTNERS_FOR_AVERAGE = 3
CENT = Decimal("0.01")
_CLOSED = (DealStatus.won, DealStatus.lost)


@dataclass(frozen=True)
class Window:
    """When the figures are taken: the period shown, the last 12 months and the present."""

    starts_at: datetime
    ends_at: datetime
    year_starts_at: datetime
    year_ends_at: datetime
    now: datetime

    @classmethod
    def of(cls, period: reports.Period, now: datetime) -> Window:
        year = reports.period_of("12m", now.date())
        return cls(period.starts_at, period.ends_at, year.starts_at, year.ends_at, now)


@dataclass(frozen=True)
class Figures:
    """One partner's figures (or the programme's totals, before they are averaged)."""

    pipeline_count: int = 0
    pipeline_value: Decimal = Decimal("0.00")
    closed: int = 0  # won or lost in the period
    won: int = 0
    won_value: Decimal = Decimal("0.00")  # won in the period
    won_value_12m: Decimal = Decimal("0.00")
    protections_active: int = 0
    protections_ending: int = 0
    answered: int = 0  # offers made in the period and answered
    accepted: int = 0
    median_answer_hours: float | None = None
    other_currency: int = 0  # registrations in these figures not in CURRENCY (not added in)
    certified_people: int = 0

    @property
    def win_rate(self) -> float | None:
        return reports.rate(self.won, self.closed)

    @property
    def acceptance_rate(self) -> float | None:
        return reports.rate(self.accepted, self.answered)


@dataclass(frozen=True)
class Average:
    """The programme's average: per active partner for amounts and counts, over the whole
    programme for rates and the answer time. Plain numbers only."""

    partners: int
    pipeline_count: float | None
    pipeline_value: Decimal | None
    win_rate: float | None
    acceptance_rate: float | None
    median_answer_hours: float | None
    protections_active: float | None
    protections_ending: float | None
    won_value: Decimal | None
    won_value_12m: Decimal | None
    certified_people: float | None = None


@dataclass(frozen=True)
class Monthly:
    """Figures by month of the period, aligned with ``period.months()``."""

    won_value: list[Decimal] = field(default_factory=list)
    acceptance_rate: list[float | None] = field(default_factory=list)


# --- the aggregates (each used through the wall for one partner or the list, and past it for
# --- the programme) ---------------------------------------------------------------------------


def _in(column, start: datetime, end: datetime):
    return and_(column >= start, column < end)


def _deal_columns(w: Window) -> list:
    d = DealRegistration
    is_open = d.status.in_(OPEN_DEAL_STATUSES)
    counted = d.currency == CURRENCY
    won_in_period = and_(d.status == DealStatus.won, _in(d.closed_at, w.starts_at, w.ends_at))
    won_in_year = and_(
        d.status == DealStatus.won, _in(d.closed_at, w.year_starts_at, w.year_ends_at)
    )
    return [
        func.count(case((is_open, 1))).label("pipeline_count"),
        func.sum(case((and_(is_open, counted), d.value))).label("pipeline_value"),
        func.count(
            case((and_(d.status.in_(_CLOSED), _in(d.closed_at, w.starts_at, w.ends_at)), 1))
        ).label("closed"),
        func.count(case((won_in_period, 1))).label("won"),
        func.sum(case((and_(won_in_period, counted), d.value))).label("won_value"),
        func.sum(case((and_(won_in_year, counted), d.value))).label("won_value_12m"),
        func.count(case((d.status == DealStatus.approved, 1))).label("protections_active"),
        func.count(case((ending_soon(w.now + timedelta(days=ENDING_SOON_DAYS)), 1))).label(
            "protections_ending"
        ),
        func.count(case((and_(~counted, or_(is_open, won_in_period, won_in_year)), 1))).label(
            "other_currency"
        ),
    ]


def _offered_in(w: Window):
    return _in(LeadOffer.offered_at, w.starts_at, w.ends_at)


def _offer_columns() -> list:
    """Of the offers selected (made in the period): answered, and accepted."""
    answered = LeadOffer.responded_at.is_not(None)
    return [
        func.count(case((answered, 1))).label("answered"),
        func.count(case((and_(answered, LeadOffer.status == OfferStatus.accepted), 1))).label(
            "accepted"
        ),
    ]


def _counted_deals(w: Window):
    """The registrations any of ``_deal_columns`` counts: open now (protections are approved,
    so open), or won or lost since the earlier of the period's and the 12 months' start. On the
    status indexes, so the programme's totals do not read every registration ever made."""
    since = min(w.starts_at, w.year_starts_at)
    return or_(
        DealRegistration.status.in_(OPEN_DEAL_STATUSES),
        and_(DealRegistration.status.in_(_CLOSED), DealRegistration.closed_at >= since),
    )


def _certified(w: Window):
    """Rows of certifications that make their holder certified on the day of ``w.now``."""
    today = w.now.date()
    return and_(
        Certification.kind == CertificationKind.certification,
        Certification.status == CertificationStatus.verified,
        or_(Certification.valid_until.is_(None), Certification.valid_until >= today),
        Certification.user_id == User.id,
        User.active.is_(True),
    )


def _certified_people_count():
    return func.count(func.distinct(Certification.user_id))


def _answer_hours() -> object:
    return reports.hours_between(LeadOffer.offered_at, LeadOffer.responded_at)


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _figures(deals, offers, median: float | None, certified: int = 0) -> Figures:
    """Figures from a row of ``_deal_columns`` and one of ``_offer_columns`` (None: no rows)."""

    def count(row, name: str) -> int:
        return (getattr(row, name) or 0) if row is not None else 0

    def money(name: str) -> Decimal:
        return _money(getattr(deals, name) if deals is not None else None)

    return Figures(
        pipeline_count=count(deals, "pipeline_count"),
        pipeline_value=money("pipeline_value"),
        closed=count(deals, "closed"),
        won=count(deals, "won"),
        won_value=money("won_value"),
        won_value_12m=money("won_value_12m"),
        protections_active=count(deals, "protections_active"),
        protections_ending=count(deals, "protections_ending"),
        answered=count(offers, "answered"),
        accepted=count(offers, "accepted"),
        median_answer_hours=median,
        other_currency=count(deals, "other_currency"),
        certified_people=certified or 0,
    )


# --- one partner, through the wall ------------------------------------------------------------


def partner_figures(org_id: int, w: Window) -> Figures:
    """The figures of one partner, read through the wall: four statements."""
    deals = db.session.execute(
        select(*_deal_columns(w)).where(DealRegistration.org_id == org_id, _counted_deals(w))
    ).one()
    offers = db.session.execute(
        select(*_offer_columns()).where(LeadOffer.org_id == org_id, _offered_in(w))
    ).one()
    median = (
        reports.median(select(_answer_hours()).where(LeadOffer.org_id == org_id, _offered_in(w)))
        if offers.answered
        else None
    )
    certified = db.session.scalar(
        select(_certified_people_count()).where(Certification.org_id == org_id, _certified(w))
    )
    return _figures(deals, offers, median, certified)


def _monthly_deals(w: Window) -> Select:
    month = reports.month_key(DealRegistration.closed_at)
    return (
        select(
            month,
            func.sum(case((DealRegistration.currency == CURRENCY, DealRegistration.value))),
        )
        .where(
            DealRegistration.status == DealStatus.won,
            _in(DealRegistration.closed_at, w.starts_at, w.ends_at),
        )
        .group_by(month)
    )


def _monthly_offers(w: Window) -> Select:
    month = reports.month_key(LeadOffer.offered_at)
    (answered, accepted) = _offer_columns()
    return select(month, accepted, answered).where(_offered_in(w)).group_by(month)


def _monthly(period: reports.Period, won_rows, offer_rows, per_partner: int = 0) -> Monthly:
    """Monthly figures from the grouped rows; ``per_partner``: the won value divided by so many
    partners (the programme's average)."""
    won = reports.by_month(period, ((m, _money(v)) for m, v in won_rows), Decimal("0.00"))
    if per_partner:
        won = [(value / per_partner).quantize(CENT) for value in won]
    rates = reports.by_month(
        period, ((m, reports.rate(a, n)) for m, a, n in offer_rows), missing=None
    )
    return Monthly(won_value=won, acceptance_rate=rates)


def partner_monthly(org_id: int, period: reports.Period, w: Window) -> Monthly:
    """The partner's won value and offer acceptance rate by month of the period (through the
    wall): two grouped statements."""
    won = db.session.execute(_monthly_deals(w).where(DealRegistration.org_id == org_id)).all()
    offers = db.session.execute(_monthly_offers(w).where(LeadOffer.org_id == org_id)).all()
    return _monthly(period, won, offers)


# --- every partner (the vendor's list), through the wall --------------------------------------


@dataclass(frozen=True)
class PartnerRow:
    org_id: int
    name: str
    tier: Tier | None
    figures: Figures

    @property
    def verdicts(self) -> dict[str, str]:
        return requirement_verdicts(self.tier, self.figures)


def partner_rows(w: Window, *, tier: str | None = None, no_tier: bool = False) -> list[PartnerRow]:
    """Every active partner the principal sees (vendor staff: all of them) with its figures, by
    name; ``tier`` keeps one tier's partners, ``no_tier`` those without one. Six statements,
    whatever the number of partners."""
    partners = select(Organization.id, Organization.name, Organization.tier).where(
        Organization.kind.in_(access.PARTNER_KINDS), Organization.active.is_(True)
    )
    if no_tier:
        partners = partners.where(Organization.tier.is_(None))
    elif tier:
        partners = partners.where(Organization.tier == tier)
    orgs = db.session.execute(partners.order_by(Organization.name, Organization.id)).all()
    if not orgs:
        return []
    ids = [org_id for org_id, _name, _tier in orgs]
    deals = {
        row.org_id: row
        for row in db.session.execute(
            select(DealRegistration.org_id, *_deal_columns(w))
            .where(DealRegistration.org_id.in_(ids), _counted_deals(w))
            .group_by(DealRegistration.org_id)
        )
    }
    offers = {
        row.org_id: row
        for row in db.session.execute(
            select(LeadOffer.org_id, *_offer_columns())
            .where(LeadOffer.org_id.in_(ids), _offered_in(w))
            .group_by(LeadOffer.org_id)
        )
    }
    medians = reports.median_by(
        select(LeadOffer.org_id, _answer_hours()).where(LeadOffer.org_id.in_(ids), _offered_in(w))
    )
    certified = dict(
        db.session.execute(
            select(Certification.org_id, _certified_people_count())
            .where(Certification.org_id.in_(ids), _certified(w))
            .group_by(Certification.org_id)
        ).all()
    )
    tiers = {t.code: t for t in db.session.scalars(select(Tier))}
    return [
        PartnerRow(
            org_id,
            name,
            tiers.get(code),
            _figures(
                deals.get(org_id), offers.get(org_id), medians.get(org_id), certified.get(org_id)
            ),
        )
        for org_id, name, code in orgs
    ]


# --- the programme, past the wall -------------------------------------------------------------


def _active_partner_ids() -> Select:
    return select(Organization.id).where(
        Organization.kind.in_(access.PARTNER_KINDS), Organization.active.is_(True)
    )


def programme_average(w: Window) -> Average:
    """The programme's average over every active partner.

    Read past the wall: a partner reads only its own rows, and its scorecard compares them with
    the whole programme. Only aggregates leave the reader (sums, counts, a median and the number
    of partners); no statement here groups by partner. Five statements."""
    active = _active_partner_ids()
    # reason: the programme's average is an aggregate over every partner's registrations and
    # offers, which a partner may not read one by one; only totals come out, as plain numbers.
    with read_across() as reader:
        partners = reader.scalar(select(func.count()).select_from(active.subquery())) or 0
        deals = reader.execute(
            select(*_deal_columns(w)).where(DealRegistration.org_id.in_(active), _counted_deals(w))
        ).one()
        offers = reader.execute(
            select(*_offer_columns()).where(LeadOffer.org_id.in_(active), _offered_in(w))
        ).one()
        median = reports.median(
            select(_answer_hours()).where(LeadOffer.org_id.in_(active), _offered_in(w)), reader
        )
        certified = reader.scalar(
            select(_certified_people_count()).where(Certification.org_id.in_(active), _certified(w))
        )
    return _average(_figures(deals, offers, median, certified), partners)


def programme_monthly(period: reports.Period, w: Window, partners: int) -> Monthly:
    """The programme's won value per active partner (``partners``, from ``programme_average``)
    and its offer acceptance rate, by month of the period. Past the wall, as
    ``programme_average``: two grouped statements, by month only."""
    active = _active_partner_ids()
    # reason: as programme_average: totals by month over every partner, never one partner's.
    with read_across() as reader:
        won_rows = reader.execute(
            _monthly_deals(w).where(DealRegistration.org_id.in_(active))
        ).all()
        offer_rows = reader.execute(_monthly_offers(w).where(LeadOffer.org_id.in_(active))).all()
    return _monthly(period, won_rows, offer_rows, per_partner=partners)


def _average(totals: Figures, partners: int) -> Average:
    def per(value):
        if not partners:
            return None
        if isinstance(value, Decimal):
            return (value / partners).quantize(CENT)
        return value / partners

    return Average(
        partners=partners,
        pipeline_count=per(totals.pipeline_count),
        pipeline_value=per(totals.pipeline_value),
        win_rate=totals.win_rate,
        acceptance_rate=totals.acceptance_rate,
        median_answer_hours=totals.median_answer_hours,
        protections_active=per(totals.protections_active),
        protections_ending=per(totals.protections_ending),
        won_value=per(totals.won_value),
        won_value_12m=per(totals.won_value_12m),
        certified_people=per(totals.certified_people),
    )


def average_shown(principal, average: Average) -> bool:
    """Whether ``principal`` may see the programme average: vendor staff always; a partner only
    when enough partners make it up that it gives no single partner away."""
    return principal.is_vendor_staff or average.partners >= MIN_PARTNERS_FOR_AVERAGE


# --- tiers' requirements ----------------------------------------------------------------------

MET, NOT_MET, NOT_MEASURED = "met", "not_met", "not_measured"


def requirement_verdicts(tier: Tier | None, figures: Figures) -> dict[str, str]:
    """Each requirement the tier sets (``won_12m``, ``acceptance``, ``certified``): ``MET``,
    ``NOT_MET``, or ``NOT_MEASURED`` (no offer of the period answered). A requirement the tier
    does not set is not in the result."""
    verdicts: dict[str, str] = {}
    if tier is None:
        return verdicts
    if tier.required_won_value_12m is not None:
        verdicts["won_12m"] = (
            MET if figures.won_value_12m >= tier.required_won_value_12m else NOT_MET
        )
    required = tier.required_acceptance_percent
    if required is not None:
        if not figures.answered:
            verdicts["acceptance"] = NOT_MEASURED
        else:  # exactly, in whole numbers: accepted / answered >= required / 100
            met = figures.accepted * 100 >= required * figures.answered
            verdicts["acceptance"] = MET if met else NOT_MET
    if tier.required_certified_people is not None:
        met = figures.certified_people >= tier.required_certified_people
        verdicts["certified"] = MET if met else NOT_MET
    return verdicts


def tier_of(code: str | None) -> Tier | None:
    if not code:
        return None
    return db.session.scalar(select(Tier).where(Tier.code == code))


def tiers() -> list[Tier]:
    return list(db.session.scalars(select(Tier).order_by(Tier.rank, Tier.id)))
