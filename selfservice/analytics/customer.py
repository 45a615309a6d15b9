"""A customer's dashboard: its cases' SLA compliance, its open cases, its quotes.

A customer's person sees the figures of exactly the cases and quotes the wall shows it: its own
cases, or all of its organisation's where it is an admin or the organisation shares its cases
(``Case.visible_to``), and the quotes addressed to its organisation once sent
(``Quote.visible_to``). Every figure is one grouped statement.

SLA compliance is defined as on the support dashboard (``sla``) and read from the vendor's daily
rollup, past the wall but only the principal's own rows (``compliance_by_month``, reviewed):
its organisation's (``SupportDay``) for someone who sees the whole organisation's cases, the
cases it requested (``SupportRequesterDay``) for anyone else, plus the few it watches counted
live. Grouping a large customer's cases live took over a second (333,000 cases; one person's
166,000 took 1.9 s).

Quotes are the sales side's records (``partners.quotes``); only their model's public columns are
read here, grouped, never a row. Money is never converted: one figure per currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select

from partners.quotes.models import OPEN_STATUSES, Quote, QuoteStatus
from portal import access, reports
from portal.db import db, read_across
from portal.tenancy import Principal
from selfservice.analytics import sla
from selfservice.analytics.models import SupportDay, SupportRequesterDay
from selfservice.analytics.sla import ComplianceTable, collect, within
from selfservice.analytics.support import OUTCOMES, UNRESOLVED
from selfservice.cases.models import Case, CaseSettings, CaseWatcher


def sees_whole_organisation(principal: Principal) -> bool:
    """Whether the wall shows the principal every case of its organisation (its admins; everyone
    when the organisation shares its cases): ``Case.visible_unwatched``'s branches."""
    role = access.ROLES.get(principal.role)
    if role is not None and role.is_admin:
        return True
    return bool(
        db.session.scalar(
            select(CaseSettings.shared).where(CaseSettings.org_id == principal.org_id)
        )
    )


def compliance_by_month(period: reports.Period, principal: Principal) -> ComplianceTable:
    """Each SLA target's compliance in each month of the period, of the cases the principal
    sees, from the vendor's daily rollup (as fresh as the last tick), read past the wall (the
    rollup is the vendor's table) for the principal's own rows alone: the whole organisation's
    (``sees_whole_organisation``), or the cases the principal requested, to which the cases it
    watches but did not request are added, counted live through the wall (a few). It asks for
    itself who sees what: the read past the wall depends on no caller."""
    rollup = SupportDay
    mine = SupportDay.org_id == principal.org_id
    watched: list = []
    if not sees_whole_organisation(principal):
        rollup = SupportRequesterDay
        mine = (SupportRequesterDay.org_id == principal.org_id) & (
            SupportRequesterDay.requester_id == principal.user_id
        )
        ids = watched_not_requested(principal)
        watched = sla.live_by_month(period, only=Case.id.in_(ids)) if ids else []
    month = reports.month_key(rollup.day)
    stmt = (
        select(month, *(func.sum(getattr(rollup, column.key)) for column in OUTCOMES))
        .where(mine, rollup.day.between(period.start, period.end))
        .group_by(month)
    )
    with read_across() as reader:  # reviewed: the principal's own organisation's or own figures
        rows = reader.execute(stmt).all()
    return ComplianceTable([(m, m) for m in period.months()], collect([*rows, *watched]))


def watched_not_requested(principal: Principal) -> list[int]:
    """The ids of the cases the principal watches and did not request, that the wall shows
    it: a few, read first so that counting them reads them by id (a condition on the watchers
    inside the wall's own conditions led PostgreSQL to scan a year of cases)."""
    return list(
        db.session.scalars(
            select(CaseWatcher.case_id)
            .join(Case, Case.id == CaseWatcher.case_id)
            .where(
                CaseWatcher.user_id == principal.user_id,
                Case.requester_id.is_distinct_from(principal.user_id),
            )
        )
    )


@dataclass(frozen=True)
class OpenCases:
    counts: dict  # {(status, priority): n}

    def of(self, status: str, priority: str) -> int:
        return self.counts.get((status, priority), 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def open_cases(principal: Principal, whole_organisation: bool) -> OpenCases:
    """The cases not solved or closed that the principal sees, by status and priority. Counted
    by what the principal sees, spelled out so that the database reads it from an index: its
    organisation's (by ``(org_id, status, priority)``) for someone who sees the whole
    organisation, else the cases it requested (by ``(org_id, requester_id, status)``) and those
    it watches (by id); the wall alone would scan every organisation's open cases to find a
    watched one. The wall still applies."""
    stmt = select(Case.status, Case.priority, func.count()).where(Case.status.in_(UNRESOLVED))
    if whole_organisation:
        stmt = stmt.where(Case.org_id == principal.org_id)
    else:
        requested = (Case.org_id == principal.org_id) & (Case.requester_id == principal.user_id)
        ids = watched_not_requested(principal)
        stmt = stmt.where(or_(requested, Case.id.in_(ids)) if ids else requested)
    rows = db.session.execute(stmt.group_by(Case.status, Case.priority))
    return OpenCases({(status, priority): int(n) for status, priority, n in rows})


@dataclass(frozen=True)
class CurrencyQuotes:
    """Quotes in one currency: open now (sent or viewed, the recipient may still answer) and
    accepted in the period, with their values (totals, tax included), the accepted ones also
    per month of the period."""

    currency: str
    open_count: int
    open_value: Decimal
    accepted_count: int
    accepted_value: Decimal
    accepted_by_month: list  # values, aligned with period.months()


@dataclass(frozen=True)
class Quotes:
    currencies: list[CurrencyQuotes]  # the most quoted first

    @property
    def open_count(self) -> int:
        return sum(c.open_count for c in self.currencies)

    @property
    def accepted_count(self) -> int:
        return sum(c.accepted_count for c in self.currencies)


def quotes(period: reports.Period) -> Quotes:
    """The quotes the principal sees: open now, and accepted in the period (by the month of
    the acceptance), per currency, in one statement."""
    accepted = (Quote.status == QuoteStatus.accepted) & within(
        Quote.decided_at, period.starts_at, period.ends_at
    )
    is_open = Quote.status.in_(OPEN_STATUSES)
    month = reports.month_key(Quote.decided_at)
    # Grouped outside: ``status IN (...)`` holds bound parameters, which PostgreSQL would not
    # match between a SELECT and a GROUP BY written out twice.
    marked = (
        select(
            Quote.currency.label("currency"),
            is_open.label("is_open"),
            month.label("month"),
            Quote.total.label("total"),
        )
        .where(is_open | accepted)
        .subquery("marked")
    )
    grouped = select(
        marked.c.currency,
        marked.c.is_open,
        marked.c.month,
        func.count().label("n"),
        func.sum(marked.c.total).label("value"),
    ).group_by(marked.c.currency, marked.c.is_open, marked.c.month)
    found: dict[str, dict] = {}
    for row in db.session.execute(grouped):
        entry = found.setdefault(
            row.currency, {"open": (0, Decimal(0)), "accepted": {}, "count": 0}
        )
        value = Decimal(row.value or 0)
        if row.is_open:
            count, total = entry["open"]
            entry["open"] = (count + row.n, total + value)
        else:
            entry["accepted"][row.month] = (row.n, value)
        entry["count"] += row.n
    result = []
    for currency, entry in sorted(found.items(), key=lambda item: (-item[1]["count"], item[0])):
        months = entry["accepted"]
        result.append(
            CurrencyQuotes(
                currency=currency,
                open_count=int(entry["open"][0]),
                open_value=entry["open"][1],
                accepted_count=int(sum(n for n, _v in months.values())),
                accepted_value=sum((v for _n, v in months.values()), Decimal(0)),
                accepted_by_month=reports.by_month(
                    period, [(m, v) for m, (_n, v) in months.items()], missing=Decimal(0)
                ),
            )
        )
    return Quotes(result)
