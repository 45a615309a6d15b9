"""Partners' quote requests on their approved registrations, and vendor staff declining them."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from partners.deals.models import DealRegistration
from partners.quotes.models import QuoteRequest
from partners.quotes.services.common import (
    check_manager,
    flush,
)
from portal import access, audit
from portal.clock import utcnow
from portal.db import db, unscoped
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization, User
from portal.notify import services as notify
from portal.tenancy import Principal


def request_quote(deal: DealRegistration, *, message: str, actor: Principal) -> QuoteRequest:
    """A partner asks for a quote on its approved registration; vendor sales staff are told."""
    if not actor.can("quotes.request") or deal.org_id != actor.org_id:
        raise Forbidden(_("Only the registering partner asks for a quote on it."))
    if deal.status != "approved":
        raise InvalidTransition(_("Ask for a quote once the registration is approved."))
    open_one = db.session.scalar(
        select(func.count(QuoteRequest.id)).where(
            QuoteRequest.deal_id == deal.id, QuoteRequest.status == "open"
        )
    )
    if open_one:
        raise InvalidTransition(_("A quote is requested for this registration already."))
    request = QuoteRequest(
        org_id=deal.org_id,
        deal_id=deal.id,
        message=(message or "").strip()[:5000],
        requested_by_id=actor.user_id,
    )
    db.session.add(request)
    flush()
    audit.record("quote.requested", request, actor=actor, after={"deal": deal.number})
    with unscoped():  # vendor sales staff, from a partner's request (reviewed)
        staff = db.session.scalars(
            select(User)
            .join(Organization)
            .where(
                Organization.kind == access.VENDOR,
                User.active.is_(True),
                User.role.in_(["vendor_admin", "channel_manager", "sales_rep"]),
            )
        ).all()
        notify.notify(
            staff,
            "quotes.requested",
            _(
                "%(partner)s asks for a quote on %(deal)s",
                partner=deal.partner.name,
                deal=deal.number,
            ),
            body=request.message,
            link=url_for("quotes.requests"),
        )
    return request


def close_request(request: QuoteRequest, *, reason: str, actor: Principal) -> None:
    """Vendor sales staff decline an open quote request, saying why; the partner's requester
    (or, if gone, its active people) is told, and the partner may ask again."""
    check_manager(actor)
    if request.status != "open":
        raise InvalidTransition(
            _("This quote request is %(state)s already.", state=_(request.status))
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the request is declined."), field="reason")
    request.status, request.closed_at = "closed", utcnow()
    request.close_reason = reason[:5000]
    flush()
    audit.record(
        "quote.request_closed",
        request,
        actor=actor,
        before={"status": "open"},
        after={"status": "closed", "reason": request.close_reason},
    )
    with unscoped():  # the partner's people, from the vendor's decision (reviewed)
        deal = db.session.get(DealRegistration, request.deal_id)
        requester = (
            db.session.get(User, request.requested_by_id) if request.requested_by_id else None
        )
        people = (
            [requester]
            if requester is not None and requester.active
            else db.session.scalars(
                select(User).where(User.org_id == request.org_id, User.active.is_(True))
            ).all()
        )
        notify.notify(
            people,
            "quotes.request_closed",
            _("Your quote request on %(deal)s was declined", deal=deal.number if deal else ""),
            body=_("The reason given:\n\n%(reason)s", reason=request.close_reason),
            link=url_for("deals.detail", deal_id=request.deal_id),
        )
