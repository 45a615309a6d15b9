"""Use cases of market development funds. Writers only flush; the caller commits once.

A partner requests funds for an activity (``request_funds``); the channel team approves it,
which reserves the amount on the partner's budget for the quarter the activity starts in, or
rejects it. After the activity the partner claims what it spent, with proof of performance
(``claim_funds``, at most the approved amount); the channel team approves the claim (what it
did not use goes back to the budget) or rejects it (the partner may claim again), and marks an
approved claim paid. Budgets come from the partner's tier unless the channel team sets one.

Money leaves a budget in one statement (``common.move_reserved``): ``reserved = reserved + delta``,
which the database applies to the latest row and refuses past the budget (its check
constraint), so two approvals at once never spend one balance twice.
"""

from partners.funds.services.budgets import set_budget, set_tier_default
from partners.funds.services.claims import approve_claim, claim_funds, pay_claim, reject_claim
from partners.funds.services.common import (
    CURRENCY,
    ZERO,
    balance_of,
    current_quarter,
    ensure_budget,
    find_budget,
    money,
    tier_default,
)
from partners.funds.services.requests import approve_request, reject_request, request_funds

__all__ = [
    "CURRENCY",
    "ZERO",
    "approve_claim",
    "approve_request",
    "balance_of",
    "claim_funds",
    "current_quarter",
    "ensure_budget",
    "find_budget",
    "money",
    "pay_claim",
    "reject_claim",
    "reject_request",
    "request_funds",
    "set_budget",
    "set_tier_default",
    "tier_default",
]
