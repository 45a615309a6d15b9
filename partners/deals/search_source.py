"""Deal registrations in the portal-wide search (``portal.search``): those the principal may see
(vendor staff every one, a partner its own), newest first, by customer name, customer domain or
registration number."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from partners.deals.models import REGISTRATION_INDEX, DealRegistration
from portal import search


def registrations(query: str, principal=None) -> Select | None:
    found = search.matches(REGISTRATION_INDEX, query)
    if found is None:
        return None
    return select(DealRegistration).where(found).order_by(DealRegistration.id.desc())


def _found(deal: DealRegistration) -> search.Found:
    return search.Found(
        deal.customer_name,
        url_for("deals.detail", deal_id=deal.id),
        f"{deal.number} · {deal.customer_domain}",
    )


SOURCE = search.Source(
    "registrations",
    _l("Deal registrations"),
    "deals.view",
    registrations,
    _found,
    see_all=lambda q: url_for("deals.index", q=q),
    order=40,
)
