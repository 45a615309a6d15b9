"""Use cases of deal registration. Writers only flush; the caller commits once.

States: draft -> submitted -> approved (protected until expires_at) | rejected | info_requested;
info_requested -> submitted; approved -> won | lost | expired. Conflict detection runs on every
submit and flags, never drops.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select

from partners.deals import matching
from partners.deals.models import (
    AUDIT_FIELDS,
    EDITABLE_FIELDS,
    OPEN_DEAL_STATUSES,
    DealConflict,
    DealRegistration,
    DealStatus,
    DirectDeal,
)
from partners.program.models import Tier
from portal import access, audit
from portal.clock import utcnow
from portal.concurrency import check_unchanged
from portal.db import db, read_across, unscoped
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition

__all__ = ["AUDIT_FIELDS", "EDITABLE_FIELDS"]
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "CAD", "AUD", "JPY")
REGISTERING_KINDS = ("reseller", "distributor")
DEFAULT_PROTECTION_DAYS = 90


def _clean(fields: dict) -> dict:
    """Validate and normalise what a partner enters; raises InvalidInput naming the field."""
    name = (fields.get("customer_name") or "").strip()
    if not name:
        raise InvalidInput(_("Give the end customer's company name."), field="customer_name")
    domain = matching.normalise_domain(fields.get("customer_domain") or "")
    if domain is None:
        raise InvalidInput(
            _("Give the customer's web domain, such as acme.com."), field="customer_domain"
        )
    try:
        value = Decimal(str(fields.get("value"))).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("Give the estimated value as a number."), field="value") from None
    if value <= 0 or value >= Decimal("1e12"):
        raise InvalidInput(_("The estimated value must be above zero."), field="value")
    currency = (fields.get("currency") or "").upper()
    if currency not in CURRENCIES:
        raise InvalidInput(_("Choose a currency from the list."), field="currency")
    close = fields.get("expected_close")
    if not isinstance(close, date) or close < utcnow().date():
        raise InvalidInput(
            _("The expected close date must be today or later."), field="expected_close"
        )
    products = [p.strip() for p in fields.get("products") or [] if p and p.strip()]
    if not products:
        raise InvalidInput(_("Name at least one product of interest."), field="products")
    return {
        "customer_name": name[:200],
        "customer_name_key": matching.name_key(name)[:200],
        "customer_domain": domain,
        "contact_name": (fields.get("contact_name") or "")[:200],
        "contact_email": (fields.get("contact_email") or "").strip()[:254],
        "products": products[:20],
        "value": value,
        "currency": currency,
        "expected_close": close,
        "notes": (fields.get("notes") or "")[:5000],
    }


def register_deal(
    partner: Organization, fields: dict, *, submit: bool, actor: Principal
) -> DealRegistration:
    """A partner registers a deal, as a draft or submitted at once."""
    if not actor.can("deals.register") or partner.id != actor.org_id:
        raise Forbidden(_("Only a partner registers its own deals."))
    if partner.kind not in REGISTERING_KINDS:
        raise Forbidden(_("Only resellers and distributors register deals."))
    deal = DealRegistration(
        org_id=partner.id,
        number="pending",
        status=DealStatus.draft,
        registered_by_id=actor.user_id,
        **_clean(fields),
    )
    db.session.add(deal)
    db.session.flush()
    deal.number = f"DR-{deal.created_at.year}-{deal.id:05d}"  # from the id: never reused
    audit.record("deal.registered", deal, actor=actor, after=audit.snapshot(deal, AUDIT_FIELDS))
    if submit:
        submit_deal(deal, actor=actor)
    return deal


def update_deal(
    deal: DealRegistration, fields: dict, *, seen: str | None, actor: Principal
) -> None:
    """The partner edits a draft, or a registration the vendor asked more information about."""
    if deal.org_id != actor.org_id or not actor.can("deals.register"):
        raise Forbidden(_("Only the registering partner edits a registration."))
    if deal.status not in (DealStatus.draft, DealStatus.info_requested):
        raise InvalidTransition(
            _("Only a draft or a registration awaiting information can be edited.")
        )
    check_unchanged(deal, seen)
    before = audit.snapshot(deal, AUDIT_FIELDS)
    for key, value in _clean(fields).items():
        setattr(deal, key, value)
    audit.record(
        "deal.edited", deal, actor=actor, before=before, after=audit.snapshot(deal, AUDIT_FIELDS)
    )


def submit_deal(deal: DealRegistration, *, actor: Principal) -> list[DealConflict]:
    """Submit for review; conflicts with open registrations and direct deals are recorded for
    the channel manager. Returns them (the partner is told only 'under review')."""
    if deal.org_id != actor.org_id:
        raise Forbidden(_("Only the registering partner submits a registration."))
    transition(deal, DealStatus.submitted, actor=actor)
    conflicts = _record_conflicts(deal)
    if conflicts:  # the vendor's to know: an event in the vendor's history, by no partner user
        audit.record(
            "deal.conflicts_flagged",
            deal,
            actor=None,
            org_id=conflicts[0].org_id,
            after={"conflicts": len(conflicts)},
        )
    _tell_reviewers(
        deal,
        "deals.submitted",
        _(
            "%(partner)s registered a deal with %(customer)s",
            partner=deal.partner.name,
            customer=deal.customer_name,
        ),
        body=_("%(n)d possible conflicts.", n=len(conflicts)) if conflicts else "",
    )
    return conflicts


def _record_conflicts(deal: DealRegistration) -> list[DealConflict]:
    # Every partner's open registrations and the vendor's open direct deals, read as plain rows
    # past the partner's wall.
    with read_across() as reader:
        registrations = reader.execute(
            select(
                DealRegistration.id,
                DealRegistration.customer_name_key,
                DealRegistration.customer_domain,
            ).where(DealRegistration.status.in_(OPEN_DEAL_STATUSES), DealRegistration.id != deal.id)
        ).all()
        directs = reader.execute(
            select(DirectDeal.id, DirectDeal.customer_name_key, DirectDeal.customer_domain).where(
                DirectDeal.status == "open"
            )
        ).all()
        vendor_id = reader.scalar(select(Organization.id).where(Organization.kind == access.VENDOR))
    candidates = [matching.Candidate("registration", *row) for row in registrations] + [
        matching.Candidate("direct", *row) for row in directs
    ]
    conflicts = []
    for match in matching.find_matches(deal.customer_name, deal.customer_domain, candidates):
        registration = match.candidate.kind == "registration"
        conflicts.append(
            DealConflict(
                org_id=vendor_id,
                registration_id=deal.id,
                kind=match.reason,
                score=match.score,
                other_registration_id=match.candidate.id if registration else None,
                direct_deal_id=None if registration else match.candidate.id,
            )
        )
    # PostgreSQL would refuse the INSERT's RETURNING row under the partner's read policy.
    with unscoped():  # reason: the vendor's review data, which the partner may not read back
        db.session.add_all(conflicts)
    return conflicts


def _decide(deal: DealRegistration, to: str, *, reason: str, actor: Principal) -> None:
    if not actor.can("deals.review"):
        raise Forbidden(_("Only channel managers decide on registrations."))
    transition(deal, to, actor=actor, changes={"decision_reason": reason})


def approve_deal(deal: DealRegistration, *, protection_days: int | None, actor: Principal) -> None:
    """Approve: protected for the given days, or the partner's tier's protection days."""
    days = protection_days or _tier_protection_days(deal.partner)
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
    _tell_partner(
        deal,
        _(
            "Deal %(number)s with %(customer)s is approved, protected until %(until)s.",
            number=deal.number,
            customer=deal.customer_name,
            until=deal.expires_at.date().isoformat(),
        ),
    )


def reject_deal(deal: DealRegistration, *, reason: str, actor: Principal) -> None:
    if not reason.strip():
        raise InvalidInput(_("Say why the registration is rejected."), field="reason")
    _decide(deal, DealStatus.rejected, reason=reason.strip(), actor=actor)
    _tell_partner(
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
    _tell_partner(
        deal,
        _(
            "Deal %(number)s needs more information: %(message)s",
            number=deal.number,
            message=message.strip(),
        ),
    )


def request_extension(deal: DealRegistration, *, days: int, reason: str, actor: Principal) -> None:
    """The registering partner asks, once, for longer protection of an approved registration,
    saying why; the channel managers are told and grant (``extend_protection``) or decline."""
    if not actor.can("deals.register") or deal.org_id != actor.org_id:
        raise Forbidden(_("Only the registering partner asks for an extension."))
    if deal.status != DealStatus.approved:
        raise InvalidTransition(_("Only an approved registration can be extended."))
    if deal.extension_requested_at is not None:
        raise InvalidTransition(_("This registration has had its one extension request already."))
    if not 1 <= days <= 365:
        raise InvalidInput(_("Ask for 1 to 365 more days."), field="days")
    if not reason.strip():
        raise InvalidInput(_("Say why the deal needs longer protection."), field="reason")
    before = audit.snapshot(deal, AUDIT_FIELDS)
    deal.extension_requested_at = utcnow()
    deal.extension_requested_days = days
    deal.extension_requested_by_id = actor.user_id
    deal.extension_request_reason = reason.strip()[:2000]
    audit.record(
        "deal.extension_requested",
        deal,
        actor=actor,
        before=before,
        after=audit.snapshot(deal, AUDIT_FIELDS),
    )
    _tell_reviewers(
        deal,
        "deals.submitted",
        _(
            "%(partner)s asks to extend deal %(number)s by %(days)d days",
            partner=deal.partner.name,
            number=deal.number,
            days=days,
        ),
        body=deal.extension_request_reason,
    )


def decline_extension(deal: DealRegistration, *, reason: str, actor: Principal) -> None:
    """A channel manager declines the partner's pending extension request, saying why."""
    if not actor.can("deals.review"):
        raise Forbidden(_("Only channel managers decide on extension requests."))
    if not deal.extension_pending:
        raise InvalidTransition(_("There is no extension request waiting on this registration."))
    if not reason.strip():
        raise InvalidInput(_("Say why the extension is declined."), field="reason")
    before = audit.snapshot(deal, AUDIT_FIELDS)
    deal.extension_outcome, deal.extension_response = "declined", reason.strip()[:2000]
    audit.record(
        "deal.extension_declined",
        deal,
        actor=actor,
        before=before,
        after=audit.snapshot(deal, AUDIT_FIELDS),
    )
    _tell_partner(
        deal,
        _(
            "The extension of deal %(number)s is declined: %(reason)s",
            number=deal.number,
            reason=deal.extension_response,
        ),
    )


def extend_protection(deal: DealRegistration, *, days: int, actor: Principal) -> None:
    """A channel manager extends protection, granting the partner's request if one waits."""
    if not actor.can("deals.review"):
        raise Forbidden(_("Only channel managers extend protection."))
    if deal.status != DealStatus.approved:
        raise InvalidTransition(_("Only an approved registration can be extended."))
    if not 1 <= days <= 365:
        raise InvalidInput(_("Extend by 1 to 365 days."), field="days")
    before = audit.snapshot(deal, AUDIT_FIELDS)
    deal.expires_at = max(deal.expires_at, utcnow()) + timedelta(days=days)
    if deal.extension_pending:
        deal.extension_outcome = "granted"
    audit.record(
        "deal.extended", deal, actor=actor, before=before, after=audit.snapshot(deal, AUDIT_FIELDS)
    )
    _tell_partner(
        deal,
        _(
            "Protection of deal %(number)s is extended to %(until)s.",
            number=deal.number,
            until=deal.expires_at.date().isoformat(),
        ),
    )


def close_deal(deal: DealRegistration, *, outcome: str, actor: Principal) -> None:
    """Won or lost, recorded by the partner or vendor staff."""
    if outcome not in ("won", "lost"):
        raise InvalidInput(_("Choose won or lost."), field="outcome")
    if not actor.can("deals.close") or not (actor.is_vendor_staff or deal.org_id == actor.org_id):
        raise Forbidden(_("You may not close this registration."))
    transition(deal, outcome, actor=actor)


def _tier_protection_days(partner: Organization) -> int:
    days = db.session.scalar(select(Tier.protection_days).where(Tier.code == partner.tier))
    return days or DEFAULT_PROTECTION_DAYS


def _tell_reviewers(deal: DealRegistration, kind: str, title: str, body: str = "") -> None:
    notify.tell(
        "deals.review",
        None,
        kind,
        title,
        body=body,
        link=notify.link("deals.detail", deal_id=deal.id),
    )


def _tell_partner(deal: DealRegistration, title: str) -> None:
    """The people who registered it or asked for its extension, and the partner's people who
    follow all its registrations."""
    notify.tell(
        "deals.follow",
        deal.org_id,
        "deals.decided",
        title,
        link=notify.link("deals.detail", deal_id=deal.id),
        also=[deal.registered_by_id, deal.extension_requested_by_id],
    )


def create_direct_deal(fields: dict, *, actor: Principal) -> DirectDeal:
    """The vendor records a deal it works itself, so registrations are checked against it."""
    if not actor.can("direct_deals.manage"):
        raise Forbidden(_("Only vendor sales staff record direct deals."))
    cleaned = _clean(
        {
            **fields,
            "products": ["direct"],
            "expected_close": fields.get("expected_close") or utcnow().date(),
        }
    )
    deal = DirectDeal(
        customer_name=cleaned["customer_name"],
        customer_name_key=cleaned["customer_name_key"],
        customer_domain=cleaned["customer_domain"],
        value=cleaned["value"],
        currency=cleaned["currency"],
        owner_id=actor.user_id,
    )
    db.session.add(deal)
    db.session.flush()
    audit.record(
        "direct_deal.created",
        deal,
        actor=actor,
        after={"customer_name": deal.customer_name, "domain": deal.customer_domain},
    )
    return deal


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
