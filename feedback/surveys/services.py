"""Use cases of NPS campaigns (their links are answered in ``answers``). Writers only flush; the
caller commits.

A campaign: draft -> scheduled (send at a time; the tick sends it) -> sent; or draft -> sent at
once; a scheduled campaign may go back to draft (its schedule cancelled) until the tick sends it
(``NpsCampaign.workflow``). A sent campaign is closed by hand: its links then say so, no reminder
goes out, its results stay. Sending writes one recipient row per active user of the audience's
organisations and emails each a signed link (``feedback.links``). One reminder goes to those who
have not answered, ``remind_after_days`` after sending. Every move that may race (the tick and a
person) is a claim (``transition(..., claim=True)``), so a second run (or a concurrent one) does
nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import false, or_, select, update

from feedback import links
from feedback.surveys.answers import survey_link
from feedback.surveys.models import (
    AUDIENCE_KINDS,
    CampaignStatus,
    NpsCampaign,
    SurveyRecipient,
    SurveyResponse,
)
from portal import access, audit, i18n
from portal.clock import utcnow
from portal.db import db, read_across
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization, User, tier_options
from portal.notify import services as notify
from portal.product_lines import PRODUCT_LINES
from portal.segments import queries as segments
from portal.tenancy import Principal
from portal.workflow import transition

log = logging.getLogger(__name__)

AUDIT_FIELDS = [
    "name",
    "product",
    "audience_kinds",
    "audience_tiers",
    "audience_org_ids",
    "audience_segment_id",
]
NOT_SENT = (CampaignStatus.draft, CampaignStatus.scheduled)


def _require_manager(actor: Principal) -> None:
    if not actor.can("feedback.manage"):
        raise Forbidden(_("Only vendor staff run surveys."))


def _clean(fields: dict) -> dict:
    name = (fields.get("name") or "").strip()
    if not name:
        raise InvalidInput(_("Give the campaign a name."), field="name")
    product = fields.get("product") or ""
    if product and product not in PRODUCT_LINES:
        raise InvalidInput(_("Choose a product from the list."), field="product")
    kinds = sorted(set(fields.get("audience_kinds") or []))
    if any(k not in AUDIENCE_KINDS for k in kinds):
        raise InvalidInput(_("Choose customers, partners or both."), field="audience_kinds")
    tiers = sorted(set(fields.get("audience_tiers") or []))
    if any(t not in dict(tier_options()) for t in tiers):
        raise InvalidInput(_("Choose tiers from the list."), field="audience_tiers")
    org_ids = sorted({int(i) for i in fields.get("audience_org_ids") or []})
    if org_ids:
        found = db.session.scalars(
            select(Organization.id).where(
                Organization.id.in_(org_ids), Organization.kind != access.VENDOR
            )
        ).all()
        if len(found) != len(org_ids):
            raise InvalidInput(_("Choose organisations from the list."), field="audience_org_ids")
    segment_id = int(fields.get("audience_segment_id") or 0) or None
    if segment_id is not None:
        if segments.criteria_of(segment_id) is None:
            raise InvalidInput(_("Choose a segment from the list."), field="audience_segment_id")
        if kinds or org_ids:
            raise InvalidInput(
                _(
                    "A segment chooses the organisations itself: choose no segment, or leave "
                    "the kinds and the list of organisations empty."
                ),
                field="audience_segment_id",
            )
    if not kinds and not org_ids and segment_id is None:
        raise InvalidInput(
            _("Choose who is asked: customers, partners, a list of organisations or a segment."),
            field="audience_kinds",
        )
    days = fields.get("remind_after_days") or 7
    if not 1 <= int(days) <= 60:
        raise InvalidInput(_("Remind after 1 to 60 days."), field="remind_after_days")
    return {
        "name": name[:200],
        "product": product,
        "audience_kinds": kinds,
        "audience_tiers": tiers,
        "audience_org_ids": org_ids,
        "audience_segment_id": segment_id,
        "remind_after_days": int(days),
    }


def create_campaign(fields: dict, *, actor: Principal) -> NpsCampaign:
    """Vendor staff create a draft campaign; ``fields``: name, product, audience_kinds
    (customer, partner), audience_tiers (partners of these tiers only; empty: all),
    audience_org_ids (these organisations only, instead of kinds), audience_segment_id (the
    organisations of a segment as it is when sent, instead of both), remind_after_days."""
    _require_manager(actor)
    campaign = NpsCampaign(
        org_id=actor.org_id,
        status=CampaignStatus.draft,
        created_by_id=actor.user_id,
        **_clean(fields),
    )
    db.session.add(campaign)
    db.session.flush()
    audit.record(
        "nps_campaign.created", campaign, actor=actor, after=audit.snapshot(campaign, AUDIT_FIELDS)
    )
    return campaign


def schedule_campaign(campaign: NpsCampaign, send_at: datetime, *, actor: Principal) -> None:
    """Send the campaign at ``send_at`` (aware, in the future); the tick sends it. Claimed: a
    campaign the tick sent meanwhile stays sent."""
    _require_manager(actor)
    refusal = _("Only a campaign not sent yet can be scheduled.")
    if campaign.status not in NOT_SENT:
        raise InvalidTransition(refusal)
    if send_at.tzinfo is None or send_at <= utcnow():
        raise InvalidInput(_("Choose a time in the future."), field="send_at")
    scheduled = transition(
        campaign,
        CampaignStatus.scheduled,
        actor=actor,
        changes={"send_at": send_at},
        data={"send_at": send_at},
        claim=True,
    )
    if not scheduled:
        db.session.refresh(campaign)
        raise InvalidTransition(refusal)


def send_campaign(campaign: NpsCampaign, *, actor: Principal | None) -> int:
    """Send now (vendor staff) or when due (the tick, ``actor`` None). Returns how many people
    were asked. Claimed: a second send of the same campaign fails."""
    if actor is not None:
        _require_manager(actor)
    session = db.session
    now = utcnow()
    # By hand: a draft or a scheduled campaign. The tick: only one still scheduled and due, as
    # it listed it; a schedule cancelled or moved meanwhile is not sent. The row is held
    # (PostgreSQL) from this check to the claim, so a reschedule cannot slip in between.
    if actor is None:
        sendable = [NpsCampaign.status == CampaignStatus.scheduled, NpsCampaign.send_at <= now]
    else:
        sendable = [NpsCampaign.status.in_(NOT_SENT)]
    still = session.scalar(
        select(NpsCampaign.id).where(NpsCampaign.id == campaign.id, *sendable).with_for_update()
    )
    session.refresh(campaign)
    audience = audience_of(campaign) if still is not None else []
    sent = still is not None and transition(
        campaign,
        CampaignStatus.sent,
        actor=actor,
        at=now,
        data={"recipients": len(audience)},
        claim=True,
    )
    if not sent:
        session.refresh(campaign)
        if campaign.status in NOT_SENT:
            raise InvalidTransition(_("This campaign's schedule changed: it was not sent."))
        raise InvalidTransition(_("This campaign was already sent."))
    # The recipients' rows are in their organisations: vendor staff write there, as does the
    # tick (a job sees every organisation).
    for person in audience:
        recipient = SurveyRecipient(
            org_id=person.org_id,
            campaign_id=campaign.id,
            user_id=person.id,
            email=person.email,
            org_kind=person.org_kind,
            org_tier=person.org_tier,
            sent_at=now,
        )
        session.add(recipient)
        session.flush()
        _email_link(recipient, person, reminder=False)
    return len(audience)


def unschedule_campaign(campaign: NpsCampaign, *, actor: Principal) -> None:
    """Cancel the schedule: the campaign goes back to draft, to be edited, rescheduled or sent
    by hand. Claimed, as the tick may be sending it at that moment."""
    _require_manager(actor)
    _claim(
        campaign,
        CampaignStatus.draft,
        {
            CampaignStatus.draft: _("This campaign is not scheduled."),
            CampaignStatus.sent: _("This campaign was sent already: close it instead."),
            CampaignStatus.closed: _("This campaign is closed."),
        },
        actor=actor,
        event="nps_campaign.unscheduled",
        changes={"send_at": None},
        data={"cancelled_send_at": campaign.send_at},
    )


def close_campaign(campaign: NpsCampaign, *, actor: Principal) -> None:
    """Close a sent campaign: its links answer "closed" (``open_link``), the reminder tick skips
    it, its results stay. Claimed (two clicks, or the tick reminding)."""
    _require_manager(actor)
    _claim(
        campaign,
        CampaignStatus.closed,
        {
            CampaignStatus.draft: _("A draft was never sent: there is nothing to close."),
            CampaignStatus.scheduled: _(
                "This campaign is not sent yet: cancel its schedule instead."
            ),
            CampaignStatus.closed: _("This campaign is already closed."),
        },
        actor=actor,
    )


def _claim(campaign: NpsCampaign, to: CampaignStatus, refusals: dict, **move) -> None:
    """Move ``campaign`` to ``to`` only if it is still in the status it was read in; otherwise
    raise InvalidTransition with the refusal for the status it is in (read again: another
    request or the tick may have moved it meanwhile)."""
    session = db.session
    session.refresh(campaign)
    if campaign.status not in refusals and transition(campaign, to, claim=True, **move):
        return
    session.refresh(campaign)
    raise InvalidTransition(
        refusals.get(campaign.status, _("This campaign changed meanwhile: try again."))
    )


@dataclass(frozen=True)
class AudienceMember:
    """One person a campaign asks, as plain values (read past the wall)."""

    id: int
    org_id: int
    email: str
    name: str
    org_kind: str
    org_tier: str
    active: bool = True


def audience_of(campaign: NpsCampaign) -> list[AudienceMember]:
    """The active users of the active organisations the campaign asks (a segment's, as it is
    now)."""
    rule = [Organization.active.is_(True), Organization.kind != access.VENDOR]
    if campaign.audience_segment_id is not None:
        criteria = segments.criteria_of(campaign.audience_segment_id)
        rule.append(
            Organization.id.in_(segments.member_ids(criteria)) if criteria is not None else false()
        )
    elif campaign.audience_org_ids:
        rule.append(Organization.id.in_(campaign.audience_org_ids))
    else:
        kinds = []
        if "customer" in campaign.audience_kinds:
            kinds.append(Organization.kind == access.CUSTOMER)
        if "partner" in campaign.audience_kinds:
            partner = Organization.kind.in_(access.PARTNER_KINDS)
            if campaign.audience_tiers:
                partner = partner & Organization.tier.in_(campaign.audience_tiers)
            kinds.append(partner)
        rule.append(or_(*kinds))
    with read_across() as reader:
        rows = reader.execute(
            select(
                User.id, User.org_id, User.email, User.name, Organization.kind, Organization.tier
            )
            .join(Organization, User.org_id == Organization.id)
            .where(User.active.is_(True), *rule)
            .order_by(User.id)
        ).all()
    return [
        AudienceMember(id, org_id, email, name, kind, tier or "")
        for id, org_id, email, name, kind, tier in rows
    ]


def _email_link(recipient, user, *, reminder: bool) -> None:
    if not user.active or not notify.email_enabled(user, "feedback.survey"):
        return
    url = notify.absolute_url(survey_link(recipient))
    days = links.lifetime_seconds() // 86400
    with i18n.writing_to(user):  # each person's language, whoever sends the campaign
        subject = (
            _("Reminder: how likely are you to recommend us?")
            if reminder
            else _("How likely are you to recommend us?")
        )
        body = _(
            "Hello %(name)s,\n\nOn a scale from 0 to 10, how likely are you to recommend us to a "
            "friend or colleague, and what is the main reason for your score? It takes a minute, "
            "and you do not need to sign in:\n\n%(url)s\n\nThe link is yours alone and works for "
            "%(days)d days.",
            name=user.name,
            url=url,
            days=days,
        )
    notify.queue_email(
        org_id=user.org_id,
        user_id=user.id,
        to=user.email,
        subject=subject,
        body=body,
        kind="feedback.survey",
    )


# The ticks (registered in ``feedback.surveys.init_app``).


def send_due_campaigns() -> int:
    """Tick: send every scheduled campaign whose time has come (safe to run twice)."""
    session = db.session
    done = 0
    due = session.scalars(
        select(NpsCampaign).where(
            NpsCampaign.status == CampaignStatus.scheduled, NpsCampaign.send_at <= utcnow()
        )
    ).all()
    for campaign in due:
        try:
            with session.begin_nested():
                send_campaign(campaign, actor=None)
            done += 1
        except InvalidTransition:
            log.info("campaign %s was sent meanwhile", campaign.id)
    return done


def remind_recipients() -> int:
    """Tick: once per campaign, ``remind_after_days`` after sending, email a fresh link to every
    recipient who has not answered. The campaign's ``reminded_at`` is claimed first, so a second
    run sends nothing."""
    session = db.session
    now = utcnow()
    reminded = 0
    candidates = session.scalars(
        select(NpsCampaign).where(
            NpsCampaign.status == CampaignStatus.sent, NpsCampaign.reminded_at.is_(None)
        )
    ).all()
    for campaign in candidates:
        if campaign.sent_at + timedelta(days=campaign.remind_after_days) > now:
            continue
        claimed = session.execute(
            update(NpsCampaign)
            .where(
                NpsCampaign.id == campaign.id,
                NpsCampaign.reminded_at.is_(None),
                NpsCampaign.status == CampaignStatus.sent,  # not one closed since it was read
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            continue
        answered = select(SurveyResponse.recipient_id).where(
            SurveyResponse.campaign_id == campaign.id
        )
        waiting = session.scalars(
            select(SurveyRecipient).where(
                SurveyRecipient.campaign_id == campaign.id,
                SurveyRecipient.reminded_at.is_(None),
                SurveyRecipient.id.not_in(answered),
            )
        ).all()
        for recipient in waiting:
            recipient.reminded_at = now
            _email_link(recipient, recipient.user, reminder=True)
            reminded += 1
        audit.record("nps_campaign.reminded", campaign, actor=None, after={"reminded": reminded})
    return reminded
