"""Cases (support tickets) with SLA clocks, their replies and internal notes, status history,
watchers, and the SLA policies that set their targets.

A case belongs to the organisation it was raised for (``org_id``: a customer, or a partner for
itself). Who sees it is ``Case.visible_to``: the requester and watchers; everyone in the
organisation if its admin chose to share cases, else its admins; the partner that manages the
customer (read only); vendor staff.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    exists,
    false,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from partners.catalogue.models import Product
from portal import access
from portal.clock import utcnow
from portal.db import Base, TenantOwned, VendorOnly, global_table
from portal.identity.models import Organization, User
from portal.search import FullTextIndex
from portal.workflow import Workflow

PRIORITIES = ("low", "normal", "high", "urgent")


class CaseStatus(StrEnum):
    new = "new"
    open = "open"
    pending = "pending"  # waiting on the customer
    on_hold = "on_hold"  # waiting on a third party
    solved = "solved"
    closed = "closed"


# status -> category. Open statuses run every clock; paused ones stop the clocks their target's
# pause rule names; resolved ones stop them all.
STATUS_CATEGORIES = {
    CaseStatus.new: "open",
    CaseStatus.open: "open",
    CaseStatus.pending: "paused",
    CaseStatus.on_hold: "paused",
    CaseStatus.solved: "resolved",
    CaseStatus.closed: "resolved",
}
STATUSES = tuple(s.value for s in CaseStatus)
PAUSED_STATUSES = (CaseStatus.pending, CaseStatus.on_hold)
RESOLVED_STATUSES = (CaseStatus.solved, CaseStatus.closed)
STATUS_LABELS = {
    CaseStatus.new: _l("New"),
    CaseStatus.open: _l("Open"),
    CaseStatus.pending: _l("Pending"),
    CaseStatus.on_hold: _l("On hold"),
    CaseStatus.solved: _l("Solved"),
    CaseStatus.closed: _l("Closed"),
}
# What a case's audit events show, before and after.
AUDIT_FIELDS = [
    "status", "priority", "product", "product_line", "product_id", "category", "assignee_id",
    "team_id", "sla_policy_id",
]  # fmt: skip
# Agents move a case between any statuses but new; a customer marks its case solved, and its
# reply reopens a pending or solved one; only a solved case closes (by an agent, a merge or the
# tick), and a closed case stays closed.
_WORKING = {CaseStatus.open, CaseStatus.pending, CaseStatus.on_hold, CaseStatus.solved}
CASE_MOVES = {
    status: (_WORKING | ({CaseStatus.closed} if status == CaseStatus.solved else set())) - {status}
    for status in CaseStatus
    if status != CaseStatus.closed
}
# The SLA targets, in the order pages and figures show them. Next response is the one that
# recurs: each public comment by the customer's side on a case an agent has answered starts a
# wait for the agent's next public reply (``CaseReplyWait``); a policy without next-response
# hours has no such target.
TARGETS = ("first_response", "next_response", "resolution")
QUEUE_BUCKET = 10**10  # rank = bucket * QUEUE_BUCKET + the next deadline's epoch seconds
QUEUE_RANK_NONE = 2 * QUEUE_BUCKET


@global_table("the vendor's support configuration: SLA targets and calendars, no customer data")
class SlaPolicy(Base):
    """Targets for cases that match its conditions; the first match by ``position`` wins. A
    condition left empty matches anything. Each target has its own pause rule: the paused
    statuses that stop its clock."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    priority: Mapped[str | None] = mapped_column(String(10))
    tier: Mapped[str | None] = mapped_column(String(20))  # the customer's or its partner's tier
    product: Mapped[str | None] = mapped_column(String(100))
    first_response_hours: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    resolution_hours: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    # None: the policy sets no next-response target (policies made before migration 0029).
    next_response_hours: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    first_response_pauses: Mapped[list] = mapped_column(JSON, default=list)
    resolution_pauses: Mapped[list] = mapped_column(JSON, default=list)
    next_response_pauses: Mapped[list | None] = mapped_column(JSON, default=list)
    # The calendar: empty means the vendor's (BUSINESS_TIMEZONE, _HOURS, _HOLIDAYS settings).
    timezone: Mapped[str | None] = mapped_column(String(64))
    business_hours: Mapped[str | None] = mapped_column(String(20))  # 09:00-17:00
    holidays: Mapped[str | None] = mapped_column(String(10))  # DE-BY

    def pauses(self, target: str) -> frozenset[str]:
        return frozenset(getattr(self, f"{target}_pauses") or ())

    def hours(self, target: str) -> Decimal | None:
        return getattr(self, f"{target}_hours")

    def sets(self, target: str) -> bool:
        """Whether the policy has this target (next response is optional)."""
        return self.hours(target) is not None


@global_table("the vendor's support teams (for round-robin assignment), no customer data")
class SupportTeam(VendorOnly, Base):
    __tablename__ = "support_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # Hears of low satisfaction ratings on the team's cases (none: the vendor admins do).
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


@global_table("who is in which support team: vendor staff only")
class SupportTeamMember(VendorOnly, Base):
    __tablename__ = "support_team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("support_teams.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class CaseSettings(TenantOwned, Base):
    """An organisation's choice about its cases: shared (everyone in it sees all of them) or
    not (each person sees their own, admins all)."""

    __tablename__ = "case_settings"
    __table_args__ = (UniqueConstraint("org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class Case(TenantOwned, Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_id", "status", "id"),
        # Open cases counted per status under the reader's rule (organisation, requester, and
        # the id its watchers' branch tests) from the index alone: the home pages (migrations
        # 0042, 0044). SQLite keeps the id in every index anyway; PostgreSQL needs it named.
        Index("ix_cases_status_org_requester_id", "status", "org_id", "requester_id", "id"),
        # A person's cases, and their open ones by status (a customer's dashboard).
        Index("ix_cases_org_id_requester_status", "org_id", "requester_id", "status"),
        Index("ix_cases_assignee_status", "assignee_id", "status"),
        Index("ix_cases_queue_rank_id", "queue_rank", "id"),
        Index("ix_cases_updated_at_id", "updated_at", "id"),
        Index("ix_cases_assignee_assigned_at", "assignee_id", "assigned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("support_teams.id", ondelete="SET NULL"))
    # What the case is about: a catalogue product (``product_id``), whose line is then copied
    # into ``product_line`` so that grouping by line is one column, or a line alone (a code of
    # portal.product_lines). ``product`` keeps the requester's own words (a model, a version;
    # and what cases said in free text before migration 0018).
    product: Mapped[str] = mapped_column(String(100), default="")
    product_line: Mapped[str | None] = mapped_column(String(60), index=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    category: Mapped[str] = mapped_column(String(100), default="")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(10), default=CaseStatus.new)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_responded_at: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    # When the current assignee got the case: round robin goes by each agent's latest.
    assigned_at: Mapped[datetime | None]
    # SLA: the policy chosen when the case was opened (or its priority changed), and per target
    # when its clock runs out (None while paused or stopped), whether it breached (never undone)
    # and whether agents were warned.
    sla_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    first_response_due_at: Mapped[datetime | None] = mapped_column(index=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(index=True)
    first_response_breached: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    resolution_breached: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    first_response_warned: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    resolution_warned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The next-response target of the wait now open (``CaseReplyWait``; all cleared when the
    # agent answers): its due time, breach and warning, for the queue and the tick.
    next_response_due_at: Mapped[datetime | None] = mapped_column(index=True)
    next_response_breached: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    next_response_warned: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The agents' queue order as one indexed number (selfservice.cases.services.queue_rank):
    # breached first, then by the next deadline, then paused, resolved last.
    queue_rank: Mapped[int] = mapped_column(
        BigInteger, default=QUEUE_RANK_NONE, server_default=str(QUEUE_RANK_NONE)
    )
    # Legal hold (migration 0038): set and cleared by vendor admins on the case page; while it
    # holds, the erasure of the case's requester or opener is refused.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    legal_hold_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    legal_hold_at: Mapped[datetime | None]
    legal_hold_reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    org: Mapped[Organization] = relationship(foreign_keys="Case.org_id")
    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    sla_policy: Mapped[SlaPolicy | None] = relationship()
    catalogue_product: Mapped[Product | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    # The stamps of a move are the workflow's; the SLA clocks' inputs (the status history, due
    # times) are kept by selfservice.cases.services.common.move_case around each transition.
    workflow = Workflow(
        name="case",
        noun=_l("case"),
        statuses=CaseStatus,
        moves=CASE_MOVES,
        audit_fields=tuple(AUDIT_FIELDS),
        stamps={CaseStatus.solved: ("solved_at", None), CaseStatus.closed: ("closed_at", None)},
        labels=STATUS_LABELS,
        # Every move is one kind of change for the history; arriving in solved is also told
        # as case.solved, with what the satisfaction survey needs (services.common).
        event="case.status_changed",
    )

    @property
    def product_words(self) -> str:
        """The requester's own words about the product, unless they only repeat what the case
        names (its product's SKU or name, its line): shown beside the product."""
        words = (self.product or "").strip()
        named = {self.product_line or ""}
        if self.catalogue_product is not None:
            named |= {self.catalogue_product.sku, self.catalogue_product.name}
        return "" if words.lower() in {n.strip().lower() for n in named if n} else words

    @property
    def category_of_status(self) -> str:
        return STATUS_CATEGORIES[self.status]

    @property
    def is_resolved(self) -> bool:
        return self.status in RESOLVED_STATUSES

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """Vendor staff: all. Others: cases they requested or watch; their organisation's cases
        if they are its admin or it shares cases; a partner also its managed customers' cases.
        A token without a user (client credentials) requests and watches nothing."""
        if principal.is_vendor_staff:
            return true()
        if principal.user_id is None:
            return cls.visible_unwatched(principal)
        # Uncorrelated subqueries (computed once, not per row), so each branch can use an index.
        watched = cls.id.in_(
            select(CaseWatcher.case_id).where(CaseWatcher.user_id == principal.user_id)
        )
        return or_(cls.visible_unwatched(principal), watched)

    @classmethod
    def visible_unwatched(cls, principal) -> ColumnElement[bool]:
        """``visible_to`` without the watchers' branch (which the watchers' own rule needs
        without looping back to itself)."""
        if principal.is_vendor_staff:
            return true()
        own_org = cls.org_id == principal.org_id
        if principal.role in access.ROLES and access.ROLES[principal.role].is_admin:
            rule = own_org
        else:
            shared = exists(
                select(CaseSettings.id).where(
                    CaseSettings.org_id == principal.org_id, CaseSettings.shared.is_(True)
                )
            )
            # ``requester_id = NULL`` would match every requester-less case: a token without a
            # user requests nothing.
            own = (
                cls.requester_id == principal.user_id if principal.user_id is not None else false()
            )
            rule = and_(own_org, or_(own, shared))
        if principal.is_partner:
            managed = select(Organization.id).where(Organization.managed_by_id == principal.org_id)
            rule = or_(rule, cls.org_id.in_(managed))
        return rule


class _CasePart(TenantOwned):
    """A row that belongs to a case (``org_id``: the case's organisation): seen by whoever sees
    the case."""

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        if principal.is_vendor_staff:
            return true()
        return cls.case_id.in_(select(Case.id).where(Case.visible_to(principal)))

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        # A watcher added to a managed customer's case, a comment by an agent: the service
        # checked the case; the row carries the case's organisation.
        return True


class CaseComment(_CasePart, Base):
    """A public reply (the customer sees it) or an internal note (vendor staff only, never in
    a customer's or partner's page, email or API)."""

    __tablename__ = "case_comments"
    __table_args__ = (Index("ix_case_comments_case_id_id", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    by_agent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        if principal.is_vendor_staff:
            return true()
        return and_(cls.internal.is_(False), super().visible_to(principal))


class CaseStatusChange(_CasePart, Base):
    """Each status a case took and when: the SLA clocks are computed from this history."""

    __tablename__ = "case_status_changes"
    __table_args__ = (Index("ix_case_status_changes_case_id_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseWatcher(_CasePart, Base):
    __tablename__ = "case_watchers"
    __table_args__ = (UniqueConstraint("case_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship()

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """One's own watching, and the watchers of a case one sees otherwise (not through
        ``Case.visible_to``: that rule asks this table, and must not loop). A colleague's
        private case is not visible, so neither are its watchers."""
        if principal.is_vendor_staff:
            return true()
        # Uncorrelated: the visible cases are computed once, not per watcher row.
        seen = cls.case_id.in_(select(Case.id).where(Case.visible_unwatched(principal)))
        if principal.user_id is None:
            return seen
        return or_(cls.user_id == principal.user_id, seen)


class CaseAttachment(_CasePart, Base):
    """A file sent with a reply or note. Kept in the database (outside any web root, inside the
    transaction and both tenant walls); served only as a download with safe headers. An
    attachment of an internal note is as internal as the note."""

    __tablename__ = "case_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_comments.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(120))  # sanitised
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        if principal.is_vendor_staff:
            return true()
        return and_(cls.internal.is_(False), super().visible_to(principal))


class CaseReplyWait(_CasePart, Base):
    """One wait for an agent's next public reply: started by a public comment of the customer's
    side on a case an agent had answered, ended by the agent's next public reply. Its clock is
    the next-response target's (``selfservice.cases.sla``): ``due_at`` while it runs (left as
    it was once it breached: the moment it ran out), ``breached`` never undone. The support
    figures count each wait once it is settled (``selfservice.analytics.sla``)."""

    __tablename__ = "case_reply_waits"
    __table_args__ = (
        Index("ix_case_reply_waits_case_id_id", "case_id", "id"),
        Index("ix_case_reply_waits_answered_at", "answered_at"),
        Index("ix_case_reply_waits_due_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    breached: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# The portal-wide search (portal.search; migration 0016).
CASE_INDEX = FullTextIndex(Case, ("subject", "number"))
