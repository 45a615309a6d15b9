"""The deal registration list's CSV export (``portal.export``): the list's rows and filters,
through the wall (a partner: its own registrations)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from partners.deals import queries
from portal import export

Column = export.Column


def registration_rows(principal, args) -> Select:
    """The registration list for ``args``, newest first, as the page shows it."""
    stmt = queries.registrations(**queries.registration_filters(args))
    return export.ordered(stmt, queries.REGISTRATION_SORTS, "newest")


def _products(deal) -> str:
    return "; ".join(str(p) for p in deal.products or ())


SOURCE = export.ExportSource(
    key="registrations",
    label=_l("Deal registrations"),
    action="deals.view",
    audiences=("vendor", "partner"),
    columns=(
        Column(_l("Number"), lambda row: row.DealRegistration.number),
        Column(_l("Partner"), lambda row: row.DealRegistration.partner.name),
        Column(_l("Customer"), lambda row: row.DealRegistration.customer_name),
        Column(_l("Customer domain"), lambda row: row.DealRegistration.customer_domain),
        Column(_l("Contact"), lambda row: row.DealRegistration.contact_name),
        Column(_l("Contact email"), lambda row: row.DealRegistration.contact_email),
        Column(_l("Products"), lambda row: _products(row.DealRegistration)),
        Column(_l("Value"), lambda row: row.DealRegistration.value),
        Column(_l("Currency"), lambda row: row.DealRegistration.currency),
        Column(_l("Expected close"), lambda row: row.DealRegistration.expected_close),
        Column(_l("Status"), lambda row: row.DealRegistration.status),
        Column(_l("Created"), lambda row: row.DealRegistration.created_at),
        Column(_l("Submitted"), lambda row: row.DealRegistration.submitted_at),
        Column(_l("Decided"), lambda row: row.DealRegistration.decided_at),
        Column(_l("Protection ends"), lambda row: row.DealRegistration.expires_at),
        Column(_l("Closed"), lambda row: row.DealRegistration.closed_at),
    ),
    statement=registration_rows,
)
