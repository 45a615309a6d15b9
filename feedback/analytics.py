"""Read side of the Feedback dashboard: NPS and CSAT with their response rates over a period,
by month, organisation kind, partner tier and product line, and the ideas in each status at the
end of every month.

Every figure is one grouped statement (``COUNT`` / ``SUM`` ... ``GROUP BY``): the counts come
from SQL and only the arithmetic on them (NPS, average, rates) is done here, exactly, with
integers and ``Decimal``. The number of statements does not grow with the rows.

What counts where:

* An NPS survey counts in the month it was sent to its recipient (``survey_recipients.sent_at``,
  one row per person asked), with its answer if it has one, whenever it came: the response rate
  of a month is the answers to the surveys sent that month. Organisation kind and tier are the
  recipient's when the campaign was sent (taken then, so results stay as they were); the product
  line is the campaign's ("" for a campaign about the whole portfolio).
* A CSAT request (``csat_surveys``: one per solve of a case that was sent a link) counts in the
  month its case was solved, as on the CSAT page. Organisation kind and tier are the case's
  organisation's now; the product line is the case's, or else that of its catalogue product.
* By tier only partners count (a customer has no tier); "" is a partner without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.sql.expression import ColumnElement, Select

from feedback.csat.models import SATISFIED, CsatResponse, CsatSurvey
from feedback.csat.queries import CsatSummary
from feedback.ideas.models import IDEA_STATUSES, Idea
from feedback.surveys.models import NpsCampaign, SurveyRecipient, SurveyResponse
from feedback.surveys.nps import percent

# Read in SQL only, for the figures: a case's product line (and its catalogue product's) for
# CSAT per product line, and the programme's tiers for their names.
from partners.catalogue.models import Product
from partners.program import queries as program_queries
from portal import access, reports
from portal.audit import AuditEvent
from portal.db import db
from portal.identity.models import Organization
from selfservice.cases.models import Case

GROUPINGS = ("month", "kind", "tier", "product_line")
PROMOTER_MIN, DETRACTOR_MAX = 9, 6
IDEA_STATUS_EVENT = "idea.status_changed"


@dataclass(frozen=True)
class NpsFigures:
    """The NPS surveys of one group: how many were sent and answered, promoters and
    detractors among the answers."""

    sent: int = 0
    responses: int = 0
    promoters: int = 0
    detractors: int = 0

    @property
    def nps(self) -> Decimal | None:
        """% promoters - % detractors in points, one decimal; None without answers."""
        return percent(self.promoters - self.detractors, self.responses)

    @property
    def response_rate(self) -> Decimal | None:
        """Answers per survey sent, as a fraction (0.75); None when none was sent."""
        return fraction(self.responses, self.sent)


@dataclass(frozen=True)
class CsatFigures:
    """The CSAT requests of one group: how many were sent, and the ratings given."""

    sent: int = 0
    responses: int = 0
    total: int = 0
    satisfied: int = 0

    @property
    def summary(self) -> CsatSummary:
        return CsatSummary(self.responses, self.total, self.satisfied)

    @property
    def average(self) -> Decimal | None:
        return self.summary.average

    @property
    def satisfied_share(self) -> Decimal | None:
        """Ratings of 4 or 5 per rating, as a fraction."""
        return fraction(self.satisfied, self.responses)

    @property
    def response_rate(self) -> Decimal | None:
        return fraction(self.responses, self.sent)


def fraction(part: int, whole: int) -> Decimal | None:
    """``part / whole`` exactly enough for a percentage, None when ``whole`` is 0."""
    return Decimal(part) / Decimal(whole) if whole else None


def _in_period(column, period: reports.Period) -> list[ColumnElement[bool]]:
    return [column >= period.starts_at, column < period.ends_at]


def _grouped(rows: Select, *aggregates, by: tuple[str, ...] = ("g",)) -> list:
    """``rows`` (a select of labelled groups and values) grouped by the columns named ``by``,
    with ``aggregates`` of its columns: rows of the groups, then the aggregates. The groups are
    computed in a subquery and grouped by name, so an expression with parameters (a period's
    bounds) is one expression on PostgreSQL too."""
    inner = rows.subquery()
    keys = [inner.c[name] for name in by]
    made = [aggregate(inner.c) for aggregate in aggregates]
    return db.session.execute(select(*keys, *made).group_by(*keys)).all()


# --- NPS --------------------------------------------------------------------------------------


def _nps_group(grouping: str) -> ColumnElement:
    if grouping == "month":
        return reports.month_key(SurveyRecipient.sent_at)
    if grouping == "kind":
        return SurveyRecipient.org_kind
    if grouping == "tier":
        return func.coalesce(SurveyRecipient.org_tier, "")
    if grouping == "product_line":
        return func.coalesce(NpsCampaign.product, "")
    raise ValueError(f"unknown grouping {grouping!r}")


def nps_by(grouping: str, period: reports.Period) -> dict[str, NpsFigures]:
    """``{group: NpsFigures}`` of the surveys sent in ``period``, per ``grouping`` (one of
    ``GROUPINGS``): one statement."""
    rows = (
        select(
            _nps_group(grouping).label("g"),
            SurveyRecipient.id.label("sent"),
            SurveyResponse.id.label("answered"),
            SurveyResponse.score.label("score"),
        )
        .select_from(SurveyRecipient)
        .outerjoin(SurveyResponse, SurveyResponse.recipient_id == SurveyRecipient.id)
        .where(*_in_period(SurveyRecipient.sent_at, period))
    )
    if grouping == "product_line":
        rows = rows.join(NpsCampaign, NpsCampaign.id == SurveyRecipient.campaign_id)
    if grouping == "tier":
        rows = rows.where(SurveyRecipient.org_kind.in_(access.PARTNER_KINDS))
    found = _grouped(
        rows,
        lambda c: func.count(c.sent),
        lambda c: func.count(c.answered),
        lambda c: func.sum(case((c.score >= PROMOTER_MIN, 1), else_=0)),
        lambda c: func.sum(case((c.score <= DETRACTOR_MAX, 1), else_=0)),
    )
    return {
        group or "": NpsFigures(int(sent), int(answered), int(pro or 0), int(det or 0))
        for group, sent, answered, pro, det in found
    }


def sum_nps(figures) -> NpsFigures:
    """The figures of several groups together (the period's, from its months)."""
    figures = list(figures)
    return NpsFigures(
        sum(f.sent for f in figures),
        sum(f.responses for f in figures),
        sum(f.promoters for f in figures),
        sum(f.detractors for f in figures),
    )


# --- CSAT -------------------------------------------------------------------------------------


def case_product_line() -> ColumnElement:
    """A case's product line: its own, or else its catalogue product's ("" for neither)."""
    return func.coalesce(
        func.nullif(Case.product_line, ""), func.nullif(Product.product_line, ""), ""
    )


def _csat_group(grouping: str) -> ColumnElement:
    if grouping == "month":
        return reports.month_key(CsatSurvey.solved_at)
    if grouping == "kind":
        return Organization.kind
    if grouping == "tier":
        return func.coalesce(Organization.tier, "")
    if grouping == "product_line":
        return case_product_line()
    raise ValueError(f"unknown grouping {grouping!r}")


def csat_by(grouping: str, period: reports.Period) -> dict[str, CsatFigures]:
    """``{group: CsatFigures}`` of the CSAT requests of cases solved in ``period``, per
    ``grouping`` (one of ``GROUPINGS``): one statement."""
    rows = (
        select(
            _csat_group(grouping).label("g"),
            CsatSurvey.id.label("sent"),
            CsatResponse.id.label("answered"),
            CsatResponse.score.label("score"),
        )
        .select_from(CsatSurvey)
        .outerjoin(CsatResponse, CsatResponse.survey_id == CsatSurvey.id)
        .where(*_in_period(CsatSurvey.solved_at, period))
    )
    if grouping in ("kind", "tier"):
        rows = rows.join(Organization, Organization.id == CsatSurvey.org_id)
    if grouping == "tier":
        rows = rows.where(Organization.kind.in_(access.PARTNER_KINDS))
    if grouping == "product_line":
        rows = rows.outerjoin(Case, Case.id == CsatSurvey.case_id).outerjoin(
            Product, Product.id == Case.product_id
        )
    found = _grouped(
        rows,
        lambda c: func.count(c.sent),
        lambda c: func.count(c.answered),
        lambda c: func.sum(c.score),
        lambda c: func.sum(case((c.score.in_(SATISFIED), 1), else_=0)),
    )
    return {
        group or "": CsatFigures(int(sent), int(answered), int(total or 0), int(happy or 0))
        for group, sent, answered, total, happy in found
    }


def sum_csat(figures) -> CsatFigures:
    """The figures of several groups together (the period's, from its months)."""
    figures = list(figures)
    return CsatFigures(
        sum(f.sent for f in figures),
        sum(f.responses for f in figures),
        sum(f.total for f in figures),
        sum(f.satisfied for f in figures),
    )


# --- the groups' names ------------------------------------------------------------------------


def kinds() -> list[tuple[str, object]]:
    """The kinds of organisation asked for feedback, with their names, partners first."""
    return [(k, access.ORG_KIND_LABELS[k]) for k in (*access.PARTNER_KINDS, access.CUSTOMER)]


def tiers() -> list[tuple[str, str]]:
    """The programme's tiers, highest first, as (code, name): one statement."""
    return [(t.code, t.name) for t in reversed(program_queries.tiers())]


# --- ideas ------------------------------------------------------------------------------------


def _bucket(column, period: reports.Period) -> ColumnElement:
    """The month key of a moment in ``period``; "" before it and "~" after it (so keys sort:
    "" < "2026-01" < "~")."""
    return case(
        (column < period.starts_at, ""),
        (column >= period.ends_at, "~"),
        else_=reports.month_key(column),
    )


def ideas_by_status(period: reports.Period) -> dict[str, list[int]]:
    """``{status: [ideas in that status at the end of each month of period.months()]}``.

    An idea's status at a moment is its status now with the later moves undone: each move is the
    audit event ``idea.status_changed`` (with the status before and after). Two statements: the
    ideas proposed by the end of the period, counted by month proposed and status now; and the
    moves since the period began, counted by the month the idea was proposed, the month of the
    move and the two statuses. An idea counts from the month it was proposed."""
    proposed = _bucket(Idea.created_at, period)
    now = _grouped(
        select(proposed.label("at"), Idea.status.label("status"), Idea.id.label("idea")).where(
            Idea.created_at < period.ends_at
        ),
        lambda c: func.count(c.idea),
        by=("at", "status"),
    )
    moves = _grouped(
        select(
            proposed.label("at"),
            _bucket(AuditEvent.created_at, period).label("moved"),
            AuditEvent.before["status"].as_string().label("before"),
            AuditEvent.after["status"].as_string().label("after"),
            AuditEvent.id.label("event"),
        )
        .select_from(AuditEvent)
        .join(Idea, Idea.id == AuditEvent.object_id)
        .where(
            AuditEvent.action == IDEA_STATUS_EVENT,
            AuditEvent.object_type == Idea.__name__,
            AuditEvent.created_at >= period.starts_at,
            Idea.created_at < period.ends_at,
        ),
        lambda c: func.count(c.event),
        by=("at", "moved", "before", "after"),
    )
    months = period.months()
    counts = {status.value: [0] * len(months) for status in IDEA_STATUSES}
    for at, status, n in now:
        for i, month in enumerate(months):
            if at <= month and status in counts:
                counts[status][i] += n
    for at, moved, before, after, n in moves:
        for i, month in enumerate(months):
            if at <= month < moved:  # proposed by then and moved afterwards: undo the move
                if before in counts:
                    counts[before][i] += n
                if after in counts:
                    counts[after][i] -= n
    return counts
