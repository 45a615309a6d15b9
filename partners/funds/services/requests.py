"""Fund requests: the partner asks; the channel team approves (reserving the amount on the
budget of the activity's quarter) or rejects."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from partners.funds.models import (
    FundRequest,
    RequestStatus,
    quarter_of,
)
from partners.funds.services.common import (
    REQUEST_FIELDS,
    balance_of,
    clean_amount,
    current_quarter,
    ensure_budget,
    money,
    move_reserved,
    require_manager,
    tell_channel_team,
    tell_partner,
)
from portal import audit
from portal.db import db
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.workflow import transition


def request_funds(
    partner: Organization,
    *,
    activity: str,
    description: str,
    amount,
    starts_on: date | None,
    ends_on: date | None,
    actor: Principal,
) -> FundRequest:
    """Ask for funds for an activity in the current or a later quarter (that of ``starts_on``).
    Raises InvalidInput naming the field, Forbidden for anyone but the partner's people."""
    if not actor.can("funds.request") or partner.id != actor.org_id:
        raise Forbidden(_("Only a reseller or distributor asks for its funds."))
    activity = (activity or "").strip()
    if not activity:
        raise InvalidInput(_("Name the activity."), field="activity")
    amount = clean_amount(amount)
    if not isinstance(starts_on, date):
        raise InvalidInput(_("Give the day the activity starts."), field="starts_on")
    if not isinstance(ends_on, date) or ends_on < starts_on:
        raise InvalidInput(_("The activity ends on or after the day it starts."), field="ends_on")
    if quarter_of(starts_on) < current_quarter():
        raise InvalidInput(
            _("Funds are for this quarter or a later one: the activity starts too early."),
            field="starts_on",
        )
    year, quarter = quarter_of(starts_on)
    balance = balance_of(partner, year, quarter)
    if amount > balance:
        raise InvalidInput(
            _(
                "Your budget for %(year)d Q%(quarter)d has %(balance)s left.",
                year=year,
                quarter=quarter,
                balance=money(balance),
            ),
            field="amount",
        )
    record = FundRequest(
        org_id=partner.id,
        activity=activity[:200],
        description=(description or "").strip()[:5000],
        amount=amount,
        starts_on=starts_on,
        ends_on=ends_on,
        status=RequestStatus.submitted,
        requested_by_id=actor.user_id,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        "fund_request.submitted", record, actor=actor, after=audit.snapshot(record, REQUEST_FIELDS)
    )
    tell_channel_team(
        record,
        _l(
            "%(partner)s asks for %(amount)s of funds: %(activity)s",
            partner=partner.name,
            amount=notify.lazy(money, amount),
            activity=record.activity,
        ),
    )
    return record


def approve_request(record: FundRequest, *, actor: Principal) -> None:
    """Approve: its amount is reserved on the budget of its quarter. Refused, with the balance,
    where the budget cannot cover it (also when another approval took it a moment ago)."""
    require_manager(actor)
    if record.status != RequestStatus.submitted:
        raise InvalidTransition(record.workflow.refusal(record.status, RequestStatus.approved))
    budget = ensure_budget(record.partner, *record.quarter)
    move_reserved(budget, record.amount)
    if not transition(
        record,
        RequestStatus.approved,
        actor=actor,
        claim=True,
        changes={"budget_id": budget.id, "decision_reason": ""},
        data={"budget": budget.label, "balance": budget.balance},
    ):
        raise InvalidTransition(_("Someone decided on this request a moment ago."))
    tell_partner(
        record,
        _l(
            "Your fund request for %(activity)s is approved: %(amount)s.",
            activity=record.activity,
            amount=notify.lazy(money, record.amount),
        ),
    )


def reject_request(record: FundRequest, *, reason: str, actor: Principal) -> None:
    require_manager(actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the request is rejected."), field="reason")
    transition(record, RequestStatus.rejected, actor=actor, changes={"decision_reason": reason})
    tell_partner(
        record,
        _l(
            "Your fund request for %(activity)s is rejected: %(reason)s",
            activity=record.activity,
            reason=reason,
        ),
    )
