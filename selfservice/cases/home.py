"""Home panels of cases: an agent's cases by SLA urgency with the unassigned and breached ones;
a customer's open cases and their state; a partner's managed customers' open cases."""

from __future__ import annotations

from datetime import timedelta

from portal.clock import utcnow
from portal.panels import Panel
from selfservice.cases import queries
from selfservice.cases.models import STATUS_LABELS

# An SLA deadline this close makes a case urgent.
DUE_SOON = timedelta(hours=4)


def agent(principal) -> dict:
    counts = queries.agent_counts(principal.user_id, utcnow() + DUE_SOON)
    return {
        **counts,
        "waiting": counts["mine"] + counts["unassigned"],
        "cases": queries.most_urgent(principal.user_id) if counts["mine"] else [],
        "labels": STATUS_LABELS,
    }


def _open_cases(principal, other_than_org: int | None) -> dict:
    by_status = queries.open_counts(other_than_org)
    count = sum(by_status.values())
    return {
        "count": count,
        "by_status": [(s, STATUS_LABELS[s], n) for s, n in sorted(by_status.items())],
        "cases": queries.recent_open(other_than_org) if count else [],
        "labels": STATUS_LABELS,
        "may_open": principal.can("cases.open"),
    }


def own_cases(principal) -> dict:
    """A customer's open cases (those it sees: its own, or its organisation's)."""
    shown = _open_cases(principal, None)
    # A case waiting on the customer (pending) is the one thing here the customer must do.
    shown["waiting"] = dict((s, n) for s, _label, n in shown["by_status"]).get("pending", 0)
    return shown


def customers_cases(principal) -> dict:
    """A partner's managed customers' open cases (read only: the partner follows them)."""
    shown = _open_cases(principal, principal.org_id)
    shown["waiting"] = shown["count"]
    return shown


PANELS = [
    Panel(
        "cases_agent",
        "selfservice/cases/_home_agent.html",
        agent,
        action="cases.work",
        audiences=("vendor",),
        order=20,
    ),
    Panel(
        "cases_own",
        "selfservice/cases/_home_own.html",
        own_cases,
        action="cases.view",
        audiences=("customer",),
        order=10,
    ),
    Panel(
        "cases_customers",
        "selfservice/cases/_home_customers.html",
        customers_cases,
        action="cases.view",
        audiences=("partner",),
        order=40,
    ),
]
