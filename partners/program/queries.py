"""Read side of the partner programme: tiers, the partner directory, a partner's coverage
(territories and specialisations), and the figures of its profile, through the tenant wall.

Everything that a page shows for many partners is loaded in a fixed number of queries (one per
kind of fact, for all the partners of the page), and the profile's figures are SQL aggregates,
so neither grows with the data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

import pycountry
from flask import abort
from sqlalchemy import Select, and_, case, extract, func, select
from sqlalchemy.orm import joinedload

from partners.deals.models import OPEN_DEAL_STATUSES, DealRegistration
from partners.leads.models import LeadOffer, OfferStatus
from partners.program.models import (
    Certification,
    CertificationStatus,
    ProposalStatus,
    Specialisation,
    Territory,
    Tier,
    TierProposal,
)
from portal import access, product_lines
from portal.db import db, get_or_404
from portal.identity.models import Organization

NO_TIER = "none"  # the directory's filter value for partners without a tier


# Countries (ISO 3166-1 alpha-2, names from pycountry).


@lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    return {
        c.alpha_2: getattr(c, "common_name", None) or c.name
        for c in sorted(pycountry.countries, key=lambda c: c.alpha_2)
    }


def country_name(code: str) -> str:
    """The English name of a country code, or the code itself if it is not one."""
    return _countries().get((code or "").upper(), code)


def country_code(value: str) -> str | None:
    """The alpha-2 code of a country given by alpha-2 or alpha-3 code, or English name; None if
    it is none of them."""
    value = (value or "").strip()
    if not value:
        return None
    if value.upper() in _countries():
        return value.upper()
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        return None


def all_countries() -> list[tuple[str, str]]:
    """(code, name) of every country, by name."""
    return sorted(_countries().items(), key=lambda pair: pair[1])


# Tiers (global configuration: every principal reads them).


def tiers() -> list[Tier]:
    """The tiers from the lowest to the highest."""
    return list(db.session.scalars(select(Tier).order_by(Tier.rank, Tier.id)))


def tier_by_code(code: str | None) -> Tier | None:
    if not code:
        return None
    return db.session.scalar(select(Tier).where(Tier.code == code))


def partner_counts_by_tier() -> dict[str | None, int]:
    """How many partners each tier code has (None: partners without a tier)."""
    rows = db.session.execute(
        select(Organization.tier, func.count())
        .where(Organization.kind.in_(access.PARTNER_KINDS))
        .group_by(Organization.tier)
    )
    return {code: n for code, n in rows}


# Partners.


def partner_or_404(partner_id: int) -> Organization:
    """A partner organisation the principal can see; anything else (a customer, the vendor, a
    foreign or missing id) is a 404."""
    org = get_or_404(Organization, partner_id)
    if org.kind not in access.PARTNER_KINDS:
        abort(404)
    return org


def directory(
    *,
    tier: str | None = None,
    country: str | None = None,
    product_line: str | None = None,
    kind: str | None = None,
    search: str | None = None,
) -> Select:
    """Partners (resellers, distributors, suppliers) by name, filtered. Each filter is optional;
    ``tier`` may be ``NO_TIER``."""
    stmt = (
        select(Organization)
        .where(Organization.kind.in_(access.PARTNER_KINDS))
        .order_by(Organization.name, Organization.id)
    )
    if tier == NO_TIER:
        stmt = stmt.where(Organization.tier.is_(None))
    elif tier:
        stmt = stmt.where(Organization.tier == tier)
    if kind:
        stmt = stmt.where(Organization.kind == kind)
    if country:
        stmt = stmt.where(
            select(Territory.id)
            .where(Territory.org_id == Organization.id, Territory.country == country)
            .exists()
        )
    if product_line:
        stmt = stmt.where(
            select(Specialisation.id)
            .where(
                Specialisation.org_id == Organization.id,
                Specialisation.product_line == product_line,
            )
            .exists()
        )
    if search:
        stmt = stmt.where(Organization.name.icontains(search, autoescape=True))
    return stmt


@dataclass(frozen=True)
class Coverage:
    """Where a partner sells (country codes) and what it is qualified for (product lines),
    both sorted."""

    countries: list[str]
    product_lines: list[str]


def coverage_of(org_ids: list[int]) -> dict[int, Coverage]:
    """The coverage of each partner, in two queries whatever the number of partners."""
    countries: dict[int, list[str]] = defaultdict(list)
    lines: dict[int, list[str]] = defaultdict(list)
    if org_ids:
        for org_id, code in db.session.execute(
            select(Territory.org_id, Territory.country)
            .where(Territory.org_id.in_(org_ids))
            .order_by(Territory.country)
        ):
            countries[org_id].append(code)
        for org_id, line in db.session.execute(
            select(Specialisation.org_id, Specialisation.product_line)
            .where(Specialisation.org_id.in_(org_ids))
            .order_by(Specialisation.product_line)
        ):
            lines[org_id].append(line)
    return {
        org_id: Coverage(countries[org_id], sorted(lines[org_id], key=product_lines.order))
        for org_id in org_ids
    }


def countries_in_use() -> list[str]:
    """The countries some partner covers (the directory's country filter offers these)."""
    return list(
        db.session.scalars(select(Territory.country).distinct().order_by(Territory.country))
    )


def open_deal_counts(org_ids: list[int]) -> dict[int, int]:
    """Open deal registrations per partner, in one query."""
    if not org_ids:
        return {}
    rows = db.session.execute(
        select(DealRegistration.org_id, func.count())
        .where(
            DealRegistration.org_id.in_(org_ids),
            DealRegistration.status.in_(OPEN_DEAL_STATUSES),
        )
        .group_by(DealRegistration.org_id)
    )
    return {org_id: n for org_id, n in rows}


@dataclass(frozen=True)
class OpenDeals:
    """A partner's open deal registrations: the newest ``rows``, how many in all, and the total
    value per currency."""

    rows: list[DealRegistration]
    count: int
    value_by_currency: dict[str, Decimal]


def open_deals_of(org_id: int, limit: int = 50) -> OpenDeals:
    where = (
        DealRegistration.org_id == org_id,
        DealRegistration.status.in_(OPEN_DEAL_STATUSES),
    )
    totals = db.session.execute(
        select(DealRegistration.currency, func.count(), func.sum(DealRegistration.value))
        .where(*where)
        .group_by(DealRegistration.currency)
        .order_by(DealRegistration.currency)
    ).all()
    rows = list(
        db.session.scalars(
            select(DealRegistration).where(*where).order_by(DealRegistration.id.desc()).limit(limit)
        )
    )
    return OpenDeals(
        rows=rows,
        count=sum(n for _, n, _ in totals),
        value_by_currency={currency: Decimal(total or 0) for currency, _, total in totals},
    )


@dataclass(frozen=True)
class LeadFigures:
    """How a partner answers the leads offered to it.

    ``responded`` offers are those the partner accepted or declined (they have ``responded_at``);
    expired and still-open offers are counted apart. The acceptance rate is accepted / responded,
    the response time the median of ``responded_at - offered_at`` over the responded offers.
    """

    offered: int
    waiting: int
    responded: int
    accepted: int
    expired: int
    median_response: timedelta | None

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.responded if self.responded else None


def lead_figures(org_id: int) -> LeadFigures:
    """The lead figures of one partner, from SQL aggregates (two or three queries, whatever the
    number of offers)."""
    responded = LeadOffer.responded_at.is_not(None)
    offered, waiting, responded_n, accepted, expired = db.session.execute(
        select(
            func.count(LeadOffer.id),
            func.count(case((LeadOffer.status == OfferStatus.offered, 1))),
            func.count(case((responded, 1))),
            func.count(case((and_(responded, LeadOffer.status == OfferStatus.accepted), 1))),
            func.count(case((LeadOffer.status == OfferStatus.expired, 1))),
        ).where(LeadOffer.org_id == org_id)
    ).one()
    seconds = _median_response_seconds(org_id, responded_n)
    return LeadFigures(
        offered=offered,
        waiting=waiting,
        responded=responded_n,
        accepted=accepted,
        expired=expired,
        median_response=None if seconds is None else timedelta(seconds=round(float(seconds))),
    )


def _median_response_seconds(org_id: int, responded: int) -> float | None:
    if not responded:
        return None
    where = (LeadOffer.org_id == org_id, LeadOffer.responded_at.is_not(None))
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = extract("epoch", LeadOffer.responded_at - LeadOffer.offered_at)
        return db.session.scalar(
            select(func.percentile_cont(0.5).within_group(seconds)).where(*where)
        )
    # SQLite has no median aggregate: let it sort and hand back the middle one or two values.
    seconds = (
        func.julianday(LeadOffer.responded_at) - func.julianday(LeadOffer.offered_at)
    ) * 86400
    middle = db.session.scalars(
        select(seconds)
        .where(*where)
        .order_by(seconds)
        .offset((responded - 1) // 2)
        .limit(2 - responded % 2)
    ).all()
    return sum(middle) / len(middle) if middle else None


# Certifications and proposed tier changes.


def certifications(*, status: str | None = None, org_id: int | None = None) -> Select:
    """Certifications the principal sees (a partner: its own; vendor staff: all), waiting ones
    first then the newest; ``status`` and ``org_id`` narrow them. With the person and partner."""
    stmt = (
        select(Certification)
        .options(joinedload(Certification.person), joinedload(Certification.partner))
        .order_by(
            case((Certification.status == CertificationStatus.recorded, 0), else_=1),
            Certification.created_at.desc(),
            Certification.id.desc(),
        )
    )
    if status:
        stmt = stmt.where(Certification.status == status)
    if org_id is not None:
        stmt = stmt.where(Certification.org_id == org_id)
    return stmt


def open_proposals() -> list[TierProposal]:
    """Proposed tier changes waiting for the channel manager, oldest first (vendor staff)."""
    return list(
        db.session.scalars(
            select(TierProposal)
            .options(joinedload(TierProposal.partner))
            .where(TierProposal.status == ProposalStatus.proposed)
            .order_by(TierProposal.created_at, TierProposal.id)
        )
    )


def decided_proposals(limit: int = 20) -> list[TierProposal]:
    """The latest decided or withdrawn proposals, newest first."""
    return list(
        db.session.scalars(
            select(TierProposal)
            .options(joinedload(TierProposal.partner))
            .where(TierProposal.status != ProposalStatus.proposed)
            .order_by(TierProposal.decided_at.desc(), TierProposal.id.desc())
            .limit(limit)
        )
    )


def waiting_counts() -> dict[str, int]:
    """Certifications to verify and tier proposals to decide (vendor staff): one statement."""
    row = db.session.execute(
        select(
            select(func.count())
            .where(Certification.status == CertificationStatus.recorded)
            .scalar_subquery()
            .label("certifications"),
            select(func.count())
            .where(TierProposal.status == ProposalStatus.proposed)
            .scalar_subquery()
            .label("proposals"),
        )
    ).one()
    return {"certifications": row.certifications or 0, "proposals": row.proposals or 0}
