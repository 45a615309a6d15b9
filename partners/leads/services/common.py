"""What the lead use cases share: the fields people type and how they are checked, who may act,
and who hears about what."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import lru_cache

import pycountry
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from partners.leads import models
from partners.leads.models import Lead, LeadOffer, SharedLead
from portal import formatting, people
from portal.concurrency import flush_or_conflict
from portal.db import read_across, unscoped
from portal.errors import Conflict, Forbidden, InvalidInput
from portal.notify import services as notify
from portal.people import Person
from portal.product_lines import PRODUCT_LINES
from portal.tenancy import Principal
from portal.text import clean_text
from portal.workflow import transition

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
LEAD_AUDIT_FIELDS = list(models.LEAD_AUDIT_FIELDS)
OFFER_AUDIT_FIELDS = list(models.OFFER_AUDIT_FIELDS)
SHARED_AUDIT_FIELDS = list(models.SHARED_AUDIT_FIELDS)
MAX_REASON = 2000
OUTCOMES = models.OUTCOMES
# The rule's fairness window: offers a partner received in it count against its next turn.
RULE_WINDOW = timedelta(days=30)


def lead_link(lead_id: int) -> notify.Link:
    """Where a notification about a lead points (right from a tick too: no request needed)."""
    return notify.link("leads.detail", lead_id=lead_id)


def shared_link(shared_id: int) -> notify.Link:
    """Where a notification about a shared lead points."""
    return notify.link("leads.shared_detail", shared_id=shared_id)


# Values people type (forms, CSV rows, API bodies), checked in one place.


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


def checked_values(values: dict, fields=tuple(LEAD_FIELDS)) -> dict:
    """``clean_lead_values``, raising InvalidInput for the first field that is wrong."""
    cleaned, errors = clean_lead_values(values, fields)
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidInput(message, field=field)
    return cleaned


def clean_reason(text, field: str = "reason", required: bool = True) -> str:
    """A reason or note as typed, trimmed. Raises InvalidInput if missing (when required) or too
    long."""
    reason = clean_text(text)
    if required and not reason:
        raise InvalidInput(_("Give a reason."), field=field)
    if len(reason) > MAX_REASON:
        raise InvalidInput(_("At most %(n)d characters.", n=MAX_REASON), field=field)
    return reason


def flush_changes() -> None:
    """Flush, turning a lost race (the row's version moved since it was read) into a Conflict."""
    flush_or_conflict(
        lambda: Conflict(
            _("Someone else changed this at the same moment. Reload the page and try again.")
        )
    )


@contextmanager
def stale_as_conflict() -> Iterator[None]:
    """Turn a lost race inside the block (a row's version moved since it was read) into a
    Conflict, for writes that ``flush_changes`` cannot wrap (an unscoped block)."""
    try:
        yield
    except StaleDataError:
        raise Conflict(
            _("Someone else changed this at the same moment. Reload the page and try again.")
        ) from None


def require_action(actor: Principal | None, action: str) -> None:
    """The actor's role allows ``action`` (None: the system). Raises Forbidden."""
    if actor is not None and not actor.can(action):
        raise Forbidden(_("Your role does not allow this."))


def require_vendor(actor: Principal | None, action: str) -> None:
    """Vendor staff whose role allows ``action`` (None: the system). Raises Forbidden."""
    if actor is not None and not actor.is_vendor_staff:
        raise Forbidden(_("Only the vendor's staff do this."))
    require_action(actor, action)


def move_lead_for_partner(lead: Lead, to: str, *, actor: Principal, **moved) -> None:
    """A partner's answer or outcome moves the vendor's lead (``transition`` with ``moved``).
    The lead was loaded through the wall (the partner's offer is open), but the partner's scope,
    and PostgreSQL's policy, refuse writes to the vendor's row and its history, so this one move
    is written unscoped. Raises Conflict if the lead changed meanwhile."""
    flush_changes()  # the partner's own rows, under its own scope
    with stale_as_conflict(), unscoped():  # reason: the partner moves the vendor's lead it holds
        transition(lead, to, actor=actor, **moved)


# Who hears about what: ``portal.people`` looks them up past the wall (a partner's answer tells
# vendor staff) as plain values.


def tell_partner(org_id: int, kind: str, title: str, body: str, link=None) -> None:
    """The partner's people who answer lead offers."""
    notify.tell("leads.respond", org_id, kind, title, body, link=link)


def tell_channel_team(kind: str, title: str, body: str, link=None) -> None:
    """Vendor staff who distribute leads and review shared ones."""
    notify.tell("leads.review", None, kind, title, body, link=link)


def tell_distributor(offer: LeadOffer, title: str, body: str) -> None:
    """The people of the distributor that passed ``offer`` down who pass leads down. Its offer
    is read past the wall (the reseller does not see it), for its organisation only."""
    with read_across() as reader:
        distributor_id = reader.scalar(
            select(LeadOffer.org_id).where(LeadOffer.id == offer.passed_down_from_id)
        )
    if distributor_id is not None:
        notify.tell(
            "leads.pass_down",
            distributor_id,
            "leads.response",
            title,
            body,
            link=lead_link(offer.lead_id),
        )


def offer_concerns(offer: LeadOffer) -> list[Person]:
    """Vendor side of an offer: whoever offered it by hand, else the channel team."""
    return people.people([offer.offered_by_id]) or people.vendor_staff_who_may("leads.review")


def shared_outcome_people(shared: SharedLead) -> list[Person]:
    """Who hears the vendor's decision on a shared lead: whoever shared it, else the partner's
    people who share leads."""
    return people.people([shared.submitted_by_id]) or people.who_may("leads.share", shared.org_id)


def format_when(moment: datetime) -> str:
    """A moment as notifications show it."""
    return formatting.datetime(moment, with_zone=True, zone="UTC")
