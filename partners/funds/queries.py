"""The read side of market development funds: budgets, requests and claims as the principal
may see them (a partner its own, vendor staff every partner's), through the tenant wall."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from partners.funds.models import (
    ClaimStatus,
    FundBudget,
    FundClaim,
    FundRequest,
    RequestStatus,
)
from portal import access
from portal.db import db
from portal.identity.models import Organization

REQUEST_STATUSES = tuple(RequestStatus)
WAITING = "waiting"  # the list's filter: requests or claims waiting for the channel team


def request_filters(args: Mapping) -> dict:
    status = args.get("status") or ""
    return {"status": status if status in (*REQUEST_STATUSES, WAITING) else ""}


def requests(status: str = "") -> Select:
    """Requests, newest first; ``waiting``: those the channel team has to decide on, a request
    or its claim (submitted or approved and unpaid)."""
    stmt = select(FundRequest).options(selectinload(FundRequest.partner))
    if status == WAITING:
        claim_waiting = select(FundClaim.request_id).where(
            FundClaim.status.in_((ClaimStatus.submitted, ClaimStatus.approved))
        )
        stmt = stmt.where(
            (FundRequest.status == RequestStatus.submitted) | FundRequest.id.in_(claim_waiting)
        )
    elif status:
        stmt = stmt.where(FundRequest.status == status)
    return stmt.order_by(FundRequest.id.desc())


def claims_of(record: FundRequest) -> list[FundClaim]:
    return claims_by_request([record.id]).get(record.id, [])


def claims_by_request(request_ids: list[int]) -> dict[int, list[FundClaim]]:
    """The claims of these requests, with their files' metadata, oldest first: one statement
    for a whole page of requests (and one for the files), not two per request."""
    found: dict[int, list[FundClaim]] = {request_id: [] for request_id in request_ids}
    if not request_ids:
        return found
    for claim in db.session.scalars(
        select(FundClaim)
        .where(FundClaim.request_id.in_(request_ids))
        .options(selectinload(FundClaim.files))
        .order_by(FundClaim.id)
    ):
        found[claim.request_id].append(claim)
    return found


def claims(status: str = "") -> Select:
    stmt = select(FundClaim).options(selectinload(FundClaim.request), selectinload(FundClaim.files))
    if status:
        stmt = stmt.where(FundClaim.status == status)
    return stmt.order_by(FundClaim.id.desc())


def budgets(year: int, quarter: int) -> list[FundBudget]:
    return list(
        db.session.scalars(
            select(FundBudget).where(FundBudget.year == year, FundBudget.quarter == quarter)
        )
    )


def partners() -> list[Organization]:
    """The organisations that have funds: resellers and distributors, by name."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(
                Organization.kind.in_(access.DEAL_REGISTERING_KINDS),
                Organization.active.is_(True),
            )
            .order_by(Organization.name)
        )
    )


def waiting_counts() -> dict[str, int]:
    """Requests and claims waiting for the channel team, in one statement."""
    requests_waiting = (
        select(func.count())
        .select_from(FundRequest)
        .where(FundRequest.status == RequestStatus.submitted)
        .scalar_subquery()
    )
    claims_waiting = (
        select(func.count())
        .select_from(FundClaim)
        .where(FundClaim.status.in_((ClaimStatus.submitted, ClaimStatus.approved)))
        .scalar_subquery()
    )
    row = db.session.execute(select(requests_waiting, claims_waiting)).one()
    return {"requests": row[0], "claims": row[1]}


def claimed_totals(budget_id: int | None) -> dict:
    """What a budget's approved (unpaid) and paid claims came to."""
    if budget_id is None:
        return {"approved": 0, "paid": 0}
    rows = db.session.execute(
        select(FundClaim.status, func.coalesce(func.sum(FundClaim.amount), 0))
        .join(FundRequest, FundRequest.id == FundClaim.request_id)
        .where(
            FundRequest.budget_id == budget_id,
            FundClaim.status.in_((ClaimStatus.approved, ClaimStatus.paid)),
        )
        .group_by(FundClaim.status)
    ).all()
    totals = dict(rows)
    return {"approved": totals.get("approved", 0), "paid": totals.get("paid", 0)}
