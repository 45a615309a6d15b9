"""The channel team sets a partner's budget for a quarter, or what each tier gives."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from partners.funds.models import (
    FundBudget,
)
from partners.funds.services.common import (
    BUDGET_FIELDS,
    clean_amount,
    ensure_budget,
    money,
    require_manager,
)
from partners.program.models import Tier
from portal import access, audit
from portal.db import db
from portal.errors import InvalidInput
from portal.identity.models import Organization
from portal.tenancy import Principal


def set_budget(
    partner: Organization, *, year: int, quarter: int, amount, actor: Principal
) -> FundBudget:
    """Set a partner's budget for a quarter (instead of its tier's default); never below what
    approved requests hold of it."""
    require_manager(actor)
    if partner.kind not in access.DEAL_REGISTERING_KINDS:
        raise InvalidInput(
            _("Market development funds are for resellers and distributors."), field="org_id"
        )
    if quarter not in (1, 2, 3, 4) or not 2000 <= year <= 2100:
        raise InvalidInput(_("Choose a quarter."), field="quarter")
    amount = clean_amount(amount, zero=True)
    budget = ensure_budget(partner, year, quarter)
    before = audit.snapshot(budget, BUDGET_FIELDS)
    try:
        with db.session.begin_nested():
            db.session.execute(
                update(FundBudget)
                .where(FundBudget.id == budget.id)
                .values(amount=amount)
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:
        db.session.refresh(budget)
        raise InvalidInput(
            _(
                "Approved requests hold %(reserved)s of this budget: it cannot be less.",
                reserved=money(budget.reserved),
            ),
            field="amount",
        ) from None
    db.session.refresh(budget)
    audit.record(
        "fund_budget.set",
        budget,
        actor=actor,
        before=before,
        after=audit.snapshot(budget, BUDGET_FIELDS),
    )
    return budget


def set_tier_default(tier: Tier, *, amount, actor: Principal) -> None:
    """What a partner of ``tier`` gets per quarter unless its budget says otherwise (empty:
    nothing). Budgets already made keep their amount."""
    require_manager(actor)
    value = None if amount in (None, "") else clean_amount(amount, zero=True)
    before = {"mdf_quarterly_budget": audit.plain(tier.mdf_quarterly_budget)}
    tier.mdf_quarterly_budget = value
    db.session.flush()
    audit.record(
        "tier.mdf_budget_set",
        tier,
        actor=actor,
        org_id=actor.org_id,
        before=before,
        after={"code": tier.code, "mdf_quarterly_budget": audit.plain(value)},
    )
