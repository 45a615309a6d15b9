"""CSAT surveys (one per solve of a case that was sent a link) and their answers.

Both belong to the case's organisation, so PostgreSQL's wall keeps them with it; in the portal
only vendor staff read them (the customer answers through the signed link, with no sign-in). The
case's number, agent, team and product are copied when the survey is sent, so results stay as
they were when the case was solved; only the feedback dashboard's analysis by product line
(``feedback.analytics.csat_by``) reads the case's line from ``selfservice``'s table, read-only.
One answer per survey is a unique constraint: two concurrent submits of one link cannot both
record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback import links
from portal.clock import utcnow
from portal.db import Base, TenantOwned, VendorOnly
from portal.identity.models import User

SATISFIED = (4, 5)


class _VendorReads(VendorOnly):
    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return False  # written by the case.solved event and the signed link only (unscoped)


class CsatSurvey(_VendorReads, TenantOwned, Base):
    """``org_id``: the case's organisation; ``requester_id``: who is asked."""

    __tablename__ = "csat_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    case_number: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200), default="")
    requester_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_name: Mapped[str] = mapped_column(String(120), default="")
    product: Mapped[str] = mapped_column(String(100), default="")
    solved_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Random, made with the row and carried in its link (feedback.links): the key alone cannot
    # make a link that answers.
    link_nonce: Mapped[str] = mapped_column(String(32), default=links.new_nonce)

    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    agent: Mapped[User | None] = relationship(foreign_keys=[agent_id])
    response: Mapped[CsatResponse | None] = relationship(
        back_populates="survey", uselist=False, viewonly=True
    )


class CsatResponse(_VendorReads, TenantOwned, Base):
    """An answer: 1 to 5 and an optional comment. ``survey_id`` is unique: a link answers once."""

    __tablename__ = "csat_responses"
    __table_args__ = (CheckConstraint("score >= 1 AND score <= 5", name="score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("csat_surveys.id", ondelete="CASCADE"), unique=True
    )
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    survey: Mapped[CsatSurvey] = relationship(back_populates="response")

    @property
    def satisfied(self) -> bool:
        return self.score in SATISFIED
