"""What the registration use cases share: the partner's input cleaned, whom to tell, the tier's
protection."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select

from partners.deals import matching
from partners.deals.models import (
    DealRegistration,
)
from partners.program.models import Tier
from portal import access
from portal.clock import utcnow
from portal.db import db
from portal.errors import InvalidInput
from portal.identity.models import Organization
from portal.notify import services as notify

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "CAD", "AUD", "JPY")
# The kinds of partner that register deals: one list, the access rules'.
REGISTERING_KINDS = access.DEAL_REGISTERING_KINDS
DEFAULT_PROTECTION_DAYS = 90


def clean_fields(fields: dict) -> dict:
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


def tier_protection_days(partner: Organization) -> int:
    days = db.session.scalar(select(Tier.protection_days).where(Tier.code == partner.tier))
    return days or DEFAULT_PROTECTION_DAYS


def tell_reviewers(deal: DealRegistration, kind: str, title: str, body: str = "") -> None:
    notify.tell(
        "deals.review",
        None,
        kind,
        title,
        body=body,
        link=notify.link("deals.detail", deal_id=deal.id),
    )


def tell_partner(deal: DealRegistration, title: str) -> None:
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
