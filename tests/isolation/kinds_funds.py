"""Market development funds in the isolation matrix: fund requests, their claims and the
claims' files of the home partner and of a foreign one."""

from __future__ import annotations

from decimal import Decimal

from partners.funds.models import FundClaim, FundClaimFile, FundRequest
from portal.clock import utcnow
from tests.isolation.world import World, record_kind


def _funds_of(db, org, activity: str) -> None:
    today = utcnow().date()
    record = FundRequest(
        org_id=org.id,
        activity=activity,
        amount=Decimal("100"),
        starts_on=today,
        ends_on=today,
        status="approved",
    )
    db.add(record)
    db.flush()
    claim = FundClaim(org_id=org.id, request_id=record.id, amount=Decimal("90"), status="submitted")
    db.add(claim)
    db.flush()
    db.add(
        FundClaimFile(
            org_id=org.id,
            claim_id=claim.id,
            filename=f"proof-{org.id}.pdf",
            content_type="application/pdf",
            size=8,
            sha256="0" * 64,
            content=b"%PDF-1.4",
        )
    )
    db.flush()


def _seed(db, w: World) -> None:
    for org in w.foreign:
        if org.kind == "reseller":
            _funds_of(db, org, f"Foreign fund activity ZZQM {org.id}")
            w.markers.append(f"Foreign fund activity ZZQM {org.id}")
    _funds_of(db, w.home["partner"], "Home fund activity")


def _kind(model):
    def foreign(db, w: World, role) -> list[int]:
        if role.audience == "vendor":
            return []  # vendor staff see every partner's funds
        home = w.home[role.audience].id
        return [r.id for r in db.query(model).filter(model.org_id != home)]

    def own(db, w: World, role) -> int | None:
        if role.audience == "customer":
            return None  # customers have no funds
        return db.query(model).filter_by(org_id=w.home["partner"].id).first().id

    return foreign, own


for param, model in (
    ("fund_request_id", FundRequest),
    ("fund_claim_id", FundClaim),
    ("fund_file_id", FundClaimFile),
):
    foreign, own = _kind(model)
    record_kind(param, foreign=foreign, own=own, seed=_seed if model is FundRequest else None)
