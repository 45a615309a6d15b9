"""SLA compliance: what counts, once for every reader. The vendor's support dashboard reads it
from the rollup (``rollup`` builds it with ``branches`` below); so does a customer's dashboard for
someone who sees the whole organisation's cases (its organisation's rows); for anyone else it
computes it live, through the tenant wall, on the cases they may see.

A case with an SLA policy has up to three targets (``selfservice.cases.models.TARGETS``). First
response and resolution are one per case: the case stores whether each breached (never undone)
and, while its clock runs, when it falls due (``selfservice.cases.services.refresh_sla``: the
due time is left as it was once the target breached, so it is the moment the clock ran out).
Next response is one per wait for the agent's next reply (``CaseReplyWait``, which stores the
same two things). A target is *settled*:

- *met*: its clock was stopped (the first public reply by an agent, ``first_responded_at``; the
  agent's reply that ended a wait, ``answered_at``; the solve, ``solved_at``) before it ran out;
  it counts at that moment;
- *breached*: its clock ran out; it counts at its due time.

Compliance is met / (met + breached) of the targets settled in the period (or month). A target
still running or paused, a resolution reopened, and a case without a policy are not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, case, func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from portal import reports
from portal.db import db
from selfservice.cases.models import TARGETS, Case, CaseReplyWait


def within(column, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def stopped_at(target: str):
    """What stops ``target``'s clock for good: the first public reply, the agent's reply that
    ended a wait, the solve."""
    return {
        "first_response": Case.first_responded_at,
        "next_response": CaseReplyWait.answered_at,
        "resolution": Case.solved_at,
    }[target]


def _settled(target: str):
    """(breached flag, due time) of ``target``: the case's, or its waits'."""
    holder = CaseReplyWait if target == "next_response" else Case
    prefix = "" if target == "next_response" else f"{target}_"
    return getattr(holder, f"{prefix}breached"), getattr(holder, f"{prefix}due_at")


def branches(
    groups_of: Callable[[object], list],
    start: datetime,
    end: datetime,
    only: ColumnElement[bool] | None = None,
) -> list:
    """Grouped selects of (target, *groups, met, breached), two per target: its targets met in
    [start, end) (by when their clock was stopped) and those breached in it (by their due
    time). Each is a range on one indexed column, so the database reads only the targets settled
    then (next response: the waits, joined to their case). ``groups_of(moment)`` gives the
    labelled group columns (of the case), given the column of the moment a target settled;
    ``only``, a condition on the case, narrows every branch."""
    selects = []
    for target in TARGETS:
        breached, due_at = _settled(target)
        for moment, flag in ((stopped_at(target), False), (due_at, True)):
            groups = groups_of(moment)
            stmt = select(
                literal(target, String).label("target"),
                *groups,
                (literal(0) if flag else func.count()).label("met"),
                (func.count() if flag else literal(0)).label("breached"),
            )
            if target == "next_response":
                stmt = stmt.select_from(CaseReplyWait).join(Case, Case.id == CaseReplyWait.case_id)
            stmt = stmt.where(
                Case.sla_policy_id.is_not(None), breached.is_(flag), within(moment, start, end)
            )
            if only is not None:
                stmt = stmt.where(only)
            selects.append(stmt.group_by(*groups))
    return selects


@dataclass(frozen=True)
class Compliance:
    """Targets settled: ``met`` in time, ``breached``."""

    met: int = 0
    breached: int = 0

    @property
    def settled(self) -> int:
        return self.met + self.breached

    @property
    def rate(self) -> float | None:
        return reports.rate(self.met, self.settled)

    def __add__(self, other: Compliance) -> Compliance:
        return Compliance(self.met + other.met, self.breached + other.breached)


@dataclass(frozen=True)
class ComplianceTable:
    """Compliance of each target (``TARGETS``) per group, groups in the order to show them."""

    groups: list  # (key, label)
    cells: dict  # {key: {target: Compliance}}

    def of(self, key, target: str) -> Compliance:
        return self.cells.get(key, {}).get(target, Compliance())

    def rates(self, target: str) -> list[float | None]:
        return [self.of(key, target).rate for key, _label in self.groups]

    def total(self, target: str) -> Compliance:
        return sum((self.of(key, target) for key, _label in self.groups), Compliance())


def collect(rows: Iterable) -> dict:
    """{group: {target: Compliance}} of (group, then met and breached of each target in the
    order of ``TARGETS``) rows; rows of the same group add up."""
    cells: dict = {}
    for group, *counts in rows:
        cell = cells.setdefault(group, {target: Compliance() for target in TARGETS})
        for i, target in enumerate(TARGETS):
            cell[target] += Compliance(int(counts[2 * i] or 0), int(counts[2 * i + 1] or 0))
    return cells


def compliance_by_month(period: reports.Period) -> ComplianceTable:
    """Each target's compliance in each month of the period, of every case the principal sees,
    counted live through the tenant wall: what the rollups must sum to (the tests' reference)."""
    return ComplianceTable([(m, m) for m in period.months()], collect(live_by_month(period)))


def live_by_month(period: reports.Period, only: ColumnElement[bool] | None = None) -> list:
    """(month, then met and breached of each target) rows of the cases the principal sees
    (``only`` those), counted live through the tenant wall."""
    parts = union_all(
        *branches(
            lambda moment: [reports.month_key(moment).label("g")],
            period.starts_at,
            period.ends_at,
            only,
        )
    ).subquery("branches")
    return db.session.execute(select(parts.c.g, *pivot(parts)).group_by(parts.c.g)).all()


def pivot(parts) -> list:
    """The four sums of a (target, ..., met, breached) union, one column per target and
    outcome, in the order ``collect`` reads them."""
    return [
        func.sum(case((parts.c.target == target, parts.c[outcome]), else_=0)).label(
            f"{target}_{outcome}"
        )
        for target in TARGETS
        for outcome in ("met", "breached")
    ]
