"""SLA policies, kept by vendor admins: conditions (priority, tier, product; empty matches
anything), targets in business hours (next response optional), each target's pause rule, and
an optional calendar of the policy's own. The first active policy by position that matches a
case is its policy."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit
from portal.business_hours import parse_calendar
from portal.db import db
from portal.errors import Forbidden, InvalidInput
from portal.identity.models import tier_options
from portal.tenancy import Principal
from selfservice.cases.models import PAUSED_STATUSES, PRIORITIES, TARGETS, SlaPolicy

FIELDS = [
    "name", "position", "active", "priority", "tier", "product", "first_response_hours",
    "next_response_hours", "resolution_hours", "first_response_pauses", "next_response_pauses",
    "resolution_pauses", "timezone", "business_hours", "holidays",
]  # fmt: skip


def policies() -> list[SlaPolicy]:
    return list(db.session.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)))


def _hours(value, field: str) -> Decimal:
    try:
        hours = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("Give the hours as a number."), field=field) from None
    if not Decimal("0.25") <= hours <= Decimal("2000"):
        raise InvalidInput(_("Between 0.25 and 2000 business hours."), field=field)
    return hours


def _clean(fields: dict) -> dict:
    name = (fields.get("name") or "").strip()[:120]
    if len(name) < 2:
        raise InvalidInput(_("Name the policy."), field="name")
    priority = fields.get("priority") or None
    if priority and priority not in PRIORITIES:
        raise InvalidInput(_("Choose a priority from the list."), field="priority")
    tier = fields.get("tier") or None
    if tier and tier not in dict(tier_options()):
        raise InvalidInput(_("Choose a tier from the list."), field="tier")
    pauses = {}
    for target in TARGETS:
        chosen = list(fields.get(f"{target}_pauses") or [])
        if not set(chosen) <= set(PAUSED_STATUSES):
            raise InvalidInput(_("Only paused statuses stop a clock."), field=f"{target}_pauses")
        pauses[f"{target}_pauses"] = sorted(chosen)
    timezone = (fields.get("timezone") or "").strip() or None
    hours = (fields.get("business_hours") or "").strip() or None
    holidays = (fields.get("holidays") or "").strip().upper() or None
    if timezone or hours or holidays:
        try:
            parse_calendar(timezone or "UTC", hours or "09:00-17:00", holidays or "")
        except ValueError as error:
            raise InvalidInput(str(error), field="business_hours") from None
    position = fields.get("position")
    if not isinstance(position, int) or not 0 <= position <= 100_000:
        raise InvalidInput(_("Give the position as a whole number."), field="position")
    return {
        "name": name,
        "position": position,
        "active": bool(fields.get("active")),
        "priority": priority,
        "tier": tier,
        "product": (fields.get("product") or "").strip()[:100] or None,
        "first_response_hours": _hours(fields.get("first_response_hours"), "first_response_hours"),
        "next_response_hours": (
            _hours(fields.get("next_response_hours"), "next_response_hours")
            if str(fields.get("next_response_hours") or "").strip()
            else None
        ),
        "resolution_hours": _hours(fields.get("resolution_hours"), "resolution_hours"),
        **pauses,
        "timezone": timezone,
        "business_hours": hours,
        "holidays": holidays,
    }


def save_policy(policy: SlaPolicy | None, fields: dict, *, actor: Principal) -> SlaPolicy:
    """Create or change a policy. New targets apply to the clocks of cases with this policy from
    now on; breaches already recorded stay."""
    if not (actor.is_vendor_staff and actor.can("support.manage")):
        raise Forbidden(_("Only vendor admins change SLA policies."))
    cleaned = _clean(fields)
    before = audit.snapshot(policy, FIELDS) if policy else None
    if policy is None:
        policy = SlaPolicy(**cleaned)
        db.session.add(policy)
    else:
        for key, value in cleaned.items():
            setattr(policy, key, value)
    db.session.flush()
    audit.record(
        "sla_policy.saved", policy, actor=actor, org_id=actor.org_id, before=before,
        after=audit.snapshot(policy, FIELDS),
    )  # fmt: skip
    return policy
