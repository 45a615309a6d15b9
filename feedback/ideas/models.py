"""Ideas, votes, subscriptions and comments.

The board is shared by design: every signed-in customer, partner and vendor user reads every idea
and every comment. Each row still belongs to one organisation (the author's, the voter's, the
commenter's), so a user writes only into its own organisation, and PostgreSQL's policies (migration
0008) let every signed-in scope read ideas and comments but keep votes and subscriptions with their
organisation. Who wrote an idea (person and organisation) is shown to vendor staff only; the
tenant wall does the hiding, since an author's ``User`` and ``Organization`` rows are not visible
to other organisations.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.db import Base, TenantOwned, VendorOnly
from portal.identity.models import User
from portal.search import FullTextIndex
from portal.workflow import Workflow


class IdeaStatus(StrEnum):
    under_review = "under_review"
    planned = "planned"
    in_progress = "in_progress"
    done = "done"
    declined = "declined"
    duplicate = "duplicate"


IDEA_STATUSES = tuple(IdeaStatus)
OPEN_STATUSES = (IdeaStatus.under_review, IdeaStatus.planned, IdeaStatus.in_progress)
STATUS_LABELS = {
    IdeaStatus.under_review: _l("Under review"),
    IdeaStatus.planned: _l("Planned"),
    IdeaStatus.in_progress: _l("In progress"),
    IdeaStatus.done: _l("Done"),
    IdeaStatus.declined: _l("Declined"),
    IdeaStatus.duplicate: _l("Duplicate"),
}
EDITABLE_FIELDS = ["title", "description", "product"]
TRENDING_DAYS = 14  # "trending": the votes of the last two weeks


class _SharedReading:
    """Every signed-in principal reads the row; the owner's organisation alone writes it."""

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        return true()

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return org_id == principal.org_id


class Idea(_SharedReading, TenantOwned, Base):
    """An idea (``org_id``: the author's organisation). ``vote_count`` is kept with every vote
    and recomputed from the votes when duplicates merge; ``recent_vote_count`` (the votes of the
    last ``TRENDING_DAYS``, the "trending" sort) likewise, and the ``ideas_trending`` tick takes
    out the votes that aged (feedback.ideas.trending)."""

    __tablename__ = "ideas"
    __table_args__ = (
        CheckConstraint(
            "status in ('under_review', 'planned', 'in_progress', 'done', 'declined', 'duplicate')",
            name="status",
        ),
        # One index per sort of the board (queries.SORTS), each ending in the unique id so a
        # page is one range scan: for the whole board, and with the status filter in front.
        Index("ix_ideas_votes", "vote_count", "id"),
        Index("ix_ideas_status_votes", "status", "vote_count", "id"),
        Index("ix_ideas_newest", "created_at", "id"),
        Index("ix_ideas_status_newest", "status", "created_at", "id"),
        Index("ix_ideas_trending", "recent_vote_count", "vote_count", "id"),
        Index("ix_ideas_status_trending", "status", "recent_vote_count", "vote_count", "id"),
        Index("ix_ideas_product", "product"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    product: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="under_review")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("ideas.id", ondelete="SET NULL"), index=True
    )
    vote_count: Mapped[int] = mapped_column(default=0)
    recent_vote_count: Mapped[int] = mapped_column(default=0, server_default="0")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime | None]

    author: Mapped[User | None] = relationship()
    duplicate_of: Mapped[Idea | None] = relationship(remote_side=[id])

    # Vendor staff move an idea between any two statuses, except out of duplicate (the merge is
    # not undone); every move is the audit event ``idea.status_changed``.
    workflow = Workflow(
        name="idea",
        noun=_l("idea"),
        statuses=IdeaStatus,
        moves={
            source: {target for target in IdeaStatus if target != source}
            for source in IdeaStatus
            if source != IdeaStatus.duplicate
        },
        audit_fields=("status_reason", "duplicate_of_id", "vote_count"),
        stamps={status: ("status_changed_at", None) for status in IdeaStatus},
        labels=STATUS_LABELS,
    )

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return org_id == principal.org_id and not principal.is_vendor_staff

    @property
    def version(self) -> str:
        """What ``portal.concurrency`` compares when an edit comes back. Ideas have no version
        column (adding one takes a migration): the editable content stands in for it, so a form
        is stale exactly when someone changed what it shows. Votes and status are no conflict."""
        content = json.dumps([getattr(self, f) for f in EDITABLE_FIELDS])
        return hashlib.sha256(content.encode()).hexdigest()[:16]


# Similar ideas are found through portal.search (as articles are); the index is made by 0010.
IDEA_INDEX = FullTextIndex(Idea, ("title", "description"))


class IdeaVote(TenantOwned, Base):
    """One person's vote (``org_id``: the voter's organisation); one per person and idea."""

    __tablename__ = "idea_votes"
    __table_args__ = (
        UniqueConstraint("idea_id", "user_id"),
        Index("ix_idea_votes_idea_id_created_at", "idea_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        if principal.is_vendor_staff:
            return true()
        return cls.user_id == principal.user_id

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        # Merging a duplicate moves votes: vendor staff write them in the voter's organisation.
        return principal.is_vendor_staff or org_id == principal.org_id


class IdeaSubscription(TenantOwned, Base):
    """Who hears of an idea's status changes (``org_id``: the subscriber's organisation)."""

    __tablename__ = "idea_subscriptions"
    __table_args__ = (UniqueConstraint("idea_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        if principal.is_vendor_staff:
            return true()
        return cls.user_id == principal.user_id

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return principal.is_vendor_staff or org_id == principal.org_id


class IdeaComment(_SharedReading, TenantOwned, Base):
    """A comment (``org_id``: the commenter's organisation), read by everyone on the board."""

    __tablename__ = "idea_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_kind: Mapped[str] = mapped_column(String(20))  # vendor, partner, customer
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()


class IdeaCaseLink(VendorOnly, TenantOwned, Base):
    """A case that asks for an idea (``org_id``: the case's organisation). Vendor staff link and
    read them; when the idea is done, the case's requester is told. The case's number is copied:
    ``feedback`` does not read ``selfservice``'s tables (it asks ``case.summary``)."""

    __tablename__ = "idea_case_links"
    __table_args__ = (UniqueConstraint("idea_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    case_number: Mapped[str] = mapped_column(String(20))
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    idea: Mapped[Idea] = relationship()

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return principal.is_vendor_staff
