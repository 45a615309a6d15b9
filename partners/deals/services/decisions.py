"""The channel manager's decisions on a registration, its close, its expiry (the tick) and its win
by an accepted quote."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from partners.deals.models import (
    DealRegistration,
    DealStatus,
)
from partners.deals.services.common import (
    tell_partner,
    tier_protection_days,
)
from portal import formatting
from portal.clock import utcnow
from portal.db import db, unscoped
from portal.errors import Forbidden, InvalidInput
from portal.tenancy import Principal
from portal.workflow import transition


def _decide(deal: DealRegistration, to: str, *, reason: str, actor: Principal) -> None:
    if not actor.can("deals.review"):
        raise Forbidden(_("Only channel managers decide on registrations."))
    transition(deal, to, actor=actor, changes={"decision_reason": reason})


def approve_deal(deal: DealRegistration, *, protection_days: int | None, actor: Principal) -> None:
    """Approve: protected for the given days, or the partner's tier's protection days."""
    days = protection_days or tier_protection_days(deal.partner)
    if not 1 <= days <= 730:
        raise InvalidInput(_("Protection lasts 1 to 730 days."), field="protection_days")
    if not actor.can("deals.review"):
        raise Forbidden(_("Only channel managers decide on registrations."))
    now = utcnow()
    transition(
        deal,
        DealStatus.approved,
        actor=actor,
        at=now,
        changes={"decision_reason": "", "expires_at": now + timedelta(days=days)},
    )
    tell_partner(
        deal,
        _(
            "Deal %(number)s with %(customer)s is approved, protected until %(until)s.",
            number=deal.number,
            customer=deal.customer_name,
            until=formatting.date(deal.expires_at.date()),
        ),
    )


def reject_deal(deal: DealRegistration, *, reason: str, actor: Principal) -> None:
    if not reason.strip():
        raise InvalidInput(_("Say why the registration is rejected."), field="reason")
    _decide(deal, DealStatus.rejected, reason=reason.strip(), actor=actor)
    tell_partner(
        deal,
        _(
            "Deal %(number)s with %(customer)s is rejected: %(reason)s",
            number=deal.number,
            customer=deal.customer_name,
            reason=reason.strip(),
        ),
    )


def request_information(deal: DealRegistration, *, message: str, actor: Principal) -> None:
    if not message.strip():
        raise InvalidInput(_("Say what information is needed."), field="message")
    _decide(deal, DealStatus.info_requested, reason=message.strip(), actor=actor)
    tell_partner(
        deal,
        _(
            "Deal %(number)s needs more information: %(message)s",
            number=deal.number,
            message=message.strip(),
        ),
    )


def close_deal(deal: DealRegistration, *, outcome: str, actor: Principal) -> None:
    """Won or lost, recorded by the partner or vendor staff."""
    if outcome not in ("won", "lost"):
        raise InvalidInput(_("Choose won or lost."), field="outcome")
    if not actor.can("deals.close") or not (actor.is_vendor_staff or deal.org_id == actor.org_id):
        raise Forbidden(_("You may not close this registration."))
    transition(deal, outcome, actor=actor)


def expire_protection() -> int:
    """Tick: approved registrations past their protection end expire (safe to run twice, or at
    once: each move is claimed, so a second run finds none left to expire)."""
    expired = db.session.scalars(
        select(DealRegistration).where(
            DealRegistration.status == DealStatus.approved, DealRegistration.expires_at <= utcnow()
        )
    ).all()
    return sum(transition(deal, DealStatus.expired, actor=None, claim=True) for deal in expired)


def win_deal_by_quote(deal_id: int, *, quote_label: str, actor: Principal) -> bool:
    """A quote on an approved registration was accepted: the deal is won. The acceptor may be
    the partner's customer, who cannot see the registration, so this reads it unscoped
    (reviewed: it moves only that one approved deal forward). Returns whether it moved."""
    with unscoped():  # reason: the acceptor (a customer) may not see the registration it wins
        deal = db.session.get(DealRegistration, deal_id)
        if deal is None or deal.status != DealStatus.approved:
            return False
        transition(deal, DealStatus.won, actor=actor, data={"quote": quote_label})
    return True
