"""What the partner programme adds to segments: the tier, the countries a partner sells in and
the product lines it is specialised in (``portal.segments``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from partners.program.models import Specialisation, Territory, Tier
from partners.program.queries import all_countries
from portal import segments
from portal.db import db
from portal.identity.models import Organization
from portal.product_lines import PRODUCT_LINES


def _tiers():
    return db.session.execute(select(Tier.code, Tier.name).order_by(Tier.rank, Tier.id)).all()


def _sells_in(country: str):
    return exists().where(Territory.org_id == Organization.id, Territory.country == country)


def _specialised_in(lines: list[str]):
    return exists().where(
        Specialisation.org_id == Organization.id, Specialisation.product_line.in_(lines)
    )


CRITERIA = (
    segments.Criterion(
        key="tier",
        label=_l("Tier"),
        input="many",
        choices=_tiers,
        condition=lambda codes: Organization.tier.in_(codes),
        order=20,
    ),
    segments.Criterion(
        key="country",
        label=_l("Country"),
        input="one",
        choices=all_countries,
        condition=_sells_in,
        order=30,
        description=_l("A partner that sells in this country (its territories)."),
    ),
    segments.Criterion(
        key="product_line",
        label=_l("Product line"),
        input="many",
        choices=lambda: list(PRODUCT_LINES.items()),
        condition=_specialised_in,
        order=35,
        description=_l("A partner specialised in any of these product lines."),
    ),
)


def register() -> None:
    segments.add_criterion(*CRITERIA)
