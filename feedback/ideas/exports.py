"""The ideas board as CSV (``portal.export``): the board's rows, sort and filters, through the
wall; who wrote each idea for vendor staff only, as on the board."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from feedback.ideas import queries
from portal import export

Column = export.Column


def idea_rows(principal, args) -> Select:
    """The board for ``args``, in its order (votes, trending or newest)."""
    filters = queries.board_filters(args)
    stmt = queries.board_rows(
        filters["status"], filters["product"], with_authors=principal.is_vendor_staff
    )
    return export.ordered(stmt, queries.SORTS, filters["sort"])


def _author(idea, attribute: str):
    if idea.author is None:
        return None
    return idea.author.org.name if attribute == "org" else getattr(idea.author, attribute)


SOURCE = export.ExportSource(
    key="ideas",
    label=_l("Ideas"),
    action="ideas.view",
    columns=(
        Column(_l("ID"), lambda row: row.Idea.id),
        Column(_l("Title"), lambda row: row.Idea.title),
        Column(_l("Product line"), lambda row: row.Idea.product),
        Column(_l("Status"), lambda row: row.Idea.status),
        Column(_l("Votes"), lambda row: row.Idea.vote_count),
        Column(_l("Votes in the last 14 days"), lambda row: row.Idea.recent_vote_count),
        Column(_l("Proposed"), lambda row: row.Idea.created_at),
        Column(_l("Status changed"), lambda row: row.Idea.status_changed_at),
        Column(_l("Author"), lambda row: _author(row.Idea, "name"), audiences=("vendor",)),
        Column(
            _l("Author's organisation"), lambda row: _author(row.Idea, "org"), audiences=("vendor",)
        ),
    ),
    statement=idea_rows,
)
