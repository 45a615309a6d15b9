"""The channel manager's decisions on a registration, its close, its expiry (the tick) and its win
by an accepted quote."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from partners.deals import queries
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
from portal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition


def _decide(deal: DealRegistration, to: str, *, reason: str, actor: Principal) -> None:
    if not actor.can("deals.review"):
        raise Forbidden(_("Only channel managers decide on registrations."))
    transition(deal, to, actor=actor, changes={"decision_reason": reason})


def approve_deal(deal: DealRegistration, *, protection_days: int | None, actor: Principal) -> None:
    """Approve: protected for the given days, or the partner's tier's protection days. Refused
    (InvalidTransition) while a possible conflict is unsettled; a Conflict if another
    registration for the same domain was approved meanwhile (the database keeps one protection
    per domain)."""
    days = protection_days or tier_protection_days(deal.partner)
    if not 1 <= days <= 730:
        raise InvalidInput(_("Protection lasts 1 to 730 days."), field="protection_days")
    if not actor.can("deals.review"):
        raise Forbidden(_("Only channel managers decide on registrations."))
    pending = len(queries.unsettled_conflicts(deal))
    if pending:
        raise InvalidTransition(
            ngettext(
                "Settle the possible conflict of this registration before approving it.",
                "Settle the %(num)d possible conflicts of this registration before approving it.",
                pending,
            )
        )
    now, domain = utcnow(), deal.customer_domain  # read now: a failed flush expires the record
    _expire_lapsed(domain, now)
    try:
        transition(
            deal,
            DealStatus.approved,
            actor=actor,
            at=now,
            changes={"decision_reason": "", "expires_at": now + timedelta(days=days)},
        )
    except StaleDataError:
        raise Conflict(
            _("Someone else decided on this registration meanwhile. Reload the page.")
        ) from None
    except IntegrityError as error:
        if not _one_protection_refused(error):
            raise
        raise Conflict(
            _(
                "Another registration for %(domain)s was approved meanwhile: a customer has one "
                "protection at a time. Reload the page to see its conflicts.",
                domain=domain,
            )
        ) from None
    tell_partner(
        deal,
        _l(
            "Deal %(number)s with %(customer)s is approved, protected until %(until)s.",
            number=deal.number,
            customer=deal.customer_name,
            until=notify.lazy(formatting.date, deal.expires_at.date()),
        ),
    )


def _one_protection_refused(error: IntegrityError) -> bool:
    """Whether the one-protection-per-domain index refused the write: PostgreSQL names it,
    SQLite its column."""
    text = str(error.orig)
    return (
        "uq_deal_registrations_protected_domain" in text
        or "deal_registrations.customer_domain" in text
    )


def _expire_lapsed(domain: str, now) -> None:
    """A protection of the same customer past its end that the tick has not expired yet ends
    now, so it does not stand in the way of the new one."""
    lapsed = db.session.scalars(
        select(DealRegistration).where(
            DealRegistration.customer_domain == domain,
            DealRegistration.status == DealStatus.approved,
            DealRegistration.expires_at <= now,
        )
    ).all()
    for other in lapsed:
        transition(other, DealStatus.expired, actor=None, claim=True)


def reject_deal(deal: DealRegistration, *, reason: str, actor: Principal) -> None:
    if not reason.strip():
        raise InvalidInput(_("Say why the registration is rejected."), field="reason")
    _decide(deal, DealStatus.rejected, reason=reason.strip(), actor=actor)
    tell_partner(
        deal,
        _l(
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
        _l(
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
