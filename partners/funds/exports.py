"""The fund request list's CSV export (``portal.export``): the list's rows and filter, through
the wall (a partner: its own requests), with what was claimed and paid of each."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from partners.funds import queries, services
from partners.funds.models import ClaimStatus, FundClaim, FundRequest
from portal import export
from portal.identity.models import Organization

Column = export.Column


def request_rows(principal, args) -> Select:
    """The request list for ``args``, newest first, with its partner's name and the amounts of
    its approved and paid claims."""
    listed = queries.requests(**queries.request_filters(args)).subquery()

    def claimed(*statuses):
        return (
            select(func.coalesce(func.sum(FundClaim.amount), 0))
            .where(FundClaim.request_id == FundRequest.id, FundClaim.status.in_(statuses))
            .scalar_subquery()
        )

    return (
        select(
            FundRequest,
            Organization.name.label("partner_name"),
            claimed(ClaimStatus.approved, ClaimStatus.paid).label("claimed"),
            claimed(ClaimStatus.paid).label("paid"),
        )
        .join(Organization, Organization.id == FundRequest.org_id)
        .where(FundRequest.id.in_(select(listed.c.id)))
        .order_by(FundRequest.id.desc())
    )


SOURCE = export.ExportSource(
    key="fund-requests",
    label=_l("Fund requests"),
    action="funds.view",
    audiences=("vendor", "partner"),
    columns=(
        Column(_l("Request"), lambda row: row.FundRequest.id),
        Column(_l("Partner"), lambda row: row.partner_name),
        Column(_l("Activity"), lambda row: row.FundRequest.activity),
        Column(_l("Amount"), lambda row: row.FundRequest.amount),
        Column(_l("Currency"), lambda row: services.CURRENCY),
        Column(_l("Starts"), lambda row: row.FundRequest.starts_on),
        Column(_l("Ends"), lambda row: row.FundRequest.ends_on),
        Column(_l("Status"), lambda row: row.FundRequest.status),
        Column(_l("Requested"), lambda row: row.FundRequest.created_at),
        Column(_l("Decided"), lambda row: row.FundRequest.decided_at),
        Column(_l("Claimed (approved)"), lambda row: row.claimed),
        Column(_l("Paid"), lambda row: row.paid),
    ),
    statement=request_rows,
)
