"""A registration's possible conflicts in the API (channel managers, ``deals:read`` /
``deals:write``): who was first in, and their settlement, through the same service as the
registration's page. Routes with a registration id are ``guarded`` (portal.api.guard)."""

from __future__ import annotations

from typing import Literal

from flask import g
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response

from partners.deals import queries, services
from partners.deals.models import DealRegistration
from portal.api import api
from portal.api.errors import Problem
from portal.api.guard import guarded
from portal.api.idempotency import write_once
from portal.api.resources import ERRORS, ID, WRITE_ERRORS
from portal.routes import Routes

TAGS = ["deals"]
routes = Routes()


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conflict_id: int = Field(ge=1, description="One of the registration's conflicts.")
    winner: Literal["registration", "other"] = Field(
        description="The side that keeps the customer: ``registration`` (the conflict's "
        "registration, submitted when the clash was found) or ``other`` (the registration or "
        "direct deal it clashed with). The first in wins by default."
    )
    reason: str = Field(
        "", max_length=2000, description="Needed when the winner was not the first in."
    )


class ClaimOut(BaseModel):
    registration_id: int | None = Field(description="None for a direct deal of the vendor.")
    number: str | None
    partner: str | None
    claimed_at: str = Field(description="Submitted (a registration) or recorded (a direct deal).")


class ConflictOut(BaseModel):
    id: int
    kind: Literal["domain", "name"]
    score: int = Field(description="Name similarity, 0-100 (100 for the same domain).")
    registration: ClaimOut = Field(description="The side submitted when the clash was found.")
    other: ClaimOut
    first_in: Literal["registration", "other"]
    unsettled: bool = Field(description="Still stops the approval of both registrations.")
    settled_at: str | None
    winner: Literal["registration", "other"] | None
    settlement_reason: str


class ConflictList(BaseModel):
    items: list[ConflictOut]


def _claim(side) -> ClaimOut:
    registration = side.record if side.is_registration else None
    return ClaimOut(
        registration_id=registration.id if registration else None,
        number=registration.number if registration else None,
        partner=registration.partner.name if registration else None,
        claimed_at=side.claimed_at.isoformat(),
    )


def _conflicts(deal: DealRegistration) -> dict:
    unsettled = {c.id for c in queries.unsettled_conflicts(deal)}
    items = []
    for conflict, _other in queries.conflicts_of(deal):
        first, second = services.sides(conflict)
        by_name = {first.name: first, second.name: second}
        items.append(
            ConflictOut(
                id=conflict.id,
                kind=conflict.kind,
                score=conflict.score,
                registration=_claim(by_name["registration"]),
                other=_claim(by_name["other"]),
                first_in=first.name,
                unsettled=conflict.id in unsettled,
                settled_at=conflict.settled_at.isoformat() if conflict.settled_at else None,
                winner=conflict.winner or None,
                settlement_reason=conflict.settlement_reason,
            )
        )
    return ConflictList(items=items).model_dump(mode="json")


@routes.get(f"/deals/<{ID}:deal_id>/conflicts")
@guarded(DealRegistration, "deal_id", "deals.review")
@api.validate(resp=Response(HTTP_200=ConflictList, HTTP_404=Problem, **ERRORS), tags=TAGS)
def list_conflicts(deal_id: int):
    """Channel managers: the registration's possible conflicts, who was first in, and whether
    each is settled. A registration with an ``unsettled`` one is not approved."""
    return _conflicts(g.api_record)


@routes.post(f"/deals/<{ID}:deal_id>/settle")
@guarded(DealRegistration, "deal_id", "deals.review")
@api.validate(
    json=SettleIn, resp=Response(HTTP_200=ConflictList, **WRITE_ERRORS, **ERRORS), tags=TAGS
)
def settle_conflict(deal_id: int, json: SettleIn):
    """Settle one possible conflict: ``winner`` keeps the customer; a winner that was not the
    first in needs a ``reason``. The losing registration is rejected as a duplicate (its partner
    told why, not who won). Answers the registration's conflicts as they now are; 409 if it was
    settled already or meanwhile."""

    def settle():
        services.settle_conflict(
            g.api_record,
            json.conflict_id,
            winner=json.winner,
            reason=json.reason,
            actor=g.principal,
        )
        return _conflicts(g.api_record)

    return write_once(settle)
