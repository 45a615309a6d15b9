"""Lead use cases: create and edit leads, offer them to partners (by hand or by rule), the
partner's answer, expiry and reminders (the periodic ``tick``), outcomes, and leads partners share.

Services take plain values and a ``Principal`` as ``actor`` (None: the system, in jobs and tick),
check the state machine, write an audit event per step, notify the people concerned, and only
flush; the view, API endpoint or job commits once. Errors are ``DomainError``s whose message is
safe to show: ``InvalidInput`` (422), ``InvalidTransition`` and ``Conflict`` (409), ``Forbidden``.

State machines:
    offer:        offered -> accepted | declined | expired | recalled;  accepted -> recalled
    lead:         new -> offered -> accepted -> won | lost;  offered/accepted -> new (the offer
                  ended: declined, expired, recalled); new -> won | lost (vendor staff)
    shared lead:  submitted -> approved | rejected
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import pycountry
from email_validator import EmailNotValidError, validate_email
from flask import current_app, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from partners.leads import queries
from partners.leads.models import Lead, LeadOffer, SharedLead
from partners.program.models import PRODUCT_LINES, Tier
from portal import access, audit, jobs
from portal.business_hours import add_business_hours, business_hours_between, calendar_from_config
from portal.clock import utcnow
from portal.concurrency import check_unchanged
from portal.db import db, unscoped
from portal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization, User
from portal.notify import register_kind
from portal.notify import services as notify
from portal.tenancy import Principal

log = logging.getLogger(__name__)

register_kind("leads.offered", _l("A lead is offered to my organisation"))
register_kind("leads.reminder", _l("Reminder before a lead offer runs out"))
register_kind("leads.offer_closed", _l("A lead offer to my organisation expired or was recalled"))
register_kind("leads.response", _l("A partner answered a lead offer or recorded its outcome"))
register_kind("leads.distribution", _l("Lead distribution: expiries and leads no partner took"))
register_kind("leads.shared_submitted", _l("A partner shared a lead"))
register_kind("leads.shared_decided", _l("A lead my organisation shared was approved or rejected"))

# Fields of a lead that people type, with their longest allowed length.
LEAD_FIELDS = {
    "company": 200,
    "contact_name": 200,
    "email": 254,
    "phone": 50,
    "country": 2,
    "product_line": 60,
    "notes": 5000,
}
SHARED_FIELDS = ("company", "contact_name", "email", "country", "product_line", "notes")
REQUIRED_FIELDS = ("company", "country", "product_line")
EDITABLE_FIELDS = [*LEAD_FIELDS, "status"]  # status is shown, so a change to it is a conflict
LEAD_AUDIT_FIELDS = [
    "company",
    "contact_name",
    "email",
    "phone",
    "country",
    "product_line",
    "source",
    "status",
]
OFFER_AUDIT_FIELDS = ["status", "lead_id", "respond_by", "responded_at", "decline_reason", "reason"]
SHARED_AUDIT_FIELDS = ["status", "company", "country", "product_line", "decision_reason", "lead_id"]
MAX_REASON = 2000
OUTCOMES = ("won", "lost")
# The rule's fairness window: offers a partner received in it count against its next turn.
RULE_WINDOW = timedelta(days=30)


def lead_path(lead_id: int) -> str:
    # Built by hand: notifications are also written by tick, outside any request.
    return f"/leads/{lead_id}"


def shared_path(shared_id: int) -> str:
    return f"/leads/shared/{shared_id}"


# Values people type (forms, CSV rows, API bodies), checked in one place.


def clean_text(value) -> str:
    """Text as stored: no NUL characters (PostgreSQL refuses them), no surrounding blanks."""
    return ("" if value is None else str(value)).replace("\x00", "").strip(" \t\r\n")


@lru_cache(maxsize=1)
def _alpha2() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@lru_cache(maxsize=2048)
def country_code(value: str) -> str | None:
    """The ISO 3166 alpha-2 code for a code (DE, DEU) or an English name (Germany), or None."""
    text = clean_text(value)
    if len(text) == 2 and text.upper() in _alpha2():
        return text.upper()
    if not text:
        return None
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


@lru_cache(maxsize=1)
def country_choices() -> list[tuple[str, str]]:
    """(code, name) of every country, by name."""
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda p: p[1])


def clean_lead_values(values: dict, fields=tuple(LEAD_FIELDS)) -> tuple[dict, dict[str, str]]:
    """The ``fields`` of ``values`` normalised, and a message per field that is wrong."""
    cleaned: dict = {}
    errors: dict[str, str] = {}
    for name in fields:
        text = clean_text(values.get(name))
        if name in REQUIRED_FIELDS and not text:
            errors[name] = _("This field is required.")
            continue
        if name == "country":
            code = country_code(text)
            if code is None:
                errors[name] = _("%(value)s is not a country.", value=text[:60])
                continue
            text = code
        elif name == "product_line":
            text = text.lower()
            if text not in PRODUCT_LINES:
                errors[name] = _(
                    "%(value)s is not a product line (one of: %(lines)s).",
                    value=text[:60],
                    lines=", ".join(PRODUCT_LINES),
                )
                continue
        elif name == "email" and text:
            try:
                text = validate_email(text, check_deliverability=False).normalized
            except EmailNotValidError:
                errors[name] = _("%(value)s is not an email address.", value=text[:254])
                continue
        if len(text) > LEAD_FIELDS[name]:
            errors[name] = _("At most %(n)d characters.", n=LEAD_FIELDS[name])
            continue
        cleaned[name] = text
    return cleaned, errors


def _checked(values: dict, fields=tuple(LEAD_FIELDS)) -> dict:
    cleaned, errors = clean_lead_values(values, fields)
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidInput(message, field=field)
    return cleaned


def _reason(text, field: str = "reason", required: bool = True) -> str:
    reason = clean_text(text)
    if required and not reason:
        raise InvalidInput(_("Give a reason."), field=field)
    if len(reason) > MAX_REASON:
        raise InvalidInput(_("At most %(n)d characters.", n=MAX_REASON), field=field)
    return reason


def _flush() -> None:
    """Flush, turning a lost race (the row's version moved since it was read) into a Conflict."""
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(
            _("Someone else changed this at the same moment. Reload the page and try again.")
        ) from None


def _require(actor: Principal | None, action: str) -> None:
    if actor is not None and not actor.can(action):
        raise Forbidden(_("Your role does not allow this."))


def require_vendor(actor: Principal | None, action: str) -> None:
    """Vendor staff whose role allows ``action`` (None: the system). Raises Forbidden."""
    if actor is not None and not actor.is_vendor_staff:
        raise Forbidden(_("Only the vendor's staff do this."))
    _require(actor, action)


# Who hears about what. Recipients may sit in another organisation than the actor (a partner's
# answer notifies vendor staff), so they are looked up unscoped: reviewed, read-only, users only.


def _roles_allowing(action: str) -> list[str]:
    return [r.name for r in access.ROLES.values() if action in r.actions]


def partner_people(org_id: int, action: str = "leads.respond") -> list[User]:
    with unscoped():
        return list(
            db.session.scalars(
                select(User).where(
                    User.org_id == org_id,
                    User.active.is_(True),
                    User.role.in_(_roles_allowing(action)),
                )
            )
        )


def channel_team() -> list[User]:
    """Vendor staff who distribute leads and review shared ones."""
    with unscoped():
        return list(
            db.session.scalars(
                select(User)
                .join(Organization, Organization.id == User.org_id)
                .where(
                    Organization.kind == access.VENDOR,
                    User.active.is_(True),
                    User.role.in_(_roles_allowing("leads.review")),
                )
            )
        )


def _one_user(user_id: int | None) -> list[User]:
    if user_id is None:
        return []
    with unscoped():
        user = db.session.get(User, user_id)
    return [user] if user is not None and user.active else []


def _offer_concerns(offer: LeadOffer) -> list[User]:
    """Vendor side of an offer: whoever offered it by hand, else the channel team."""
    return _one_user(offer.offered_by_id) or channel_team()


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# Leads.


def create_lead(values: dict, *, actor: Principal, source: str = "manual") -> Lead:
    """A new lead in the vendor's pipeline (status new). Raises InvalidInput."""
    require_vendor(actor, "leads.manage")
    cleaned = _checked(values)
    lead = Lead(org_id=actor.org_id, source=clean_text(source)[:60] or "manual", **cleaned)
    db.session.add(lead)
    db.session.flush()
    audit.record("lead.created", lead, actor=actor, after=audit.snapshot(lead, LEAD_AUDIT_FIELDS))
    return lead


def update_lead(lead: Lead, values: dict, *, seen: str | None, actor: Principal) -> bool:
    """Save what someone edited in a form opened at the version ``seen`` (a snapshot from
    ``portal.concurrency``). Raises EditConflict if the lead changed since, InvalidInput.
    Returns whether anything changed."""
    require_vendor(actor, "leads.manage")
    check_unchanged(lead, seen)
    cleaned = _checked(values)
    changed = {k: v for k, v in cleaned.items() if getattr(lead, k) != v}
    if not changed:
        return False
    before = audit.snapshot(lead, LEAD_AUDIT_FIELDS)
    for name, value in changed.items():
        setattr(lead, name, value)
    _flush()
    audit.record(
        "lead.edited",
        lead,
        actor=actor,
        before=before,
        after=audit.snapshot(lead, LEAD_AUDIT_FIELDS),
    )
    return True


def close_lead(lead: Lead, outcome: str, *, actor: Principal) -> None:
    """Record a lead as won or lost: vendor staff who manage leads (any lead not offered right
    now), or the partner that accepted it. Raises InvalidInput, InvalidTransition, Forbidden."""
    if outcome not in OUTCOMES:
        raise InvalidInput(_("Choose won or lost."), field="outcome")
    if lead.status in OUTCOMES:
        raise InvalidTransition(_("This lead is already closed as %(s)s.", s=lead.status))
    offer = queries.open_offer(lead.id)
    before = audit.snapshot(lead, LEAD_AUDIT_FIELDS)

    def record_on_lead() -> None:
        audit.record(
            f"lead.{outcome}",
            lead,
            actor=actor,
            before=before,
            after=audit.snapshot(lead, LEAD_AUDIT_FIELDS),
        )

    if actor.is_vendor_staff:
        _require(actor, "leads.manage")
        if lead.status == "offered":
            raise InvalidTransition(
                _("The lead waits for the partner's answer: recall the offer first.")
            )
        lead.status = outcome
        _flush()
        record_on_lead()
        people = partner_people(offer.org_id) if offer is not None else []
    else:
        _require(actor, "leads.respond")
        if offer is None or offer.org_id != actor.org_id or offer.status != "accepted":
            raise InvalidTransition(_("Accept the lead before you record its outcome."))
        # The lead and its history are the vendor's rows: the partner's own scope (and
        # PostgreSQL's policy) does not let it write there. It was loaded through the wall, and
        # the accepted offer is the partner's right to record the outcome, so write them
        # unscoped. Reviewed.
        _flush()
        with _racing(), unscoped():
            lead.status = outcome
            db.session.flush()
            record_on_lead()
        people = _offer_concerns(offer)
    if offer is not None:
        audit.record(f"lead_offer.{outcome}", offer, actor=actor, after={"lead_status": outcome})
    notify.notify(
        people,
        "leads.response",
        _("Lead %(company)s: %(outcome)s", company=lead.company, outcome=outcome),
        _("The lead %(company)s was closed as %(outcome)s.", company=lead.company, outcome=outcome),
        link=lead_path(lead.id),
    )


@contextmanager
def _racing() -> Iterator[None]:
    try:
        yield
    except StaleDataError:
        raise Conflict(
            _("Someone else changed this at the same moment. Reload the page and try again.")
        ) from None


# Offers.


def _respond_by(now: datetime) -> datetime:
    config = current_app.config
    return add_business_hours(now, config["LEAD_RESPONSE_HOURS"], calendar_from_config(config))


def _check_offerable(lead: Lead) -> None:
    if lead.status in OUTCOMES:
        raise InvalidTransition(_("This lead is closed (%(s)s).", s=lead.status))
    if lead.status != "new":
        raise InvalidTransition(
            _("This lead is already offered to a partner. Recall the offer first.")
        )


def _tier_of(org: Organization, tiers: dict[str, Tier]) -> Tier | None:
    """The partner's tier; one without a tier is treated as the lowest."""
    if org.tier in tiers:
        return tiers[org.tier]
    return min(tiers.values(), key=lambda t: t.rank) if tiers else None


def offer_lead(lead: Lead, partner: Organization, *, actor: Principal, note: str = "") -> LeadOffer:
    """Offer ``lead`` to ``partner`` by hand. The partner must be an active reseller or
    distributor that has not declined this lead and is below its tier's open-lead cap.
    Raises InvalidTransition, InvalidInput, Forbidden."""
    require_vendor(actor, "leads.manage")
    _check_offerable(lead)
    note = _reason(note, field="note", required=False)
    if partner.kind not in queries.OFFER_KINDS:
        raise InvalidInput(
            _("Leads are offered to resellers and distributors only."), field="partner_id"
        )
    if not partner.active:
        raise InvalidInput(_("%(name)s is deactivated.", name=partner.name), field="partner_id")
    if "declined" in queries.offer_history(lead.id).get(partner.id, set()):
        raise InvalidInput(
            _("%(name)s declined this lead already.", name=partner.name), field="partner_id"
        )
    tier = _tier_of(partner, queries.tiers_by_code())
    open_leads = queries.open_lead_counts([partner.id]).get(partner.id, 0)
    if tier is not None and open_leads >= tier.max_open_leads:
        raise InvalidInput(
            _(
                "%(name)s holds %(n)d open leads, the most its tier (%(tier)s) allows.",
                name=partner.name,
                n=open_leads,
                tier=tier.name,
            ),
            field="partner_id",
        )
    reason = _("Offered by hand.") + (f" {note}" if note else "")
    return _make_offer(lead, partner, actor=actor, reason=reason, ranking=None)


def _make_offer(
    lead: Lead,
    partner: Organization,
    *,
    actor: Principal | None,
    reason: str,
    ranking: list[dict] | None,
) -> LeadOffer:
    now = utcnow()
    offer = LeadOffer(
        org_id=partner.id,
        lead=lead,
        status="offered",
        offered_at=now,
        respond_by=_respond_by(now),
        offered_by_id=actor.user_id if actor else None,
        reason=reason,
    )
    db.session.add(offer)
    before = audit.snapshot(lead, ["status"])
    lead.status = "offered"
    _flush()
    after = {"status": "offered", "partner": partner.name, "offer_id": offer.id, "reason": reason}
    if ranking is not None:
        after["ranking"] = ranking  # other partners' names: in the vendor's history only
    audit.record("lead.offered", lead, actor=actor, before=before, after=after)
    audit.record(
        "lead_offer.created", offer, actor=actor, after=audit.snapshot(offer, OFFER_AUDIT_FIELDS)
    )
    notify.notify(
        partner_people(partner.id),
        "leads.offered",
        _("Lead offered to you: %(company)s", company=lead.company),
        _(
            "%(company)s (%(country)s, %(line)s) is offered to %(partner)s. Accept or decline "
            "it by %(when)s; after that it goes to another partner.",
            company=lead.company,
            country=lead.country,
            line=lead.product_line,
            partner=partner.name,
            when=_when(offer.respond_by),
        ),
        link=lead_path(lead.id),
    )
    return offer


@dataclass
class RankedPartner:
    """A partner whose territory and specialisation fit a lead, as the rule sees it."""

    org: Organization
    tier: Tier | None
    open_leads: int
    recent_offers: int
    skipped: str | None = None  # why the rule leaves it out; None: eligible

    @property
    def weight(self) -> int:
        return self.tier.distribution_weight if self.tier else 0

    @property
    def priority(self) -> float:
        """Its weight shared over the offers it had lately, counting this one (the D'Hondt
        divisor): over time each partner gets leads in proportion to its tier's weight."""
        return self.weight / (self.recent_offers + 1)

    def as_dict(self) -> dict:
        return {
            "partner": self.org.name,
            "tier": self.tier.code if self.tier else None,
            "weight": self.weight,
            "open_leads": self.open_leads,
            "recent_offers": self.recent_offers,
            "priority": round(self.priority, 3),
            "skipped": self.skipped,
        }


def rank_partners(lead: Lead, now: datetime | None = None) -> list[RankedPartner]:
    """Every partner whose territory and specialisation fit ``lead``: the eligible ones best
    first (highest priority, then higher tier, fewer open leads, older partner), then the ones
    the rule skips, each with why: declined this lead, had it before (expired or recalled),
    at its tier's open-lead cap, or a tier that gets no leads (weight 0)."""
    now = now or utcnow()
    fitting = queries.fitting_partners(lead.country, lead.product_line)
    ids = [org.id for org in fitting]
    tiers = queries.tiers_by_code()
    open_counts = queries.open_lead_counts(ids)
    recent = queries.offer_counts_since(ids, now - RULE_WINDOW)
    history = queries.offer_history(lead.id)
    ranked = []
    for org in fitting:
        tier = _tier_of(org, tiers)
        entry = RankedPartner(org, tier, open_counts.get(org.id, 0), recent.get(org.id, 0))
        past = history.get(org.id, set())
        if "declined" in past:
            entry.skipped = _("declined this lead")
        elif past & {"offered", "accepted"}:
            entry.skipped = _("holds this lead")
        elif past:
            entry.skipped = _("had this lead before and did not answer in time")
        elif tier is None or tier.distribution_weight <= 0:
            entry.skipped = _("its tier gets no leads by rule")
        elif entry.open_leads >= tier.max_open_leads:
            entry.skipped = _("at its cap of %(n)d open leads", n=tier.max_open_leads)
        ranked.append(entry)
    eligible = sorted(
        (r for r in ranked if r.skipped is None),
        key=lambda r: (-r.priority, -r.tier.rank, r.open_leads, r.org.id),
    )
    return eligible + [r for r in ranked if r.skipped is not None]


def _rule_reason(lead: Lead, best: RankedPartner, ranked: list[RankedPartner]) -> str:
    """Why the rule chose ``best``, without naming any other partner (the offer is the
    partner's row: it may read it)."""
    eligible = sum(1 for r in ranked if r.skipped is None)
    skipped: dict[str, int] = {}
    for r in ranked:
        if r.skipped is not None:
            skipped[r.skipped] = skipped.get(r.skipped, 0) + 1
    text = _(
        "By rule: territory %(country)s and specialisation %(line)s fit; tier %(tier)s "
        "(weight %(weight)d); %(open)d of %(cap)d open leads; %(recent)d offers in the last "
        "%(days)d days, so priority %(priority).2f, the highest of %(eligible)d eligible "
        "partner(s).",
        country=lead.country,
        line=lead.product_line,
        tier=best.tier.name,
        weight=best.weight,
        open=best.open_leads,
        cap=best.tier.max_open_leads,
        recent=best.recent_offers,
        days=RULE_WINDOW.days,
        priority=best.priority,
        eligible=eligible,
    )
    if skipped:
        text += " " + _(
            "Skipped: %(list)s.",
            list="; ".join(f"{why} ({count})" for why, count in skipped.items()),
        )
    return text


def offer_by_rule(lead: Lead, *, actor: Principal | None) -> LeadOffer | None:
    """Offer ``lead`` to the partner the rule ranks first (see ``rank_partners``), recording why
    on the offer and the whole ranking in the vendor's history. If no partner is eligible, the
    lead stays new, the channel team is told, and None is returned. Raises InvalidTransition."""
    require_vendor(actor, "leads.manage")
    _check_offerable(lead)
    ranked = rank_partners(lead)
    ranking = [r.as_dict() for r in ranked]
    if not ranked or ranked[0].skipped is not None:
        audit.record(
            "lead.no_partner",
            lead,
            actor=actor,
            after={"country": lead.country, "product_line": lead.product_line, "ranking": ranking},
        )
        notify.notify(
            channel_team(),
            "leads.distribution",
            _("No partner for lead %(company)s", company=lead.company),
            _(
                "No partner can take %(company)s (%(country)s, %(line)s) now: %(n)d fit its "
                "territory and specialisation, none is eligible. Offer it by hand or later.",
                company=lead.company,
                country=lead.country,
                line=lead.product_line,
                n=len(ranked),
            ),
            link=lead_path(lead.id),
        )
        return None
    best = ranked[0]
    return _make_offer(
        lead, best.org, actor=actor, reason=_rule_reason(lead, best, ranked), ranking=ranking
    )


def recall_offer(lead: Lead, *, actor: Principal) -> LeadOffer:
    """Take the lead back from the partner holding it (offered or accepted); the partner loses
    access to it at once. Raises InvalidTransition."""
    require_vendor(actor, "leads.manage")
    if lead.status in OUTCOMES:
        raise InvalidTransition(_("This lead is closed (%(s)s).", s=lead.status))
    offer = queries.open_offer(lead.id)
    if offer is None:
        raise InvalidTransition(_("This lead is not offered to anyone."))
    before = audit.snapshot(offer, OFFER_AUDIT_FIELDS)
    offer.status = "recalled"
    lead.status = "new"
    _flush()
    audit.record(
        "lead_offer.recalled",
        offer,
        actor=actor,
        before=before,
        after=audit.snapshot(offer, OFFER_AUDIT_FIELDS),
    )
    audit.record(
        "lead.recalled", lead, actor=actor, after={"status": "new", "partner": offer.partner.name}
    )
    notify.notify(
        partner_people(offer.org_id),
        "leads.offer_closed",
        _("Lead recalled: %(company)s", company=lead.company),
        _("The vendor took the lead %(company)s back.", company=lead.company),
    )
    return offer


def _check_answerable(offer: LeadOffer, actor: Principal, now: datetime) -> None:
    if not actor.is_partner or offer.org_id != actor.org_id:
        raise Forbidden(_("Only the partner the lead is offered to answers it."))
    _require(actor, "leads.respond")
    if offer.status != "offered":
        raise InvalidTransition(
            _("This offer is %(status)s already: it cannot be answered.", status=offer.status)
        )
    if offer.respond_by <= now:
        raise InvalidTransition(_("The time to answer this offer has run out."))


def _set_lead_status_for_partner(lead: Lead, status: str) -> None:
    """The partner's answer moves the vendor's lead. The lead was loaded through the wall (its
    offer is open), but the partner's scope, and PostgreSQL's policy, refuse writes to the
    vendor's row, so this one write is unscoped. Reviewed."""
    _flush()  # the partner's own rows, under its own scope
    with _racing(), unscoped():
        lead.status = status


def _answer(
    offer: LeadOffer,
    status: str,
    lead_status: str,
    *,
    actor: Principal,
    now: datetime,
    title: str,
    body: str,
    reason: str = "",
) -> None:
    """What accepting and declining share: the offer's answer, the lead's status, the audit
    event and the notice to the vendor people concerned."""
    before = audit.snapshot(offer, OFFER_AUDIT_FIELDS)
    offer.status, offer.responded_at = status, now
    if reason:
        offer.decline_reason = reason
    _set_lead_status_for_partner(offer.lead, lead_status)
    audit.record(
        f"lead_offer.{status}",
        offer,
        actor=actor,
        before=before,
        after=audit.snapshot(offer, OFFER_AUDIT_FIELDS),
    )
    notify.notify(
        _offer_concerns(offer), "leads.response", title, body, link=lead_path(offer.lead.id)
    )


def accept_offer(offer: LeadOffer, *, actor: Principal, now: datetime | None = None) -> None:
    """The partner takes the lead. Raises InvalidTransition (not offered any more, or too
    late), Forbidden, Conflict."""
    now = now or utcnow()
    _check_answerable(offer, actor, now)
    name, company = offer.partner.name, offer.lead.company
    _answer(
        offer,
        "accepted",
        "accepted",
        actor=actor,
        now=now,
        title=_("%(partner)s accepted %(company)s", partner=name, company=company),
        body=_("%(partner)s accepted the lead %(company)s.", partner=name, company=company),
    )


def decline_offer(
    offer: LeadOffer, reason: str, *, actor: Principal, now: datetime | None = None
) -> None:
    """The partner turns the lead down, saying why; the lead goes to the next partner by rule
    (a job, after this commits). Raises InvalidInput (no reason), InvalidTransition, Forbidden."""
    now = now or utcnow()
    reason = _reason(reason)
    _check_answerable(offer, actor, now)
    name, company = offer.partner.name, offer.lead.company
    _answer(
        offer,
        "declined",
        "new",
        actor=actor,
        now=now,
        title=_("%(partner)s declined %(company)s", partner=name, company=company),
        body=_(
            "%(partner)s declined the lead %(company)s: %(reason)s",
            partner=name,
            company=company,
            reason=reason,
        ),
        reason=reason,
    )
    # The next partner is chosen by the system, which may read every partner: not in this
    # partner's transaction.
    jobs.enqueue(reoffer_lead, offer.lead_id)


# The system: jobs and the periodic tick. They run in their own unscoped session; the services
# above write audit events and notifications through ``db.session``, so it is pointed at the
# job's session for the duration.


@contextmanager
def system_session(session: Session) -> Iterator[Session]:
    previous = g.pop("db_session", None)
    g.db_session = session
    try:
        yield session
    finally:
        g.pop("db_session", None)
        if previous is not None:
            g.db_session = previous


def reoffer_lead(session: Session, lead_id: int) -> LeadOffer | None:
    """Job: offer a lead that came back (declined) to the next partner by rule, unless someone
    offered or closed it meanwhile."""
    with system_session(session):
        lead = session.get(Lead, lead_id, populate_existing=True)
        if lead is None or lead.status != "new":
            return None
        return offer_by_rule(lead, actor=None)


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


# Leads partners share.


def submit_shared_lead(values: dict, *, actor: Principal) -> SharedLead:
    """A partner (reseller, distributor or supplier) shares a lead it found; vendor staff review
    it. Raises InvalidInput, Forbidden."""
    if not actor.is_partner:
        raise Forbidden(_("Only partners share leads."))
    _require(actor, "leads.share")
    cleaned = _checked(values, SHARED_FIELDS)
    shared = SharedLead(org_id=actor.org_id, submitted_by_id=actor.user_id, **cleaned)
    db.session.add(shared)
    db.session.flush()
    audit.record(
        "shared_lead.submitted",
        shared,
        actor=actor,
        after=audit.snapshot(shared, SHARED_AUDIT_FIELDS),
    )
    notify.notify(
        channel_team(),
        "leads.shared_submitted",
        _("A partner shared a lead: %(company)s", company=shared.company),
        _(
            "%(company)s (%(country)s, %(line)s) waits for your review.",
            company=shared.company,
            country=shared.country,
            line=shared.product_line,
        ),
        link=shared_path(shared.id),
    )
    return shared


def _shared_outcome_people(shared: SharedLead) -> list[User]:
    return _one_user(shared.submitted_by_id) or partner_people(shared.org_id, "leads.share")


def approve_shared_lead(shared: SharedLead, *, actor: Principal, note: str = "") -> Lead:
    """Take a shared lead into the vendor's pipeline as a new lead credited to the partner.
    Raises InvalidTransition, Forbidden."""
    require_vendor(actor, "leads.review")
    note = _reason(note, field="note", required=False)
    if shared.status != "submitted":
        raise InvalidTransition(_("This shared lead is %(s)s already.", s=shared.status))
    before = audit.snapshot(shared, SHARED_AUDIT_FIELDS)
    lead = Lead(
        org_id=actor.org_id,
        company=shared.company,
        contact_name=shared.contact_name,
        email=shared.email,
        country=shared.country,
        product_line=shared.product_line,
        notes=shared.notes,
        source="partner",
        credited_to_org_id=shared.org_id,
    )
    db.session.add(lead)
    db.session.flush()
    shared.status = "approved"
    shared.decided_by_id = actor.user_id
    shared.decided_at = utcnow()
    shared.decision_reason = note
    shared.lead_id = lead.id
    _flush()
    audit.record(
        "lead.created",
        lead,
        actor=actor,
        after={**audit.snapshot(lead, LEAD_AUDIT_FIELDS), "shared_lead_id": shared.id},
    )
    audit.record(
        "shared_lead.approved",
        shared,
        actor=actor,
        before=before,
        after=audit.snapshot(shared, SHARED_AUDIT_FIELDS),
    )
    notify.notify(
        _shared_outcome_people(shared),
        "leads.shared_decided",
        _("Shared lead approved: %(company)s", company=shared.company),
        _(
            "The vendor took %(company)s into its pipeline, credited to your organisation.%(note)s",
            company=shared.company,
            note=f" {note}" if note else "",
        ),
        link=shared_path(shared.id),
    )
    return lead


def reject_shared_lead(shared: SharedLead, reason: str, *, actor: Principal) -> None:
    """Turn a shared lead down, saying why (the partner reads it). Raises InvalidInput,
    InvalidTransition, Forbidden."""
    require_vendor(actor, "leads.review")
    reason = _reason(reason)
    if shared.status != "submitted":
        raise InvalidTransition(_("This shared lead is %(s)s already.", s=shared.status))
    before = audit.snapshot(shared, SHARED_AUDIT_FIELDS)
    shared.status = "rejected"
    shared.decided_by_id = actor.user_id
    shared.decided_at = utcnow()
    shared.decision_reason = reason
    _flush()
    audit.record(
        "shared_lead.rejected",
        shared,
        actor=actor,
        before=before,
        after=audit.snapshot(shared, SHARED_AUDIT_FIELDS),
    )
    notify.notify(
        _shared_outcome_people(shared),
        "leads.shared_decided",
        _("Shared lead rejected: %(company)s", company=shared.company),
        _("The vendor rejected %(company)s: %(reason)s", company=shared.company, reason=reason),
        link=shared_path(shared.id),
    )
