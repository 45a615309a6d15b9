"""Use cases of NPS campaigns (their links are answered in ``answers``). Writers only flush; the
caller commits.

A campaign: draft -> scheduled (send at a time; the tick sends it) -> sent; or draft -> sent at
once; a scheduled campaign may go back to draft (its schedule cancelled) until the tick sends it.
A sent campaign is closed by hand: its links then say so, no reminder goes out, its results
stay. Sending writes one recipient row per active user of the audience's organisations and
emails each a signed link (``feedback.links``). One reminder goes to those who have not answered,
``remind_after_days`` after sending. Every step that the tick may run twice claims its row with a
conditional UPDATE first, so a second run (or a concurrent one) does nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from feedback import links
from feedback.surveys.answers import survey_path
from feedback.surveys.models import AUDIENCE_KINDS, NpsCampaign, SurveyRecipient, SurveyResponse
from portal import access, audit, jobs
from portal.clock import utcnow
from portal.db import db, unscoped
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import TIERS, Organization, User
from portal.notify import register_kind
from portal.notify import services as notify
from portal.product_lines import PRODUCT_LINES
from portal.tenancy import Principal

log = logging.getLogger(__name__)

register_kind("feedback.survey", _l("Surveys about our products and service"))

AUDIT_FIELDS = ["name", "product", "audience_kinds", "audience_tiers", "audience_org_ids"]


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
    if any(t not in TIERS for t in tiers):
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
    if not kinds and not org_ids:
        raise InvalidInput(
            _("Choose who is asked: customers, partners, or a list of organisations."),
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
        "remind_after_days": int(days),
    }


def create_campaign(fields: dict, *, actor: Principal) -> NpsCampaign:
    """Vendor staff create a draft campaign; ``fields``: name, product, audience_kinds
    (customer, partner), audience_tiers (partners of these tiers only; empty: all),
    audience_org_ids (these organisations only, instead of kinds), remind_after_days."""
    _require_manager(actor)
    campaign = NpsCampaign(
        org_id=actor.org_id, status="draft", created_by_id=actor.user_id, **_clean(fields)
    )
    db.session.add(campaign)
    db.session.flush()
    audit.record(
        "nps_campaign.created", campaign, actor=actor, after=audit.snapshot(campaign, AUDIT_FIELDS)
    )
    return campaign


def schedule_campaign(campaign: NpsCampaign, send_at: datetime, *, actor: Principal) -> None:
    """Send the campaign at ``send_at`` (aware, in the future); the tick sends it."""
    _require_manager(actor)
    if campaign.status not in ("draft", "scheduled"):
        raise InvalidTransition(_("Only a campaign not sent yet can be scheduled."))
    if send_at.tzinfo is None or send_at <= utcnow():
        raise InvalidInput(_("Choose a time in the future."), field="send_at")
    campaign.status = "scheduled"
    campaign.send_at = send_at
    audit.record(
        "nps_campaign.scheduled", campaign, actor=actor, after={"send_at": send_at.isoformat()}
    )


def send_campaign(campaign: NpsCampaign, *, actor: Principal | None) -> int:
    """Send now (vendor staff) or when due (the tick, ``actor`` None). Returns how many people
    were asked. Claimed with a conditional UPDATE: a second send of the same campaign fails."""
    if actor is not None:
        _require_manager(actor)
    session = db.session
    now = utcnow()
    # By hand: a draft or a scheduled campaign. The tick: only one still scheduled and due, as
    # it listed it; a schedule cancelled or moved meanwhile is not sent.
    if actor is None:
        sendable = [NpsCampaign.status == "scheduled", NpsCampaign.send_at <= now]
    else:
        sendable = [NpsCampaign.status.in_(("draft", "scheduled"))]
    claimed = session.execute(
        update(NpsCampaign)
        .where(NpsCampaign.id == campaign.id, *sendable)
        .values(status="sent", sent_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(campaign)
        if campaign.status in ("draft", "scheduled"):
            raise InvalidTransition(_("This campaign's schedule changed: it was not sent."))
        raise InvalidTransition(_("This campaign was already sent."))
    session.refresh(campaign)
    count = 0
    with unscoped(session):  # the recipients' rows, in their organisations
        for user in audience_of(campaign):
            recipient = SurveyRecipient(
                org_id=user.org_id,
                campaign_id=campaign.id,
                user_id=user.id,
                email=user.email,
                org_kind=user.org.kind,
                org_tier=user.org.tier or "",
                sent_at=now,
            )
            session.add(recipient)
            session.flush()
            _email_link(campaign, recipient, user, reminder=False)
            count += 1
    audit.record("nps_campaign.sent", campaign, actor=actor, after={"recipients": count})
    return count


def unschedule_campaign(campaign: NpsCampaign, *, actor: Principal) -> None:
    """Cancel the schedule: the campaign goes back to draft, to be edited, rescheduled or sent
    by hand. Claimed with a conditional UPDATE, as the tick may be sending it at that moment."""
    _require_manager(actor)
    send_at = campaign.send_at
    _claim(
        campaign,
        "scheduled",
        {"status": "draft", "send_at": None},
        {
            "draft": _("This campaign is not scheduled."),
            "sent": _("This campaign was sent already: close it instead."),
            "closed": _("This campaign is closed."),
        },
    )
    audit.record(
        "nps_campaign.unscheduled",
        campaign,
        actor=actor,
        before={"status": "scheduled", "send_at": send_at.isoformat() if send_at else None},
        after={"status": "draft"},
    )


def close_campaign(campaign: NpsCampaign, *, actor: Principal) -> None:
    """Close a sent campaign: its links answer "closed" (``open_link``), the reminder tick skips
    it, its results stay. Claimed with a conditional UPDATE (two clicks, or the tick reminding)."""
    _require_manager(actor)
    _claim(
        campaign,
        "sent",
        {"status": "closed"},
        {
            "draft": _("A draft was never sent: there is nothing to close."),
            "scheduled": _("This campaign is not sent yet: cancel its schedule instead."),
            "closed": _("This campaign is already closed."),
        },
    )
    audit.record(
        "nps_campaign.closed", campaign, actor=actor,
        before={"status": "sent"}, after={"status": "closed"},
    )  # fmt: skip


def _claim(campaign: NpsCampaign, status: str, values: dict, refusals: dict) -> None:
    """Move ``campaign`` from ``status`` with ``values``, only if it is still there; otherwise
    raise InvalidTransition with the refusal for the status it is in (read again: another
    request or the tick may have moved it meanwhile)."""
    session = db.session
    claimed = session.execute(
        update(NpsCampaign)
        .where(NpsCampaign.id == campaign.id, NpsCampaign.status == status)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(campaign)
    if claimed != 1:
        raise InvalidTransition(refusals[campaign.status])


def audience_of(campaign: NpsCampaign) -> list[User]:
    """The active users of the active organisations the campaign asks."""
    rule = [Organization.active.is_(True), Organization.kind != access.VENDOR]
    if campaign.audience_org_ids:
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
    with unscoped():
        return list(
            db.session.scalars(
                select(User)
                .join(Organization, User.org_id == Organization.id)
                .where(User.active.is_(True), *rule)
                .order_by(User.id)
            )
        )


def _email_link(campaign, recipient, user, *, reminder: bool) -> None:
    if not user.active or not notify.email_enabled(user, "feedback.survey"):
        return
    url = notify.absolute_url(survey_path(campaign.id, recipient.id))
    days = links.lifetime_seconds() // 86400
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


# The tick.


@jobs.periodic("send_due_nps_campaigns")
def send_due_campaigns(session: Session) -> int:
    """Tick: send every scheduled campaign whose time has come (safe to run twice)."""
    done = 0
    with jobs.system_session(session):
        due = session.scalars(
            select(NpsCampaign).where(
                NpsCampaign.status == "scheduled", NpsCampaign.send_at <= utcnow()
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


@jobs.periodic("remind_nps_recipients")
def remind_recipients(session: Session) -> int:
    """Tick: once per campaign, ``remind_after_days`` after sending, email a fresh link to every
    recipient who has not answered. The campaign's ``reminded_at`` is claimed first, so a second
    run sends nothing."""
    now = utcnow()
    reminded = 0
    with jobs.system_session(session):
        candidates = session.scalars(
            select(NpsCampaign).where(
                NpsCampaign.status == "sent", NpsCampaign.reminded_at.is_(None)
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
                    NpsCampaign.status == "sent",  # not one closed since it was read
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
                _email_link(campaign, recipient, recipient.user, reminder=True)
                reminded += 1
            audit.record(
                "nps_campaign.reminded", campaign, actor=None, after={"reminded": reminded}
            )
    return reminded
