"""The support dashboard's figures: SLA compliance per target by month, priority, team and
organisation; the backlog by age; the median first response; cases avoided by the help centre
against cases opened.

SLA compliance, cases opened and first-reply times are read from the rollup (``models``, kept by
``rollup``: a few rows per day, so a period of a million cases is read in milliseconds); what
counts is defined once in ``sla``. The backlog (open cases by age, now) and the cases avoided
are grouped live, on indexed columns. Every figure is one grouped statement; nothing here loads
rows to count them, so the number of statements per page does not grow with the data. Only
vendor staff read the rollup (its rows' rule), so the page is theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, case, cast, func, literal, select, union_all

from portal import reports
from portal.db import db
from portal.identity.models import Organization
from selfservice.analytics.models import SupportDay, SupportResponseTime
from selfservice.analytics.sla import ComplianceTable, collect, within
from selfservice.cases.models import (
    PRIORITIES,
    RESOLVED_STATUSES,
    STATUSES,
    TARGETS,
    Case,
    SupportTeam,
)
from selfservice.kb.models import ArticleEvent

# The organisations the compliance chart names: those with the most targets settled.
TOP_ORGANISATIONS = 10
UNRESOLVED = tuple(s for s in STATUSES if s not in RESOLVED_STATUSES)
# The backlog's age buckets: a case younger than the first bound (in days) is in the first, and
# so on; older than the last bound, in the last.
AGE_BOUNDS = (1, 3, 7, 30)
# Met and breached of each target, in the order of TARGETS (what ``sla.collect`` reads).
OUTCOMES = tuple(
    getattr(SupportDay, f"{target}_{outcome}")
    for target in TARGETS
    for outcome in ("met", "breached")
)


def _in(period: reports.Period):
    return SupportDay.day.between(period.start, period.end)


def _sums() -> list:
    return [func.sum(column) for column in OUTCOMES]


# --- SLA compliance (the rollup) -----------------------------------------------------------------


def compliance_by_month(period: reports.Period) -> ComplianceTable:
    """Each target's compliance in each month of the period (by when it was settled)."""
    month = reports.month_key(SupportDay.day)
    rows = db.session.execute(select(month, *_sums()).where(_in(period)).group_by(month))
    return ComplianceTable([(m, m) for m in period.months()], collect(rows))


def compliance_by_priority(period: reports.Period) -> ComplianceTable:
    rows = db.session.execute(
        select(SupportDay.priority, *_sums()).where(_in(period)).group_by(SupportDay.priority)
    )
    cells = collect(rows)
    return ComplianceTable([(p, p) for p in PRIORITIES if p in cells], cells)


def compliance_by_team(period: reports.Period) -> ComplianceTable:
    """Per support team (key None: cases in no team), by team name; label None for no team."""
    rows = db.session.execute(
        select(SupportDay.team_id, SupportTeam.name, *_sums())
        .outerjoin(SupportTeam, SupportTeam.id == SupportDay.team_id)
        .where(_in(period))
        .group_by(SupportDay.team_id, SupportTeam.name)
        .order_by(SupportTeam.name.is_(None), SupportTeam.name, SupportDay.team_id)
    ).all()
    return ComplianceTable(
        [(row[0], row[1]) for row in rows], collect((row[0], *row[2:]) for row in rows)
    )


def compliance_by_organisation(
    period: reports.Period, limit: int = TOP_ORGANISATIONS
) -> ComplianceTable:
    """The ``limit`` organisations with the most targets settled in the period, most first."""
    settled = func.sum(sum(OUTCOMES[1:], OUTCOMES[0]))
    rows = db.session.execute(
        select(SupportDay.org_id, Organization.name, *_sums())
        .join(Organization, Organization.id == SupportDay.org_id)
        .where(_in(period))
        .group_by(SupportDay.org_id, Organization.name)
        .having(settled > 0)
        .order_by(settled.desc(), Organization.name, SupportDay.org_id)
        .limit(limit)
    ).all()
    return ComplianceTable(
        [(row[0], row[1]) for row in rows], collect((row[0], *row[2:]) for row in rows)
    )


# --- the backlog, first responses, the help centre ----------------------------------------------


@dataclass(frozen=True)
class Backlog:
    """Unresolved cases by age bucket (``AGE_BOUNDS``) and priority."""

    counts: dict = field(default_factory=dict)  # {(bucket, priority): n}

    def bucket(self, index: int, priority: str) -> int:
        return self.counts.get((index, priority), 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def backlog(now: datetime) -> Backlog:
    """Cases not solved or closed, by how long ago they were opened, per priority (live)."""
    age = case(
        *(
            (Case.created_at > now - timedelta(days=days), index)
            for index, days in enumerate(AGE_BOUNDS)
        ),
        else_=len(AGE_BOUNDS),
    )
    # Grouped outside: the bounds are bound parameters, which PostgreSQL would not match
    # between a SELECT and a GROUP BY written out twice.
    aged = (
        select(age.label("bucket"), Case.priority.label("priority"))
        .where(Case.status.in_(UNRESOLVED))
        .subquery("aged")
    )
    rows = db.session.execute(
        select(aged.c.bucket, aged.c.priority, func.count()).group_by(
            aged.c.bucket, aged.c.priority
        )
    )
    return Backlog({(int(bucket), priority): int(n) for bucket, priority, n in rows})


@dataclass(frozen=True)
class FirstResponse:
    """Median hours from a case's opening to its first public reply by an agent, of the cases
    first answered in the period, and per month of that answer; to a tenth of an hour."""

    median_hours: float | None
    monthly: list  # aligned with period.months(), None for a month with no first reply


def first_response(period: reports.Period) -> FirstResponse:
    """The medians, from the rollup's counts of replies per tenth of an hour: in each month
    (and in the whole period, key ``*``), the value at the middle of the replies in order (the
    mean of the two middle ones for an even count), in one statement."""
    in_period = SupportResponseTime.day.between(period.start, period.end)
    month = reports.month_key(SupportResponseTime.day)
    counts = union_all(
        select(month.label("k"), SupportResponseTime.tenths, SupportResponseTime.answered).where(
            in_period
        ),
        select(
            literal("*", String).label("k"),
            SupportResponseTime.tenths,
            SupportResponseTime.answered,
        ).where(in_period),
    ).subquery("counts")
    grouped = (
        select(counts.c.k, counts.c.tenths, func.sum(counts.c.answered).label("n"))
        .group_by(counts.c.k, counts.c.tenths)
        .subquery("grouped")
    )
    running = select(
        grouped.c.k,
        grouped.c.tenths,
        func.sum(grouped.c.n)
        .over(partition_by=grouped.c.k, order_by=grouped.c.tenths)
        .label("upto"),
        # an integer, so that halving it divides in whole numbers (PostgreSQL sums to numeric)
        cast(func.sum(grouped.c.n).over(partition_by=grouped.c.k), Integer).label("total"),
    ).subquery("running")
    # The two middle positions, (n + 1) / 2 and n / 2 + 1 in integer division: the same one
    # for an odd count.
    middle = union_all(
        *(
            select(running.c.k, func.min(running.c.tenths).label("tenths"))
            .where(running.c.upto >= position)
            .group_by(running.c.k)
            for position in (
                (running.c.total + 1) // literal(2, Integer),
                running.c.total // literal(2, Integer) + 1,
            )
        )
    ).subquery("middle")
    medians = {
        k: float(tenths) / 10
        for k, tenths in db.session.execute(
            select(middle.c.k, func.avg(middle.c.tenths)).group_by(middle.c.k)
        )
    }
    return FirstResponse(medians.get("*"), reports.by_month(period, medians.items(), missing=None))


@dataclass(frozen=True)
class Deflection:
    """Per month of the period: cases a reader said an article made unnecessary, and cases
    opened."""

    avoided: list
    opened: list

    @property
    def total_avoided(self) -> int:
        return sum(self.avoided)

    @property
    def total_opened(self) -> int:
        return sum(self.opened)

    @property
    def share(self) -> float | None:
        """Of the cases avoided or opened, the share avoided."""
        return reports.rate(self.total_avoided, self.total_avoided + self.total_opened)


def deflection(period: reports.Period) -> Deflection:
    """Cases avoided ("this solved my problem" on an article, once per reader and article; live)
    and cases opened (the rollup), by month, in one statement."""
    avoided_month = reports.month_key(ArticleEvent.created_at)
    opened_month = reports.month_key(SupportDay.day)
    rows = db.session.execute(
        union_all(
            select(literal("avoided", String), avoided_month, func.count())
            .where(
                ArticleEvent.kind == "case_avoided",
                within(ArticleEvent.created_at, period.starts_at, period.ends_at),
            )
            .group_by(avoided_month),
            select(literal("opened", String), opened_month, func.sum(SupportDay.opened))
            .where(_in(period))
            .group_by(opened_month),
        )
    ).all()
    return Deflection(
        avoided=reports.by_month(period, [(m, int(n)) for kind, m, n in rows if kind == "avoided"]),
        opened=reports.by_month(period, [(m, int(n)) for kind, m, n in rows if kind == "opened"]),
    )
