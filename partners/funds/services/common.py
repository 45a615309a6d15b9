"""What the funds' use cases share: amounts and quarters, budgets and the one statement that
moves money on them, who may act, whom to tell."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from partners.funds.models import (
    ZERO,
    FundBudget,
    FundRequest,
    quarter_of,
)
from partners.program.models import REQUIREMENT_CURRENCY, Tier
from portal import formatting
from portal.clock import utcnow
from portal.db import db
from portal.errors import Forbidden, InvalidInput
from portal.identity.models import Organization
from portal.notify import services as notify
from portal.tenancy import Principal

CURRENCY = REQUIREMENT_CURRENCY  # budgets, requests and claims are in the programme's currency
MAX_AMOUNT = Decimal("1e10")
BUDGET_FIELDS = ["year", "quarter", "amount", "reserved"]
REQUEST_FIELDS = ["activity", "description", "amount", "starts_on", "ends_on", "status"]
CLAIM_FIELDS = ["request_id", "amount", "description", "status"]


def money(value: Decimal) -> str:
    return formatting.money(value, CURRENCY)


def clean_amount(raw, field: str = "amount", *, zero: bool = False) -> Decimal:
    try:
        amount = Decimal(str(raw)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("Give the amount as a number."), field=field) from None
    if amount < 0 or (amount == 0 and not zero) or amount >= MAX_AMOUNT:
        raise InvalidInput(_("The amount must be above zero."), field=field)
    return amount


def current_quarter() -> tuple[int, int]:
    return quarter_of(utcnow().date())


def tier_default(partner: Organization) -> Decimal:
    """What the partner's tier gives per quarter (nothing for a tier without funds)."""
    amount = db.session.scalar(select(Tier.mdf_quarterly_budget).where(Tier.code == partner.tier))
    return amount if amount is not None else ZERO


def find_budget(org_id: int, year: int, quarter: int) -> FundBudget | None:
    return db.session.scalar(
        select(FundBudget).where(
            FundBudget.org_id == org_id, FundBudget.year == year, FundBudget.quarter == quarter
        )
    )


def balance_of(partner: Organization, year: int, quarter: int) -> Decimal:
    """The quarter's balance: its budget's, or the tier's default while it has none."""
    budget = find_budget(partner.id, year, quarter)
    return budget.balance if budget is not None else tier_default(partner)


def ensure_budget(partner: Organization, year: int, quarter: int) -> FundBudget:
    """The partner's budget for the quarter, made from its tier's default if it has none yet.
    Two requests making it at once: the unique key lets one in, the other reads it."""
    budget = find_budget(partner.id, year, quarter)
    if budget is not None:
        return budget
    budget = FundBudget(
        org_id=partner.id, year=year, quarter=quarter, amount=tier_default(partner), reserved=ZERO
    )
    try:
        with db.session.begin_nested():
            db.session.add(budget)
    except IntegrityError:
        budget = find_budget(partner.id, year, quarter)
        if budget is None:
            raise
    return budget


def move_reserved(budget: FundBudget, delta: Decimal) -> None:
    """Reserve ``delta`` more of ``budget`` (less, for a negative one) in one UPDATE on the
    latest row; the check constraint refuses a balance below zero."""
    try:
        with db.session.begin_nested():
            db.session.execute(
                update(FundBudget)
                .where(FundBudget.id == budget.id)
                .values(reserved=FundBudget.reserved + delta)
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:
        db.session.refresh(budget)
        raise InvalidInput(
            _(
                "The budget of %(quarter)s has %(balance)s left: not enough for %(amount)s.",
                quarter=budget.label,
                balance=money(budget.balance),
                amount=money(delta),
            ),
            field="amount",
        ) from None
    db.session.refresh(budget)


def require_manager(actor: Principal) -> None:
    if not actor.can("funds.manage"):
        raise Forbidden(_("Only the channel team decides on market development funds."))


def require_own(record, actor: Principal) -> None:
    if not actor.can("funds.request") or record.org_id != actor.org_id:
        raise Forbidden(_("Only the partner that asked for these funds may do this."))


def tell_partner(record: FundRequest, title: str, *, also=()) -> None:
    notify.tell(
        "funds.request",
        record.org_id,
        "funds.decided",
        title,
        link=notify.link("funds.request_detail", fund_request_id=record.id),
        also=[record.requested_by_id, *also],
    )


def tell_channel_team(record: FundRequest, title: str) -> None:
    notify.tell(
        "funds.manage",
        None,
        "funds.submitted",
        title,
        link=notify.link("funds.request_detail", fund_request_id=record.id),
    )
