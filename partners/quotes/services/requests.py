"""Partners' quote requests on their approved registrations, and vendor staff declining them."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from partners.deals.models import DealRegistration, DealStatus
from partners.quotes.models import QuoteRequest, QuoteRequestStatus
from partners.quotes.services.common import (
    check_manager,
    flush,
)
from portal import audit, people
from portal.db import db
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition


def request_quote(deal: DealRegistration, *, message: str, actor: Principal) -> QuoteRequest:
    """A partner asks for a quote on its approved registration; the vendor staff who build
    quotes are told."""
    if not actor.can("quotes.request") or deal.org_id != actor.org_id:
        raise Forbidden(_("Only the registering partner asks for a quote on it."))
    if deal.status != DealStatus.approved:
        raise InvalidTransition(_("Ask for a quote once the registration is approved."))
    open_one = db.session.scalar(
        select(func.count(QuoteRequest.id)).where(
            QuoteRequest.deal_id == deal.id, QuoteRequest.status == QuoteRequestStatus.open
        )
    )
    if open_one:
        raise InvalidTransition(_("A quote is requested for this registration already."))
    request = QuoteRequest(
        org_id=deal.org_id,
        deal_id=deal.id,
        message=(message or "").strip()[:5000],
        status=QuoteRequestStatus.open,
        requested_by_id=actor.user_id,
    )
    db.session.add(request)
    flush()
    audit.record("quote.requested", request, actor=actor, after={"deal": deal.number})
    notify.tell(
        "quotes.manage",
        None,
        "quotes.requested",
        _l(
            "%(partner)s asks for a quote on %(deal)s",
            partner=deal.partner.name,
            deal=deal.number,
        ),
        body=request.message,
        link=notify.link("quotes.requests"),
    )
    return request


def close_request(request: QuoteRequest, *, reason: str, actor: Principal) -> None:
    """Vendor sales staff decline an open quote request, saying why; the partner's requester
    (or, if gone, its people who may ask for quotes) is told, and the partner may ask again."""
    check_manager(actor)
    if request.status != QuoteRequestStatus.open:
        raise InvalidTransition(
            _("This quote request is %(state)s already.", state=_(request.status))
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the request is declined."), field="reason")
    transition(
        request,
        QuoteRequestStatus.closed,
        actor=actor,
        event="quote.request_closed",
        changes={"close_reason": reason[:5000]},
        data={"reason": reason[:5000]},
    )
    # Vendor staff (``check_manager``) see every registration.
    deal = db.session.get(DealRegistration, request.deal_id)
    requester = people.person(request.requested_by_id)
    notify.notify(
        [requester] if requester is not None else people.who_may("quotes.request", request.org_id),
        "quotes.request_closed",
        _l("Your quote request on %(deal)s was declined", deal=deal.number if deal else ""),
        body=_l("The reason given:\n\n%(reason)s", reason=request.close_reason),
        link=notify.link("deals.detail", deal_id=request.deal_id),
    )
