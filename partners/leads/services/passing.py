"""Two tiers: a distributor passes a lead offered to it down to one of its resellers, with a
respond-by of its own, and may recall it. The reseller answers as any partner does
(``answers``); its answer, a recall or the expiry of what was passed down leaves the lead with
the distributor, which may pass it to another reseller.

The reseller's offer belongs to the reseller, so the distributor's scope (and PostgreSQL's write
policy) would refuse to write it: such writes go through one reviewed ``unscoped()`` block
(``_resellers_offer``), after the checks that the actor is the distributor holding the lead and
the reseller is its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from partners.leads import queries
from partners.leads.models import LeadOffer, OfferStatus
from partners.leads.services.answers import accept_offer
from partners.leads.services.common import (
    OFFER_AUDIT_FIELDS,
    OUTCOMES,
    format_when,
    lead_link,
    require_action,
    stale_as_conflict,
    tell_partner,
)
from portal import audit
from portal.clock import utcnow
from portal.concurrency import flush_or_conflict
from portal.db import db, unscoped
from portal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition

# How far ahead a distributor may set its reseller's respond-by.
LONGEST_RESPONSE = timedelta(days=30)
ONE_RESELLER_INDEX = "uq_lead_offers_open_per_parent"


def _check_holder(offer: LeadOffer, actor: Principal) -> None:
    require_action(actor, "leads.pass_down")  # distributors only (access: kind rule)
    if offer.org_id != actor.org_id or offer.passed_down_from_id is not None:
        raise Forbidden(_("Only the distributor the lead is offered to passes it down."))
    if offer.lead.status in OUTCOMES:
        raise InvalidTransition(_("This lead is closed (%(s)s).", s=offer.lead.status))
    if offer.status not in (OfferStatus.offered, OfferStatus.accepted):
        raise InvalidTransition(
            _("This offer is %(status)s: it cannot be passed down.", status=offer.status)
        )


def _check_reseller(offer: LeadOffer, reseller: Organization | None, actor: Principal) -> None:
    if reseller is None or reseller.kind != "reseller" or reseller.managed_by_id != actor.org_id:
        raise InvalidInput(_("Choose one of your resellers."), field="reseller_id")
    if not reseller.active:
        raise InvalidInput(_("%(name)s is deactivated.", name=reseller.name), field="reseller_id")
    if OfferStatus.declined in queries.offer_history(offer.lead_id).get(reseller.id, set()):
        raise InvalidInput(
            _("%(name)s declined this lead already.", name=reseller.name), field="reseller_id"
        )


def _check_respond_by(respond_by: datetime | None, now: datetime) -> datetime:
    if respond_by is None:
        raise InvalidInput(_("Give the time to answer by."), field="respond_by")
    if respond_by.tzinfo is None:
        raise InvalidInput(_("Give the time with its time zone."), field="respond_by")
    if respond_by <= now:
        raise InvalidInput(_("The time to answer by must be in the future."), field="respond_by")
    if respond_by > now + LONGEST_RESPONSE:
        raise InvalidInput(
            _("Give your reseller at most %(days)d days.", days=LONGEST_RESPONSE.days),
            field="respond_by",
        )
    return respond_by


@contextmanager
def _resellers_offer() -> Iterator[None]:
    """The distributor writes its reseller's offer: only after ``_check_holder`` (and, for a new
    one, ``_check_reseller``) passed."""
    with unscoped():  # reason: a distributor writes its own reseller's offer, checked first
        yield


def _one_reseller_at_a_time(error: IntegrityError) -> bool:
    # PostgreSQL names the index, SQLite the column.
    message = str(error.orig)
    return ONE_RESELLER_INDEX in message or "lead_offers.passed_down_from_id" in message


def pass_down(
    offer: LeadOffer,
    reseller: Organization | None,
    respond_by: datetime | None,
    *,
    actor: Principal,
    now: datetime | None = None,
) -> LeadOffer:
    """The distributor holding ``offer`` passes its lead down to ``reseller`` (one of its own),
    to accept or decline by ``respond_by`` (aware, in the future, within 30 days). An offer
    still unanswered is accepted first: the distributor takes the lead on to pass it on. One
    reseller at a time (the database's partial unique index decides a race). Raises
    InvalidInput, InvalidTransition (closed, ended, or with a reseller already), Forbidden,
    Conflict."""
    now = now or utcnow()
    _check_holder(offer, actor)
    _check_reseller(offer, reseller, actor)
    respond_by = _check_respond_by(respond_by, now)
    holding = queries.open_pass_down(offer.id)
    if holding is not None:
        raise InvalidTransition(
            _("%(name)s has this lead already: recall it first.", name=holding.partner.name)
        )
    if offer.status == OfferStatus.offered:
        accept_offer(offer, actor=actor, now=now)
    lead = offer.lead
    passed = LeadOffer(
        org_id=reseller.id,
        lead_id=lead.id,
        status=OfferStatus.offered,
        offered_at=now,
        respond_by=respond_by,
        offered_by_id=actor.user_id,
        reason=_("Passed down by %(name)s.", name=offer.partner.name),
        passed_down_from_id=offer.id,
    )
    with _resellers_offer():
        db.session.add(passed)
        flush_or_conflict(
            lambda: Conflict(_("The lead was passed down at the same moment. Reload the page.")),
            lost_race=_one_reseller_at_a_time,
        )
        audit.record(
            "lead_offer.created",
            passed,
            actor=actor,
            after=audit.snapshot(passed, OFFER_AUDIT_FIELDS),
        )
    audit.record(
        "lead_offer.passed_down",
        offer,
        actor=actor,
        after={
            "reseller": reseller.name,
            "offer_id": passed.id,
            "respond_by": respond_by.isoformat(),
        },
    )
    tell_partner(
        reseller.id,
        "leads.offered",
        _l("Lead offered to you: %(company)s", company=lead.company),
        _l(
            "%(distributor)s passes %(company)s (%(country)s, %(line)s) to %(partner)s. Accept "
            "or decline it by %(when)s.",
            distributor=offer.partner.name,
            company=lead.company,
            country=lead.country,
            line=lead.product_line,
            partner=reseller.name,
            when=notify.lazy(format_when, respond_by),
        ),
        link=lead_link(lead.id),
    )
    return passed


def recall_pass_down(offer: LeadOffer, *, actor: Principal) -> LeadOffer:
    """The distributor takes back what it passed down from ``offer`` (offered or accepted);
    the reseller loses access to the lead at once, which stays the distributor's. Raises
    InvalidTransition (nothing passed down), Forbidden, Conflict."""
    _check_holder(offer, actor)
    passed = queries.open_pass_down(offer.id)
    if passed is None:
        raise InvalidTransition(_("This lead is not with any of your resellers."))
    with stale_as_conflict(), _resellers_offer():
        transition(passed, OfferStatus.recalled, actor=actor)
    tell_partner(
        passed.org_id,
        "leads.offer_closed",
        _l("Lead recalled: %(company)s", company=offer.lead.company),
        _l(
            "%(distributor)s took the lead %(company)s back.",
            distributor=offer.partner.name,
            company=offer.lead.company,
        ),
    )
    return passed
