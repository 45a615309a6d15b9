"""SLA compliance: what counts, once for every reader. The vendor's support dashboard reads it
from the rollup (``rollup`` builds it with ``branches`` below); a customer's dashboard computes
it live, through the tenant wall, on the cases it may see.

A case with an SLA policy has two targets, first response and resolution
(``selfservice.cases.models.TARGETS``; the policies have no next-response target). For each, the
case stores whether it breached (never undone) and, while its clock runs, when it falls due
(``selfservice.cases.services.refresh_sla``: the due time is left as it was once the target
breached, so it is the moment the clock ran out). A target is *settled*:

- *met*: its clock was stopped (the first public reply by an agent, ``first_responded_at``; the
  solve, ``solved_at``) before it ran out; it counts at that moment;
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
from selfservice.cases.models import TARGETS, Case


def within(column, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def stopped_at(target: str):
    """What stops ``target``'s clock for good: the first public reply, the solve."""
    return Case.first_responded_at if target == "first_response" else Case.solved_at


def branches(groups_of: Callable[[object], list], start: datetime, end: datetime) -> list:
    """Grouped selects of (target, *groups, met, breached), two per target: its targets met in
    [start, end) (by when their clock was stopped) and those breached in it (by their due
    time). Each is a range on one indexed column, so the database reads only the cases settled
    then. ``groups_of(moment)`` gives the labelled group columns, given the column of the
    moment a target settled."""
    selects = []
    for target in TARGETS:
        breached = getattr(Case, f"{target}_breached")
        due_at = getattr(Case, f"{target}_due_at")
        for moment, flag in ((stopped_at(target), False), (due_at, True)):
            groups = groups_of(moment)
            selects.append(
                select(
                    literal(target, String).label("target"),
                    *groups,
                    (literal(0) if flag else func.count()).label("met"),
                    (func.count() if flag else literal(0)).label("breached"),
                )
                .where(
                    Case.sla_policy_id.is_not(None), breached.is_(flag), within(moment, start, end)
                )
                .group_by(*groups)
            )
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
    """{group: {target: Compliance}} of (group, first response met, breached, resolution met,
    breached) rows."""
    return {
        group: {
            "first_response": Compliance(int(fr_met or 0), int(fr_breached or 0)),
            "resolution": Compliance(int(res_met or 0), int(res_breached or 0)),
        }
        for group, fr_met, fr_breached, res_met, res_breached in rows
    }


def compliance_by_month(period: reports.Period) -> ComplianceTable:
    """Each target's compliance in each month of the period, of the cases the principal sees
    (live, through the tenant wall: a customer's dashboard)."""
    parts = union_all(
        *branches(
            lambda moment: [reports.month_key(moment).label("g")], period.starts_at, period.ends_at
        )
    ).subquery("branches")
    rows = db.session.execute(select(parts.c.g, *pivot(parts)).group_by(parts.c.g))
    return ComplianceTable([(m, m) for m in period.months()], collect(rows))


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
