"""Quotes in the portal-wide search (``portal.search``): the versions the principal may see
(a recipient: its own, once sent), newest first, by number, title or the customer's name."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select

from partners.quotes.models import QUOTE_INDEX, Quote
from portal import search
from portal.identity.models import ORGANIZATION_INDEX, Organization


def quotes(query: str, principal=None) -> Select | None:
    found = search.matches(QUOTE_INDEX, query)
    if found is None:
        return None
    customers = select(Organization.id).where(search.matches(ORGANIZATION_INDEX, query))
    return select(Quote).where(or_(found, Quote.org_id.in_(customers))).order_by(Quote.id.desc())


def _found(quote: Quote) -> search.Found:
    title = f"{quote.number} · {quote.title}" if quote.title else quote.number
    return search.Found(title, url_for("quotes.detail", quote_id=quote.id), quote.recipient.name)


SOURCE = search.Source(
    "quotes",
    _l("Quotes"),
    "quotes.view",
    quotes,
    _found,
    see_all=lambda q: url_for("quotes.index", q=q),
    order=50,
)
