"""The system's side of offers: expiry with recall and re-offer, and reminders, run by the
periodic ``tick`` (safe to run twice)."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from partners.leads.models import LeadOffer, LeadStatus, OfferStatus
from partners.leads.services.common import (
    format_when,
    lead_link,
    offer_concerns,
    tell_distributor,
    tell_partner,
)
from partners.leads.services.offers import offer_by_rule
from portal import audit
from portal.business_hours import business_hours_between, calendar_from_config
from portal.clock import utcnow
from portal.db import db
from portal.errors import Conflict, InvalidTransition
from portal.notify import services as notify
from portal.workflow import transition

log = logging.getLogger(__name__)


def expire_offer(offer: LeadOffer) -> LeadOffer | None:
    """The system ends an unanswered offer past ``respond_by``: the partner loses the lead, which
    goes to the next partner by rule. Returns the new offer, if any partner is eligible. A
    StaleDataError means another tick (or the partner's answer) changed the offer first."""
    if offer.status != OfferStatus.offered:
        raise InvalidTransition(_("Only an open offer expires."))
    if offer.passed_down_from_id is not None:
        _expire_passed_down(offer)
        return None
    lead = offer.lead
    transition(offer, OfferStatus.expired, actor=None)
    transition(
        lead,
        LeadStatus.new,
        actor=None,
        event="lead.recalled",
        data={"partner": offer.partner.name, "why": "expired"},
    )
    tell_partner(
        offer.org_id,
        "leads.offer_closed",
        _l("Lead offer expired: %(company)s", company=lead.company),
        _l(
            "The time to answer the offer of %(company)s ran out at %(when)s; the lead went "
            "back to the vendor.",
            company=lead.company,
            when=notify.lazy(format_when, offer.respond_by),
        ),
    )
    following = offer_by_rule(lead, actor=None)
    if following is not None:
        notify.notify(
            offer_concerns(offer),
            "leads.distribution",
            _l("Lead %(company)s moved on", company=lead.company),
            _l(
                "%(old)s did not answer in time; the lead %(company)s is now offered to %(new)s.",
                old=offer.partner.name,
                company=lead.company,
                new=following.partner.name,
            ),
            link=lead_link(lead.id),
        )
    return following


def _expire_passed_down(offer: LeadOffer) -> None:
    """What a distributor passed down ran out: the reseller loses the lead, which stays with
    the distributor (to pass to another reseller, or work itself)."""
    lead = offer.lead
    transition(offer, OfferStatus.expired, actor=None)
    tell_partner(
        offer.org_id,
        "leads.offer_closed",
        _l("Lead offer expired: %(company)s", company=lead.company),
        _l(
            "The time to answer the offer of %(company)s ran out at %(when)s; the lead went "
            "back to your distributor.",
            company=lead.company,
            when=notify.lazy(format_when, offer.respond_by),
        ),
    )
    tell_distributor(
        offer,
        _l("Lead offer expired: %(company)s", company=lead.company),
        _l(
            "%(reseller)s did not answer the lead %(company)s by %(when)s: it is yours again.",
            reseller=offer.partner.name,
            company=lead.company,
            when=notify.lazy(format_when, offer.respond_by),
        ),
    )


BATCH = 500


def expire_lead_offers() -> int:
    """Tick: expire every offer past ``respond_by`` and pass its lead on. Each offer in its own
    savepoint; an offer another tick (or the partner's answer) changed meanwhile is skipped, so
    running twice, or two ticks at once, never offers a lead twice."""
    session = db.session
    now = utcnow()
    done = 0
    ids = session.scalars(
        select(LeadOffer.id)
        .where(LeadOffer.status == OfferStatus.offered, LeadOffer.respond_by <= now)
        .order_by(LeadOffer.respond_by, LeadOffer.id)
        .limit(BATCH)
    ).all()
    for offer_id in ids:
        try:
            with session.begin_nested():
                offer = session.get(LeadOffer, offer_id, populate_existing=True)
                if offer is None or offer.status != OfferStatus.offered:
                    continue
                expire_offer(offer)
            done += 1
        except (StaleDataError, Conflict, InvalidTransition):
            log.info("lead offer %s changed meanwhile; left to whoever changed it", offer_id)
    return done


def remind_lead_offers() -> int:
    """Tick: remind the partner once (``reminder_sent_at``) when an unanswered offer has at most
    ``LEAD_REMINDER_HOURS`` business hours left."""
    now = utcnow()
    config = current_app.config
    calendar = calendar_from_config(config)
    window = timedelta(hours=float(config["LEAD_REMINDER_HOURS"]))
    session = db.session
    done = 0
    offers = session.scalars(
        select(LeadOffer)
        .where(
            LeadOffer.status == OfferStatus.offered,
            LeadOffer.reminder_sent_at.is_(None),
            LeadOffer.respond_by > now,
        )
        .order_by(LeadOffer.respond_by, LeadOffer.id)
    ).all()
    for offer in offers:
        if business_hours_between(now, offer.respond_by, calendar) > window:
            continue
        try:
            with session.begin_nested():
                offer.reminder_sent_at = now
                session.flush()
                audit.record("lead_offer.reminded", offer, actor=None)
                lead = offer.lead
                tell_partner(
                    offer.org_id,
                    "leads.reminder",
                    _l("Answer soon: %(company)s", company=lead.company),
                    _l(
                        "The offer of the lead %(company)s runs out at %(when)s. Accept or "
                        "decline it before then.",
                        company=lead.company,
                        when=notify.lazy(format_when, offer.respond_by),
                    ),
                    link=lead_link(lead.id),
                )
            done += 1
        except StaleDataError:
            log.info("lead offer %s changed meanwhile; no reminder", offer.id)
    return done
