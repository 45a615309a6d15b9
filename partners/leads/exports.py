"""The lead list's CSV export (``portal.export``): the list's rows and filters, through the wall
(a partner: the leads offered to it or accepted by it, with its own offer)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from partners.leads import queries
from partners.leads.forms import LeadFilterForm
from portal import export

Column = export.Column


def lead_rows(principal, args) -> Select:
    """The lead list's rows for ``args`` (its filter form, as the page validates it), in the
    list's order."""
    form = LeadFilterForm(formdata=args)
    if not form.validate():
        raise export.InvalidFilters(
            "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        )
    filters = queries.lead_filters(form)
    stmt = queries.lead_rows(filters, partner_view=not principal.is_vendor_staff)
    return export.ordered(stmt, queries.LEAD_SORTS, filters.sort)


def _offer(row, name: str):
    offer = row.LeadOffer
    return getattr(offer, name) if offer is not None else None


SOURCE = export.ExportSource(
    key="leads",
    label=_l("Leads"),
    action="leads.view",
    audiences=("vendor", "partner"),
    columns=(
        Column(_l("ID"), lambda row: row.Lead.id),
        Column(_l("Company"), lambda row: row.Lead.company),
        Column(_l("Contact"), lambda row: row.Lead.contact_name),
        Column(_l("Email"), lambda row: row.Lead.email),
        Column(_l("Phone"), lambda row: row.Lead.phone),
        Column(_l("Country"), lambda row: row.Lead.country),
        Column(_l("Product line"), lambda row: row.Lead.product_line),
        Column(_l("Status"), lambda row: row.Lead.status),
        Column(_l("Source"), lambda row: row.Lead.source, audiences=("vendor",)),
        Column(_l("Created"), lambda row: row.Lead.created_at),
        Column(
            _l("Partner"),
            lambda row: row.LeadOffer.partner.name if row.LeadOffer is not None else None,
            audiences=("vendor",),
        ),
        Column(_l("Offer status"), lambda row: _offer(row, "status")),
        Column(_l("Offered"), lambda row: _offer(row, "offered_at")),
        Column(_l("Answer by"), lambda row: _offer(row, "respond_by")),
    ),
    statement=lead_rows,
)
