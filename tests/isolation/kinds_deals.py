"""Deal registrations in the isolation matrix."""

from __future__ import annotations

from partners.deals.models import DealRegistration
from tests.factories import make_deal
from tests.isolation.world import World, record_kind


def _seed(db, w: World) -> None:
    for org in w.foreign:
        if org.kind == "reseller":
            make_deal(db, org, f"Foreign deal customer ZZQD {org.id}")
            w.markers.append(f"Foreign deal customer ZZQD {org.id}")
    make_deal(db, w.home["partner"], "Home deal customer")


def _foreign(db, w: World, role) -> list[int]:
    if role.audience == "vendor":
        return []  # vendor staff see every partner's registrations
    home = w.home[role.audience].id
    return [d.id for d in db.query(DealRegistration).filter(DealRegistration.org_id != home)]


def _own(db, w: World, role) -> int | None:
    if role.audience == "customer":
        return None  # customers see no registrations
    return db.query(DealRegistration).filter_by(org_id=w.home["partner"].id).first().id


record_kind("deal_id", foreign=_foreign, own=_own, seed=_seed)
