"""NPS campaigns, their recipients and the answers.

A campaign belongs to the vendor. A recipient row (one per person asked) and an answer belong to
the recipient's organisation, so PostgreSQL's wall keeps them with it; in the portal only vendor
staff and the person asked see them. One answer per recipient is a unique constraint: two
concurrent submits of one link cannot both record.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from feedback import links
from portal.clock import utcnow
from portal.db import Base, TenantOwned
from portal.identity.models import Organization, User
from portal.workflow import Workflow


class CampaignStatus(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    sent = "sent"
    closed = "closed"


CAMPAIGN_STATUSES = tuple(CampaignStatus)
AUDIENCE_KINDS = ("customer", "partner")


class NpsCampaign(TenantOwned, Base):
    """``org_id``: the vendor. Audience: organisation kinds (customer, partner), optionally
    narrowed to tiers, or an explicit list of organisations, or a segment."""

    __tablename__ = "nps_campaigns"
    __table_args__ = (
        CheckConstraint("status in ('draft', 'scheduled', 'sent', 'closed')", name="status"),
        Index("ix_nps_campaigns_status_send_at", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(40), default="")  # "" for the whole portfolio
    audience_kinds: Mapped[list] = mapped_column(JSON, default=list)
    audience_tiers: Mapped[list] = mapped_column(JSON, default=list)  # empty: every tier
    audience_org_ids: Mapped[list] = mapped_column(JSON, default=list)  # non-empty: only these
    # The people of a segment's organisations (portal.segments), as it is when the campaign is
    # sent; instead of kinds and organisations. A segment a campaign not sent yet asks cannot be
    # deleted; one deleted after sending leaves the recipients as they were.
    audience_segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default="draft")
    send_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    remind_after_days: Mapped[int] = mapped_column(default=7)
    reminded_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # draft -> scheduled (the tick sends it) -> sent, or draft -> sent at once; a scheduled
    # campaign is scheduled again (another time) or goes back to draft until the tick sends it;
    # a sent campaign is closed by hand. The audit events show the status (and what ``data``
    # adds: the time it is sent at, how many people were asked).
    workflow = Workflow(
        name="nps_campaign",
        noun=_l("campaign"),
        statuses=CampaignStatus,
        moves={
            "draft": {"scheduled", "sent"},
            "scheduled": {"scheduled", "draft", "sent"},
            "sent": {"closed"},
        },
        stamps={"sent": ("sent_at", None)},
    )


class SurveyRecipient(TenantOwned, Base):
    """One person asked (``org_id``: the person's organisation). ``org_kind`` and ``org_tier``
    are taken when the campaign is sent, so results by kind and tier stay as they were."""

    __tablename__ = "survey_recipients"
    __table_args__ = (UniqueConstraint("campaign_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("nps_campaigns.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    org_kind: Mapped[str] = mapped_column(String(20))
    org_tier: Mapped[str] = mapped_column(String(20), default="")
    sent_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reminded_at: Mapped[datetime | None]
    # Random, made with the row and carried in its link (feedback.links): the key alone cannot
    # make a link that answers.
    link_nonce: Mapped[str] = mapped_column(String(32), default=links.new_nonce)

    campaign: Mapped[NpsCampaign] = relationship()
    user: Mapped[User] = relationship()
    org: Mapped[Organization] = relationship()

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        if principal.is_vendor_staff:
            return true()
        return cls.user_id == principal.user_id

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return principal.is_vendor_staff  # the vendor sends campaigns to every organisation


class SurveyResponse(TenantOwned, Base):
    """An answer: 0 to 10 and the reason. ``recipient_id`` is unique: a link answers once."""

    __tablename__ = "survey_responses"
    __table_args__ = (CheckConstraint("score >= 0 AND score <= 10", name="score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("survey_recipients.id", ondelete="CASCADE"), unique=True
    )
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("nps_campaigns.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    recipient: Mapped[SurveyRecipient] = relationship()

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        if principal.is_vendor_staff:
            return true()
        return false()  # answers are the vendor's to read; nobody else reads them

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        return False  # recorded by the signed link's POST only, which has no principal
