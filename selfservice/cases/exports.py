"""The case list's CSV export (``portal.export``): the list's rows and filters, through the wall
(a customer: its own cases, or only the person's own where the organisation does not share; a
partner: its own and its customers')."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy.orm import joinedload

from portal import export
from selfservice.cases import queries
from selfservice.cases.models import Case

Column = export.Column


def case_rows(principal, args) -> Select:
    """The case list for ``args``, most recently changed first, as the page shows it."""
    stmt = queries.cases(**queries.case_filters(args, principal)).options(
        joinedload(Case.requester)  # a column here, not on the page
    )
    if principal.is_vendor_staff:
        stmt = stmt.options(joinedload(Case.assignee))
    return export.ordered(stmt, queries.SORTS, "recent")


def _name(user) -> str | None:
    return user.name if user is not None else None


SOURCE = export.ExportSource(
    key="cases",
    label=_l("Cases"),
    action="cases.view",
    columns=(
        Column(_l("Number"), lambda row: row.Case.number),
        Column(_l("Subject"), lambda row: row.Case.subject),
        Column(_l("Organisation"), lambda row: row.Case.org.name),
        Column(_l("Requester"), lambda row: _name(row.Case.requester)),
        Column(_l("Status"), lambda row: row.Case.status),
        Column(_l("Priority"), lambda row: row.Case.priority),
        Column(_l("Product"), lambda row: row.Case.product),
        Column(_l("Category"), lambda row: row.Case.category),
        Column(_l("Assignee"), lambda row: _name(row.Case.assignee), audiences=("vendor",)),
        Column(_l("Created"), lambda row: row.Case.created_at),
        Column(_l("Updated"), lambda row: row.Case.updated_at),
        Column(_l("First response due"), lambda row: row.Case.first_response_due_at),
        Column(_l("First response"), lambda row: row.Case.first_responded_at),
        Column(_l("Resolution due"), lambda row: row.Case.resolution_due_at),
        Column(_l("Solved"), lambda row: row.Case.solved_at),
        Column(_l("Closed"), lambda row: row.Case.closed_at),
        Column(_l("First response breached"), lambda row: row.Case.first_response_breached),
        Column(_l("Resolution breached"), lambda row: row.Case.resolution_breached),
    ),
    statement=case_rows,
)
