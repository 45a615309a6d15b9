"""The channel manager settles a possible conflict before protection: who keeps the customer.

A conflict has two sides: ``registration`` (the one submitted when the clash was found) and
``other`` (an open registration or a direct deal of the vendor's). The first in wins by default;
choosing the later needs a reason. The losing registration is rejected as a duplicate through its
transition, and its partner told why without the winner's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.orm.exc import StaleDataError

from partners.deals.models import (
    AWAITING_DECISION,
    DealConflict,
    DealRegistration,
    DealStatus,
    DirectDeal,
)
from partners.deals.services.common import tell_partner
from portal import audit
from portal.clock import utcnow
from portal.db import db
from portal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from portal.tenancy import Principal
from portal.workflow import transition

SIDES = ("registration", "other")


@dataclass(frozen=True)
class Side:
    """One claimant in a conflict: a registration or a direct deal, and when it claimed."""

    name: str  # "registration" | "other"
    record: DealRegistration | DirectDeal
    claimed_at: datetime

    @property
    def is_registration(self) -> bool:
        return isinstance(self.record, DealRegistration)


def sides(conflict: DealConflict) -> tuple[Side, Side]:
    """The two claimants, first in first: a registration claims when its partner submitted it
    (to the vendor, or to its distributor first), a direct deal when the vendor recorded it; on
    equal times the other side, which was open when this one was submitted."""
    mine = conflict.registration
    other = conflict.other_registration or conflict.direct_deal
    other_at = (
        other.submitted_at if isinstance(other, DealRegistration) else other.created_at
    ) or other.created_at
    a = Side("registration", mine, mine.submitted_at or mine.created_at)
    b = Side("other", other, other_at)
    # The other side was open when this one was submitted: on equal times it came first.
    return (a, b) if a.claimed_at < b.claimed_at else (b, a)


def _raced() -> Conflict:
    return Conflict(
        _(
            "Someone else settled this conflict or changed a registration meanwhile. "
            "Reload the page."
        )
    )


def settle_conflict(
    deal: DealRegistration, conflict_id: int, *, winner: str, reason: str, actor: Principal
) -> DealConflict:
    """Settle one possible conflict of ``deal``: ``winner`` ("registration" or "other", the
    conflict's sides) keeps the customer; a winner that was not first in needs ``reason``. The
    losing registration is rejected as a duplicate and its partner told; a losing direct deal
    stays the vendor's to close. Raises Forbidden (not a channel manager), InvalidInput (no
    such conflict on this registration, a missing reason), InvalidTransition (settled already,
    or a protected registration would lose), Conflict (settled meanwhile by someone else)."""
    if not actor.can("deals.review"):
        raise Forbidden(_("Only channel managers settle conflicts."))
    conflict = db.session.get(DealConflict, conflict_id)
    if conflict is None or deal.id not in (
        conflict.registration_id,
        conflict.other_registration_id,
    ):
        raise InvalidInput(_("Choose one of this registration's conflicts."), field="conflict_id")
    if conflict.settled_at is not None:
        raise InvalidTransition(_("This conflict is settled already."))
    if winner not in SIDES:
        raise InvalidInput(_("Choose which registration keeps the customer."), field="winner")
    first, second = sides(conflict)
    won, lost = (first, second) if first.name == winner else (second, first)
    reason = (reason or "").strip()
    if won is second and not reason:
        raise InvalidInput(_("Say why the later claim wins over the first one in."), field="reason")
    if lost.is_registration and lost.record.status not in AWAITING_DECISION:
        if lost.record.status == DealStatus.approved:
            raise InvalidTransition(
                _(
                    "%(number)s is approved and protected: it cannot lose the customer to a "
                    "later registration.",
                    number=lost.record.number,
                )
            )
        raise InvalidTransition(_("This conflict no longer needs settling."))
    _claim(conflict, winner=won.name, reason=reason[:2000], actor=actor)
    audit.record(
        "deal.conflict_settled",
        conflict,
        actor=actor,
        after={
            "winner": _label(won.record),
            "loser": _label(lost.record),
            "first_in": first.name == won.name,
            "kind": conflict.kind,
            "score": conflict.score,
            "reason": reason,
        },
    )
    if lost.is_registration:
        _reject_duplicate(
            lost.record, first_in=won is first, direct=not won.is_registration, actor=actor
        )
    return conflict


def _label(record) -> str:
    if isinstance(record, DealRegistration):
        return record.number
    return f"direct deal {record.id}: {record.customer_name}"


def _claim(conflict: DealConflict, *, winner: str, reason: str, actor: Principal) -> None:
    # One conditional UPDATE: of two managers settling the same conflict at once, one wins.
    values = {
        "settled_at": utcnow(),
        "settled_by_id": actor.user_id,
        "winner": winner,
        "settlement_reason": reason,
    }
    claimed = db.session.execute(
        update(DealConflict)
        .where(DealConflict.id == conflict.id, DealConflict.settled_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise _raced()
    db.session.refresh(conflict)


def _reject_duplicate(
    deal: DealRegistration, *, first_in: bool, direct: bool, actor: Principal
) -> None:
    """The losing registration, rejected through its transition; the partner reads why, never
    who won."""
    if direct:
        why = _l("Duplicate: the vendor already works this deal with the customer directly.")
    elif first_in:
        why = _l("Duplicate: another registration for this customer was submitted first.")
    else:
        why = _l("Duplicate: the channel team gave this customer to another registration.")
    try:
        transition(
            deal,
            DealStatus.rejected,
            actor=actor,
            changes={"decision_reason": str(why)},
            data={"duplicate": True},
        )
    except StaleDataError:
        raise _raced() from None
    tell_partner(
        deal,
        _l(
            "Deal %(number)s with %(customer)s is rejected: %(reason)s",
            number=deal.number,
            customer=deal.customer_name,
            reason=why,
        ),
    )
