"""The quote list's CSV export (``portal.export``): the list's rows and filters, through the
wall (a recipient: its own quote versions, once sent)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from partners.quotes import queries
from portal import export

Column = export.Column


def quote_rows(principal, args) -> Select:
    """The quote list for ``args``, newest first, as the page shows it."""
    stmt = queries.quotes(**queries.quote_filters(args))
    return export.ordered(stmt, queries.QUOTE_SORTS, "newest")


SOURCE = export.ExportSource(
    key="quotes",
    label=_l("Quotes"),
    action="quotes.view",
    columns=(
        Column(_l("Number"), lambda row: row.Quote.number),
        Column(_l("Revision"), lambda row: row.Quote.revision),
        Column(_l("Title"), lambda row: row.Quote.title),
        Column(_l("Recipient"), lambda row: row.Quote.recipient.name),
        Column(_l("Status"), lambda row: row.Quote.status),
        Column(_l("Subtotal"), lambda row: row.Quote.subtotal),
        Column(_l("Tax"), lambda row: row.Quote.tax_total),
        Column(_l("Total"), lambda row: row.Quote.total),
        Column(_l("Currency"), lambda row: row.Quote.currency),
        Column(_l("Valid until"), lambda row: row.Quote.valid_until),
        Column(_l("Created"), lambda row: row.Quote.created_at, audiences=("vendor",)),
        Column(_l("Sent"), lambda row: row.Quote.sent_at),
        Column(_l("Decided"), lambda row: row.Quote.decided_at),
    ),
    statement=quote_rows,
)
