"""The partner's one request for longer protection, and the channel manager's answer."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from partners.deals.models import (
    AUDIT_FIELDS,
    DealRegistration,
    DealStatus,
)
from partners.deals.services.common import (
    tell_partner,
    tell_reviewers,
)
from portal import audit, formatting
from portal.clock import utcnow
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal


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
    tell_reviewers(
        deal,
        "deals.submitted",
        _l(
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
    tell_partner(
        deal,
        _l(
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
    tell_partner(
        deal,
        _l(
            "Protection of deal %(number)s is extended to %(until)s.",
            number=deal.number,
            until=notify.lazy(formatting.date, deal.expires_at.date()),
        ),
    )
