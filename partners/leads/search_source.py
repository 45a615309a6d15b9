"""Leads in the portal-wide search (``portal.search``): the leads the principal may see (vendor
staff every one, a partner those offered to it), newest first, by company, contact or e-mail
address, as the lead list searches them."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from partners.leads import queries
from partners.leads.models import LEAD_INDEX, Lead
from portal import search


def leads(query: str, principal) -> Select | None:
    """A partner's leads start from its open offers, as its lead list does (a few hundred rows,
    each tested against the matches), so a common word costs it no more than a rare one."""
    partner_view = not principal.is_vendor_staff
    found = search.matches(LEAD_INDEX, query, among_few=partner_view)
    if found is None:
        return None
    stmt = queries.partner_leads(select(Lead)) if partner_view else select(Lead)
    return stmt.where(found).order_by(Lead.id.desc())


def _found(lead: Lead) -> search.Found:
    # No contact details: a partner reads them on the lead once it has accepted it.
    return search.Found(lead.company, url_for("leads.detail", lead_id=lead.id), lead.country)


SOURCE = search.Source(
    "leads",
    _l("Leads"),
    "leads.view",
    leads,
    _found,
    see_all=lambda q: url_for("leads.index", q=q),
    order=30,
)
