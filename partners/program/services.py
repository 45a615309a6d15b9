"""Use cases of the partner programme: the terms of each tier, which tier a partner is in, and
its territories and specialisations.

Services take plain values and a ``Principal`` as ``actor``, write an audit event for every
change, and only flush: the view or command that called them commits once. Errors are
``DomainError``s whose message is safe to show; ``EditConflict`` says that someone else changed
the record since the person opened its form, and what.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from partners.program import queries
from partners.program.models import Specialisation, Territory, Tier
from portal import access, audit, concurrency
from portal.concurrency import EditConflict, flush_or_conflict
from portal.db import db
from portal.errors import Forbidden, InvalidInput
from portal.identity.models import Organization
from portal.notify import services as notify
from portal.product_lines import PRODUCT_LINES
from portal.tenancy import Principal

# What a tier's form shows and its snapshot and audit events hold.
TIER_FIELDS = [
    "name",
    "discount_percent",
    "protection_days",
    "distribution_weight",
    "max_open_leads",
    "required_won_value_12m",
    "required_acceptance_percent",
    "required_certified_people",
]
TIER_NAME_MAX = 60
DISCOUNT_MAX = Decimal("100")
# The largest won-value requirement (Numeric(14, 2)).
WON_VALUE_MAX = Decimal("999999999999.99")
CERTIFIED_PEOPLE_MAX = 10_000
TIER_CODE_MAX = 20  # organizations.tier
# (lowest, highest) of the whole-number terms of a tier.
TIER_LIMITS = {
    "protection_days": (1, 730),
    "distribution_weight": (0, 1000),
    "max_open_leads": (0, 10_000),
}

_NOT_CHECKED: Any = object()  # no "as seen" value given: do not check for a concurrent change
_KEEP: Any = object()  # a requirement not given: it stays as it is


def _check_manager(actor: Principal) -> None:
    if not actor.can("program.manage"):
        raise Forbidden(_("Only vendor admins change the partner programme."))


def _check_partner(org: Organization) -> None:
    if org.kind not in access.PARTNER_KINDS:
        raise InvalidInput(_("Only resellers, distributors and suppliers are partners."))


def _flush_or_conflict() -> None:
    """Write now, so that a save that raced past the snapshot check (the version column or a
    unique constraint caught it) is an edit conflict, not a server error."""
    flush_or_conflict(lambda: EditConflict([]), lost_race=lambda error: True)


# Tiers.


def check_tier_terms(
    *,
    name: str,
    discount_percent: Decimal | int | str,
    protection_days: int,
    distribution_weight: int,
    max_open_leads: int,
    tier_id: int | None = None,
) -> tuple[str, Decimal]:
    """Validate a tier's terms; returns the clean name and discount. Raises ``InvalidInput``
    naming the first wrong field."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Give the tier a name."), field="name")
    if len(name) > TIER_NAME_MAX:
        raise InvalidInput(_("Use at most %(n)d characters.", n=TIER_NAME_MAX), field="name")
    clash = db.session.scalar(
        select(Tier.id).where(func.lower(Tier.name) == name.lower(), Tier.id != (tier_id or 0))
    )
    if clash:
        raise InvalidInput(_("Another tier has this name."), field="name")
    try:
        discount = Decimal(str(discount_percent))
    except (InvalidOperation, ValueError):
        discount = Decimal("NaN")
    if not discount.is_finite() or not Decimal(0) <= discount <= DISCOUNT_MAX:
        raise InvalidInput(
            _("The discount is a percentage from 0 to 100."), field="discount_percent"
        )
    if discount != discount.quantize(Decimal("0.01")):
        raise InvalidInput(
            _("The discount has at most two decimal places."), field="discount_percent"
        )
    for field, value in (
        ("protection_days", protection_days),
        ("distribution_weight", distribution_weight),
        ("max_open_leads", max_open_leads),
    ):
        low, high = TIER_LIMITS[field]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                _("Give a whole number from %(low)d to %(high)d.", low=low, high=high),
                field=field,
            )
    return name, discount.quantize(Decimal("0.01"))


def _decimal_or_none(value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return Decimal("NaN")
    return number


def check_tier_requirements(
    *,
    required_won_value_12m: Decimal | int | str | None,
    required_acceptance_percent: Decimal | int | str | None,
    required_certified_people: int | str | None = None,
) -> tuple[Decimal | None, Decimal | None, int | None]:
    """Validate what a tier requires of its partners (None or "": no requirement); returns them
    clean. Raises ``InvalidInput`` naming the wrong field."""
    won = _decimal_or_none(required_won_value_12m)
    if won is not None:
        if not won.is_finite() or not Decimal(0) <= won <= WON_VALUE_MAX:
            raise InvalidInput(
                _("Give an amount of 0 or more, or leave it empty for no requirement."),
                field="required_won_value_12m",
            )
        if won != won.quantize(Decimal("0.01")):
            raise InvalidInput(
                _("The amount has at most two decimal places."), field="required_won_value_12m"
            )
        won = won.quantize(Decimal("0.01"))
    acceptance = _decimal_or_none(required_acceptance_percent)
    if acceptance is not None:
        if not acceptance.is_finite() or not Decimal(0) <= acceptance <= Decimal(100):
            raise InvalidInput(
                _("The acceptance rate is a percentage from 0 to 100."),
                field="required_acceptance_percent",
            )
        if acceptance != acceptance.quantize(Decimal("0.01")):
            raise InvalidInput(
                _("The acceptance rate has at most two decimal places."),
                field="required_acceptance_percent",
            )
        acceptance = acceptance.quantize(Decimal("0.01"))
    certified = _whole_or_none(required_certified_people)
    if certified is not None and not 0 <= certified <= CERTIFIED_PEOPLE_MAX:
        raise InvalidInput(
            _(
                "Give a whole number from 0 to %(high)d, or leave it empty for no requirement.",
                high=CERTIFIED_PEOPLE_MAX,
            ),
            field="required_certified_people",
        )
    return won, acceptance, certified


def _whole_or_none(value) -> int | None:
    """A whole number, None for nothing given, -1 (out of every range) for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return -1


def update_tier(
    tier: Tier,
    *,
    snapshot: str | None,
    name: str,
    discount_percent: Decimal | int | str,
    protection_days: int,
    distribution_weight: int,
    max_open_leads: int,
    required_won_value_12m: Decimal | int | str | None = _KEEP,
    required_acceptance_percent: Decimal | int | str | None = _KEEP,
    required_certified_people: int | str | None = _KEEP,
    actor: Principal,
) -> bool:
    """Change the terms of a tier (its name too: partners keep the tier, which they hold by its
    code). ``snapshot`` is the one its form carried
    (``portal.concurrency.snapshot(tier, TIER_FIELDS)``). Returns whether anything changed.

    ``required_won_value_12m`` (in ``REQUIREMENT_CURRENCY``), ``required_acceptance_percent``
    and ``required_certified_people`` are what the partner scorecard and the tick's standing
    measure partners of the tier against; None clears one, and one not given stays as it is.

    Raises ``Forbidden`` (not a vendor admin), ``InvalidInput`` (a wrong term, with its field)
    and ``EditConflict`` (someone saved the tier since the snapshot; nothing is written).
    """
    _check_manager(actor)
    name, discount = check_tier_terms(
        name=name,
        discount_percent=discount_percent,
        protection_days=protection_days,
        distribution_weight=distribution_weight,
        max_open_leads=max_open_leads,
        tier_id=tier.id,
    )
    won, acceptance, certified = check_tier_requirements(
        required_won_value_12m=(
            tier.required_won_value_12m
            if required_won_value_12m is _KEEP
            else required_won_value_12m
        ),
        required_acceptance_percent=(
            tier.required_acceptance_percent
            if required_acceptance_percent is _KEEP
            else required_acceptance_percent
        ),
        required_certified_people=(
            tier.required_certified_people
            if required_certified_people is _KEEP
            else required_certified_people
        ),
    )
    concurrency.check_unchanged(tier, snapshot)
    before = audit.snapshot(tier, TIER_FIELDS)
    tier.name, tier.discount_percent = name, discount
    tier.protection_days, tier.distribution_weight = protection_days, distribution_weight
    tier.max_open_leads = max_open_leads
    tier.required_won_value_12m, tier.required_acceptance_percent = won, acceptance
    tier.required_certified_people = certified
    after = audit.snapshot(tier, TIER_FIELDS)
    if after == before:
        return False
    _flush_or_conflict()
    # Tiers belong to no organisation: the event is the vendor's, whose admins keep the programme.
    audit.record("tier.updated", tier, actor=actor, org_id=actor.org_id, before=before, after=after)
    return True


def _code_for(name: str) -> str:
    """A new tier's code from its name ("Gold plus" -> ``gold_plus``), unique among the tiers.
    The code is what organisations hold, so it never changes when the tier is renamed."""
    stem = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[: TIER_CODE_MAX - 3] or "tier"
    taken = set(db.session.scalars(select(Tier.code)))
    code, n = stem, 2
    while code in taken:
        code, n = f"{stem}_{n}", n + 1
    return code


def create_tier(
    *,
    name: str,
    discount_percent: Decimal | int | str,
    protection_days: int,
    distribution_weight: int,
    max_open_leads: int,
    required_won_value_12m: Decimal | int | str | None = None,
    required_acceptance_percent: Decimal | int | str | None = None,
    required_certified_people: int | str | None = None,
    actor: Principal,
) -> Tier:
    """Add a tier above the highest (``move_tier`` puts it in its place). Raises ``Forbidden``
    (not a vendor admin), ``InvalidInput`` (a wrong term, with its field) and ``EditConflict``
    (another tier of this name or code was saved at the same moment)."""
    _check_manager(actor)
    name, discount = check_tier_terms(
        name=name,
        discount_percent=discount_percent,
        protection_days=protection_days,
        distribution_weight=distribution_weight,
        max_open_leads=max_open_leads,
    )
    won, acceptance, certified = check_tier_requirements(
        required_won_value_12m=required_won_value_12m,
        required_acceptance_percent=required_acceptance_percent,
        required_certified_people=required_certified_people,
    )
    top = db.session.scalar(select(func.max(Tier.rank))) or 0
    tier = Tier(
        code=_code_for(name),
        name=name,
        rank=top + 1,
        discount_percent=discount,
        protection_days=protection_days,
        distribution_weight=distribution_weight,
        max_open_leads=max_open_leads,
        required_won_value_12m=won,
        required_acceptance_percent=acceptance,
        required_certified_people=certified,
    )
    db.session.add(tier)
    _flush_or_conflict()
    audit.record(
        "tier.created",
        tier,
        actor=actor,
        org_id=actor.org_id,
        after={"code": tier.code, **audit.snapshot(tier, TIER_FIELDS)},
    )
    return tier


def move_tier(tier: Tier, *, up: bool, actor: Principal) -> bool:
    """Swap a tier with the one above it (``up``) or below it in the programme's order, which
    is what promotions and demotions follow. Returns whether it moved (not past either end).
    Raises ``Forbidden``, and ``EditConflict`` when someone reordered the tiers meanwhile."""
    _check_manager(actor)
    order = queries.tiers()
    at = order.index(tier)
    other = at + (1 if up else -1)
    if not 0 <= other < len(order):
        return False
    before = [t.code for t in order]
    order[at], order[other] = order[other], order[at]
    for rank, each in enumerate(order, start=1):  # ranks 1..n: the order, without ties
        if each.rank != rank:
            each.rank = rank
    _flush_or_conflict()
    audit.record(
        "tier.reordered",
        tier,
        actor=actor,
        org_id=actor.org_id,
        before={"order": before},
        after={"order": [t.code for t in order]},
    )
    return True


# A partner's tier.


def change_partner_tier(
    org: Organization,
    *,
    tier_code: str | None,
    seen_tier: str | None = _NOT_CHECKED,
    actor: Principal,
) -> bool:
    """Move a partner to the tier ``tier_code`` (None: no tier) and tell its admins (the people
    who may ``orgs.follow``). Returns whether it moved.

    ``seen_tier`` is the tier the person saw on the page; if the partner has moved since,
    ``EditConflict`` is raised and nothing is written. Raises ``Forbidden`` and ``InvalidInput``
    (not a partner, no such tier) too.
    """
    _check_manager(actor)
    _check_partner(org)
    tier_code = tier_code or None
    tier = queries.tier_by_code(tier_code)
    if tier_code is not None and tier is None:
        raise InvalidInput(_("There is no such tier."), field="tier")
    if seen_tier is not _NOT_CHECKED and (seen_tier or None) != org.tier:
        raise EditConflict([("tier", seen_tier or None, org.tier)])
    if tier_code == org.tier:
        return False
    set_partner_tier(org, tier, actor=actor)
    return True


def set_partner_tier(
    org: Organization, tier: Tier | None, *, actor: Principal, data: dict | None = None
) -> None:
    """Move the partner to ``tier`` (checked by the caller: who may, and that it moves), audited,
    and tell its admins. ``data`` goes into the audit event (a proposal applied: which)."""
    tier_code = tier.code if tier is not None else None
    before = {"tier": org.tier}
    org.tier = tier_code
    _flush_or_conflict()
    audit.record(
        "partner.tier_changed",
        org,
        actor=actor,
        org_id=org.id,
        before=before,
        after={"tier": tier_code, **(data or {})},
    )
    notify.tell(
        "orgs.follow",
        org.id,
        "admin.organization_changed",
        _l("%(org)s is now in the %(tier)s tier", org=org.name, tier=tier.name)
        if tier is not None
        else _l("%(org)s no longer has a partner tier", org=org.name),
        link=notify.link("program.mine"),
    )


# A partner's territories and specialisations.


def clean_countries(values: Iterable[str]) -> list[str]:
    """Country codes (sorted, without repeats) for codes or names; ``InvalidInput`` lists the
    ones that are not countries."""
    codes, unknown = set(), []
    for value in values:
        value = (value or "").strip()
        if not value:
            continue
        code = queries.country_code(value)
        if code is None:
            unknown.append(value)
        else:
            codes.add(code)
    if unknown:
        raise InvalidInput(
            _(
                "Not a country: %(values)s. Use ISO codes (CH, DE) or English names.",
                values=", ".join(unknown),
            ),
            field="countries",
        )
    return sorted(codes)


def clean_product_lines(values: Iterable[str]) -> list[str]:
    lines = {(v or "").strip() for v in values} - {""}
    unknown = sorted(lines - set(PRODUCT_LINES))
    if unknown:
        raise InvalidInput(
            _("Not a product line: %(values)s.", values=", ".join(unknown)),
            field="product_lines",
        )
    return [line for line in PRODUCT_LINES if line in lines]


def update_partner_coverage(
    org: Organization,
    *,
    countries: Iterable[str],
    product_lines: Iterable[str],
    seen_countries: Iterable[str] | None = None,
    seen_product_lines: Iterable[str] | None = None,
    actor: Principal,
) -> bool:
    """Set the countries a partner sells in and the product lines it is qualified for (the
    whole sets). Returns whether anything changed.

    ``seen_*`` are the sets the person saw when opening the form; if either changed since,
    ``EditConflict`` lists both as they were and as they are, and nothing is written. Raises
    ``Forbidden`` and ``InvalidInput`` (not a partner, unknown countries or product lines).
    """
    _check_manager(actor)
    _check_partner(org)
    codes = clean_countries(countries)
    lines = clean_product_lines(product_lines)
    now = queries.coverage_of([org.id])[org.id]
    changes = []
    if seen_countries is not None and sorted(set(seen_countries)) != now.countries:
        changes.append(
            ("countries", ", ".join(sorted(set(seen_countries))), ", ".join(now.countries))
        )
    if seen_product_lines is not None and set(seen_product_lines) != set(now.product_lines):
        seen = [line for line in PRODUCT_LINES if line in set(seen_product_lines)]
        changes.append(("product_lines", ", ".join(seen), ", ".join(now.product_lines)))
    if changes:
        raise EditConflict(changes)
    if codes == now.countries and lines == now.product_lines:
        return False
    gone_countries = set(now.countries) - set(codes)
    gone_lines = set(now.product_lines) - set(lines)
    if gone_countries:
        db.session.execute(
            delete(Territory).where(
                Territory.org_id == org.id, Territory.country.in_(gone_countries)
            )
        )
    if gone_lines:
        db.session.execute(
            delete(Specialisation).where(
                Specialisation.org_id == org.id, Specialisation.product_line.in_(gone_lines)
            )
        )
    db.session.add_all(Territory(org_id=org.id, country=c) for c in codes if c not in now.countries)
    db.session.add_all(
        Specialisation(org_id=org.id, product_line=line)
        for line in lines
        if line not in now.product_lines
    )
    _flush_or_conflict()
    audit.record(
        "partner.coverage_changed",
        org,
        actor=actor,
        org_id=org.id,
        before={"territories": now.countries, "specialisations": now.product_lines},
        after={"territories": codes, "specialisations": lines},
    )
    return True


def tier_discount_percent(org: Organization) -> tuple[str | None, Decimal]:
    """The tier of a partner and the discount it gives on quotes, in percent; a customer (or a
    partner without a tier) gets none."""
    if org.kind not in access.PARTNER_KINDS or not org.tier:
        return None, Decimal("0")
    discount = db.session.scalar(select(Tier.discount_percent).where(Tier.code == org.tier))
    return org.tier, discount if discount is not None else Decimal("0")
