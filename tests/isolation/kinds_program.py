"""The partner programme's route parameters, for the isolation matrix.

``partner_id``: a partner organisation. Vendor staff see every partner, so nothing is foreign to
them; for everyone else the foreign partners are (and their pages are vendor staff's only).
``tier_id``: tiers are the vendor's global configuration, read by everyone: nothing is foreign.
"""

from __future__ import annotations

from sqlalchemy import select

from partners.program.models import Specialisation, Territory, Tier
from tests.isolation.world import record_kind


def _seed(db, w) -> None:
    home, foreign = w.home["partner"], w.foreign[0]
    db.add_all(
        [
            Territory(org_id=home.id, country="CH"),
            Specialisation(org_id=home.id, product_line="security"),
            Territory(org_id=foreign.id, country="JP"),
            Specialisation(org_id=foreign.id, product_line="storage"),
        ]
    )
    home.tier, foreign.tier = "gold", "platinum"
    db.flush()


record_kind(
    "partner_id",
    foreign=lambda db, w, role: (
        [] if role.audience == "vendor" else [o.id for o in w.foreign]  # a reseller, a customer
    ),
    own=lambda db, w, role: w.home["partner"].id,
    seed=_seed,
)
record_kind(
    "tier_id",
    foreign=lambda db, w, role: [],
    own=lambda db, w, role: db.scalar(select(Tier.id).order_by(Tier.rank, Tier.id)),
)
