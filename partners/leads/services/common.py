"""What the lead use cases share: the fields people type and how they are checked, who may act,
and who hears about what."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import pycountry
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from partners.leads.models import LeadOffer
from portal import access
from portal.concurrency import flush_or_conflict
from portal.db import db, unscoped
from portal.errors import Conflict, Forbidden, InvalidInput
from portal.identity.models import Organization, User
from portal.notify import register_kind
from portal.product_lines import PRODUCT_LINES
from portal.tenancy import Principal
from portal.text import clean_text

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
    flush_or_conflict(
        lambda: Conflict(
            _("Someone else changed this at the same moment. Reload the page and try again.")
        )
    )


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
