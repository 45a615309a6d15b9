"""Segments in the isolation matrix: ``segment_id``, a segment of the vendor.

Segments are the vendor's working tools: partners and customers see none (403 from the action,
the same for a missing id), and vendor staff see every one, so nothing is foreign to them. The
seeded segment holds the foreign organisations, whose names are markers: a segment's page must
never show them to a partner or a customer.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.segments.models import Segment
from tests.factories import make_segment
from tests.isolation.world import World, record_kind


def _seed(db, w: World) -> None:
    make_segment(db, {"kind": ["reseller", "customer"]}, "Matrix segment", vendor=w.vendor)


def _foreign(db, w: World, role) -> list[int]:
    return [] if role.audience == "vendor" else list(db.scalars(select(Segment.id)))


def _own(db, w: World, role) -> int | None:
    if role.audience != "vendor":
        return None
    return db.scalar(select(Segment.id).order_by(Segment.id))


record_kind("segment_id", foreign=_foreign, own=_own, seed=_seed)
