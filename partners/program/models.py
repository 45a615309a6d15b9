"""The partner programme: tiers and what they give, partners' territories and specialisations."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, TenantOwned, global_table

# Tiers' money requirements are in the programme's currency: registrations in other currencies
# are not converted (the portal keeps no exchange rates), so the scorecard counts this one.
REQUIREMENT_CURRENCY = "EUR"


@global_table("the vendor's programme: one set of tiers that every partner reads")
class Tier(Base):
    __tablename__ = "tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # organizations.tier holds it
    name: Mapped[str] = mapped_column(String(60))
    rank: Mapped[int] = mapped_column(default=0)  # higher is better
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    protection_days: Mapped[int] = mapped_column(default=90)
    distribution_weight: Mapped[int] = mapped_column(default=1)
    max_open_leads: Mapped[int] = mapped_column(default=10)
    # What a partner of the tier should reach (the partner scorecard); None: no requirement.
    # Won value of registrations in the last 12 months, in REQUIREMENT_CURRENCY.
    required_won_value_12m: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # Offered leads accepted, of those answered, in percent.
    required_acceptance_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class Territory(TenantOwned, Base):
    """A country a partner sells in (ISO 3166 alpha-2)."""

    __tablename__ = "partner_territories"
    __table_args__ = (UniqueConstraint("org_id", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)


class Specialisation(TenantOwned, Base):
    """A product line a partner is qualified for."""

    __tablename__ = "partner_specialisations"
    __table_args__ = (UniqueConstraint("org_id", "product_line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_line: Mapped[str] = mapped_column(String(60), index=True)


__all__ = ["REQUIREMENT_CURRENCY", "Specialisation", "Territory", "Tier"]
