"""The system's side of offers: expiry with recall and re-offer, and reminders, run by the
periodic ``tick`` (safe to run twice)."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from partners.leads.models import LeadOffer
from partners.leads.services.common import (
    OFFER_AUDIT_FIELDS,
    _offer_concerns,
    _when,
    lead_path,
    partner_people,
)
from partners.leads.services.offers import offer_by_rule
from portal import audit, jobs
from portal.business_hours import business_hours_between, calendar_from_config
from portal.clock import utcnow
from portal.db import db
from portal.errors import Conflict, InvalidTransition
from portal.jobs import system_session
from portal.notify import services as notify

log = logging.getLogger(__name__)


def expire_offer(offer: LeadOffer) -> LeadOffer | None:
    """The system ends an unanswered offer past ``respond_by``: the partner loses the lead, which
    goes to the next partner by rule. Returns the new offer, if any partner is eligible."""
    if offer.status != "offered":
        raise InvalidTransition(_("Only an open offer expires."))
    before = audit.snapshot(offer, OFFER_AUDIT_FIELDS)
    offer.status = "expired"
    lead = offer.lead
    lead.status = "new"
    db.session.flush()  # a StaleDataError here means another tick got there first
    audit.record(
        "lead_offer.expired",
        offer,
        actor=None,
        before=before,
        after=audit.snapshot(offer, OFFER_AUDIT_FIELDS),
    )
    audit.record(
        "lead.recalled",
        lead,
        actor=None,
        after={"status": "new", "partner": offer.partner.name, "why": "expired"},
    )
    notify.notify(
        partner_people(offer.org_id),
        "leads.offer_closed",
        _("Lead offer expired: %(company)s", company=lead.company),
        _(
            "The time to answer the offer of %(company)s ran out at %(when)s; the lead went "
            "back to the vendor.",
            company=lead.company,
            when=_when(offer.respond_by),
        ),
    )
    following = offer_by_rule(lead, actor=None)
    if following is not None:
        notify.notify(
            _offer_concerns(offer),
            "leads.distribution",
            _("Lead %(company)s moved on", company=lead.company),
            _(
                "%(old)s did not answer in time; the lead %(company)s is now offered to %(new)s.",
                old=offer.partner.name,
                company=lead.company,
                new=following.partner.name,
            ),
            link=lead_path(lead.id),
        )
    return following


BATCH = 500


@jobs.periodic("expire_lead_offers")
def expire_lead_offers(session: Session) -> int:
    """Tick: expire every offer past ``respond_by`` and pass its lead on. Each offer in its own
    savepoint; an offer another tick (or the partner's answer) changed meanwhile is skipped, so
    running twice, or two ticks at once, never offers a lead twice."""
    now = utcnow()
    done = 0
    with system_session(session):
        ids = session.scalars(
            select(LeadOffer.id)
            .where(LeadOffer.status == "offered", LeadOffer.respond_by <= now)
            .order_by(LeadOffer.respond_by, LeadOffer.id)
            .limit(BATCH)
        ).all()
        for offer_id in ids:
            try:
                with session.begin_nested():
                    offer = session.get(LeadOffer, offer_id, populate_existing=True)
                    if offer is None or offer.status != "offered":
                        continue
                    expire_offer(offer)
                done += 1
            except (StaleDataError, Conflict):
                log.info("lead offer %s changed meanwhile; left to whoever changed it", offer_id)
    return done


@jobs.periodic("remind_lead_offers")
def remind_lead_offers(session: Session) -> int:
    """Tick: remind the partner once (``reminder_sent_at``) when an unanswered offer has at most
    ``LEAD_REMINDER_HOURS`` business hours left."""
    now = utcnow()
    config = current_app.config
    calendar = calendar_from_config(config)
    window = timedelta(hours=float(config["LEAD_REMINDER_HOURS"]))
    done = 0
    with system_session(session):
        offers = session.scalars(
            select(LeadOffer)
            .where(
                LeadOffer.status == "offered",
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
                    notify.notify(
                        partner_people(offer.org_id),
                        "leads.reminder",
                        _("Answer soon: %(company)s", company=lead.company),
                        _(
                            "The offer of the lead %(company)s runs out at %(when)s. Accept or "
                            "decline it before then.",
                            company=lead.company,
                            when=_when(offer.respond_by),
                        ),
                        link=lead_path(lead.id),
                    )
                done += 1
            except StaleDataError:
                log.info("lead offer %s changed meanwhile; no reminder", offer.id)
    return done
