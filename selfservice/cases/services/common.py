"""What every use case of cases stands on: statuses and their labels, notification kinds, the
SLA policy of a case and its clocks (stored due times, breaches, queue rank), status changes,
who is a support agent, support teams, and whom to tell."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import access, audit, events
from portal.clock import utcnow
from portal.db import db, unscoped
from portal.errors import Forbidden, InvalidInput
from portal.identity.models import Organization, User
from portal.notify import register_kind
from portal.tenancy import Principal
from portal.text import clean_text
from selfservice.cases import sla
from selfservice.cases.models import (
    QUEUE_BUCKET,
    QUEUE_RANK_NONE,
    RESOLVED_STATUSES,
    TARGETS,
    Case,
    CaseStatusChange,
    CaseWatcher,
    SlaPolicy,
    SupportTeam,
    SupportTeamMember,
)

log = logging.getLogger(__name__)

register_kind("cases.new", _l("New cases for support"))
register_kind("cases.opened", _l("Confirmation of the cases I raise"))
register_kind("cases.reply", _l("Replies on my cases"))
register_kind("cases.status", _l("Status changes of my cases"))
register_kind("cases.assigned", _l("Cases assigned to me"))
register_kind("cases.sla", _l("SLA warnings and breaches"))

EDITABLE_FIELDS = ["priority", "product", "category", "assignee_id", "team_id"]
STATUS_FIELDS = ["status"]  # what the status forms show (their snapshot)
AUDIT_FIELDS = [
    "status", "priority", "product", "category", "assignee_id", "team_id", "sla_policy_id",
]  # fmt: skip
AGENT_ROLES = ("support_agent", "vendor_admin")
STATUS_LABELS = {
    "new": _l("New"),
    "open": _l("Open"),
    "pending": _l("Pending"),
    "on_hold": _l("On hold"),
    "solved": _l("Solved"),
    "closed": _l("Closed"),
}
MAX_SUBJECT, MAX_BODY = 200, 20_000


def case_path(case_id: int) -> str:
    # Built by hand: notifications are also written by tick, outside any request.
    return f"/cases/{case_id}"


# SLA policies and clocks.


def _tiers_of(org: Organization) -> set[str]:
    tiers = {org.tier} if org.tier else set()
    if org.managed_by_id:
        with unscoped():  # the managing partner's tier decides, whoever asks (reviewed)
            partner = db.session.get(Organization, org.managed_by_id)
        if partner is not None and partner.tier:
            tiers.add(partner.tier)
    return tiers


def choose_policy(org: Organization, priority: str, product: str) -> SlaPolicy | None:
    """The first active policy (by position) whose every set condition matches."""
    tiers = _tiers_of(org)
    for policy in db.session.scalars(
        select(SlaPolicy)
        .where(SlaPolicy.active.is_(True))
        .order_by(SlaPolicy.position, SlaPolicy.id)
    ):
        if policy.priority and policy.priority != priority:
            continue
        if policy.tier and policy.tier not in tiers:
            continue
        if policy.product and policy.product.lower() != (product or "").lower():
            continue
        return policy
    return None


def status_history(case: Case, session: Session | None = None) -> list[tuple[str, datetime]]:
    session = session or db.session
    with unscoped(session):  # the case is visible; its history is the clock's input (reviewed)
        return [
            (row.status, row.at)
            for row in session.execute(
                select(CaseStatusChange.status, CaseStatusChange.at)
                .where(CaseStatusChange.case_id == case.id)
                .order_by(CaseStatusChange.at, CaseStatusChange.id)
            )
        ]


def clocks(case: Case, now: datetime | None = None, session: Session | None = None) -> dict:
    """Each target's clock at ``now``: {target: TargetClock}; empty without a policy."""
    policy = case.sla_policy
    if policy is None:
        return {}
    now = now or utcnow()
    calendar = sla.calendar_for(policy, current_app.config)
    history = status_history(case, session)
    stops = {"first_response": case.first_responded_at, "resolution": case.solved_at}
    return {
        target: sla.clock(
            target,
            policy.hours(target),
            policy.pauses(target),
            history,
            stopped_at=stops[target],
            now=now,
            calendar=calendar,
            breached_before=getattr(case, f"{target}_breached"),
        )
        for target in TARGETS
    }


def refresh_sla(case: Case, now: datetime | None = None, session: Session | None = None) -> list:
    """Store each target's due time and breach (breaches are never undone). Returns the targets
    that breached just now. A due time that moves (reopened, paused and resumed, a new priority
    or product) clears the target's warning, so the new deadline is warned of too."""
    newly = []
    for target, state in clocks(case, now, session).items():
        if state.breached and not getattr(case, f"{target}_breached"):
            setattr(case, f"{target}_breached", True)
            newly.append(target)
        if not state.breached:
            if getattr(case, f"{target}_due_at") != state.due_at:
                setattr(case, f"{target}_warned", False)
            setattr(case, f"{target}_due_at", state.due_at)
    case.queue_rank = queue_rank(case)
    return newly


def queue_rank(case: Case) -> int:
    """One sortable number for the agents' queue: breached cases first, then running clocks by
    their next deadline, then paused ones; resolved cases last."""
    if case.status in RESOLVED_STATUSES:
        return 3 * QUEUE_BUCKET
    running = [
        getattr(case, f"{t}_due_at")
        for t in TARGETS
        if getattr(case, f"{t}_due_at") is not None and not getattr(case, f"{t}_breached")
    ]
    due = int(min(running).timestamp()) if running else 0
    if case.first_response_breached or case.resolution_breached:
        return due
    return (QUEUE_BUCKET + due) if running else QUEUE_RANK_NONE


def _set_status(case: Case, status: str, now: datetime) -> None:
    previous = case.status
    # Whatever ran until now counts before the clocks' inputs change.
    session = db.session
    refresh_sla(case, now)
    case.status = status
    case.status_changed_at = now
    if status == "solved":
        case.solved_at = now
    elif status == "closed":
        case.closed_at = now
        case.solved_at = case.solved_at or now
    elif previous in RESOLVED_STATUSES:
        case.solved_at = None  # reopened: the resolution clock runs on
    session.add(CaseStatusChange(org_id=case.org_id, case_id=case.id, status=status, at=now))
    session.flush()
    refresh_sla(case, now)
    if status == "solved" and previous != "solved":
        publish_solved(case, now)


def publish_solved(case: Case, now: datetime) -> None:
    """Tell other packages (the CSAT survey of ``feedback``) through ``portal.events`` that
    ``case`` was solved at ``now``."""
    team = None
    if case.team_id:
        with unscoped():  # the team's name, also when a customer marks its case solved (reviewed)
            team = db.session.get(SupportTeam, case.team_id)
    events.publish(
        "case.solved",
        case_id=case.id, org_id=case.org_id, number=case.number, subject=case.subject,
        requester_id=case.requester_id, agent_id=case.assignee_id, team_id=case.team_id,
        team_name=team.name if team else "", product=case.product or "", solved_at=now,
        merged=case.merged_into_id is not None,
    )  # fmt: skip


@events.provide("case.summary")
def _case_summary(*, case_id: int | None = None, number: str | None = None) -> dict | None:
    """A case the current principal may see, by id or number, as plain values (None if none)."""
    if case_id is not None:
        case = db.session.get(Case, case_id)
    else:
        case = db.session.scalar(select(Case).where(Case.number == (number or "").strip()))
    if case is None:
        return None
    return {
        "id": case.id, "number": case.number, "subject": case.subject, "org_id": case.org_id,
        "requester_id": case.requester_id,
    }  # fmt: skip


@events.provide("case.team_lead")
def _team_lead(*, case_id: int) -> int | None:
    """The user id of the lead of the case's support team, if the team has one who is still an
    active agent (asked when a low satisfaction rating comes in)."""
    with unscoped():  # asked from a survey link, which has no principal (reviewed)
        lead_id = db.session.scalar(
            select(SupportTeam.lead_id)
            .join(Case, Case.team_id == SupportTeam.id)
            .where(Case.id == case_id)
        )
    if lead_id is None or lead_id not in {agent.id for agent in agents()}:
        return None
    return lead_id


# Who is who.


def is_agent(actor: Principal) -> bool:
    return actor.is_vendor_staff and actor.can("cases.work")


def require_participant(case: Case, actor: Principal) -> None:
    """Agents work every case; others act only on their own organisation's cases (a partner
    follows its customers' cases read only)."""
    if is_agent(actor):
        return
    if not actor.can("cases.open") or case.org_id != actor.org_id:
        raise Forbidden(_("You can follow this case, but not change it."))


def agents(team_id: int | None = None) -> list[User]:
    """Active support agents (of one team, if given)."""
    stmt = (
        select(User)
        .join(Organization, User.org_id == Organization.id)
        .where(
            Organization.kind == access.VENDOR,
            User.active.is_(True),
            User.role.in_(AGENT_ROLES),
        )
        .order_by(User.id)
    )
    if team_id:
        stmt = stmt.join(SupportTeamMember, SupportTeamMember.user_id == User.id).where(
            SupportTeamMember.team_id == team_id
        )
    with unscoped():  # support agents are vendor staff, outside a customer's wall (reviewed)
        return list(db.session.scalars(stmt))


def teams() -> list[SupportTeam]:
    return list(db.session.scalars(select(SupportTeam).order_by(SupportTeam.name)))


def save_team(
    name: str, member_ids: list[int], *, lead_id: int | None = None, actor: Principal
) -> SupportTeam:
    """A vendor admin creates a support team or sets its members and lead (active agents; the
    lead need not work the team's cases, so need not be a member)."""
    if not (actor.is_vendor_staff and actor.can("support.manage")):
        raise Forbidden(_("Only vendor admins arrange support teams."))
    name = clean_text(name, 120)
    if len(name) < 2:
        raise InvalidInput(_("Name the team."), field="name")
    known = {u.id for u in agents()}
    if not set(member_ids) <= known:
        raise InvalidInput(_("Members must be active support agents."), field="members")
    if lead_id is not None and lead_id not in known:
        raise InvalidInput(_("The lead must be an active support agent."), field="lead_id")
    team = db.session.scalar(select(SupportTeam).where(SupportTeam.name == name))
    if team is None:
        team = SupportTeam(name=name)
        db.session.add(team)
    team.lead_id = lead_id
    db.session.flush()
    for member in db.session.scalars(
        select(SupportTeamMember).where(SupportTeamMember.team_id == team.id)
    ):
        db.session.delete(member)
    db.session.flush()
    for user_id in sorted(set(member_ids)):
        db.session.add(SupportTeamMember(team_id=team.id, user_id=user_id))
    db.session.flush()
    audit.record(
        "support_team.saved", team, actor=actor, org_id=actor.org_id,
        after={"name": name, "members": sorted(set(member_ids)), "lead": lead_id},
    )  # fmt: skip
    return team


def _customer_side(case: Case) -> list[User]:
    """The requester and watchers (never vendor staff): who hears of public replies."""
    with unscoped():  # the case's people, told of a vendor's reply (reviewed)
        ids = {case.requester_id} | set(
            db.session.scalars(select(CaseWatcher.user_id).where(CaseWatcher.case_id == case.id))
        )
        users = db.session.scalars(select(User).where(User.id.in_(ids - {None}))).all()
        return [u for u in users if u.org_kind != access.VENDOR]


def _agents_to_tell(case: Case) -> list[User]:
    if case.assignee_id:
        with unscoped():
            assignee = db.session.get(User, case.assignee_id)
        if assignee is not None and assignee.active:
            return [assignee]
    return agents()
