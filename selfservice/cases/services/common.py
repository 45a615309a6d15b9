"""What every use case of cases stands on: statuses and their labels, the SLA policy of a case
and its clocks (stored due times, breaches, queue rank), the one way a case moves
(``move_case``), who is a support agent, support teams, and whom to tell."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from portal import access, audit, people
from portal.clock import utcnow
from portal.db import db, read_across
from portal.errors import Forbidden, InvalidInput
from portal.identity.models import Organization, User
from portal.notify import services as notify
from portal.people import Person
from portal.tenancy import Principal
from portal.text import clean_text
from portal.workflow import announce, transition
from selfservice.cases import sla
from selfservice.cases.models import (
    AUDIT_FIELDS,
    QUEUE_BUCKET,
    QUEUE_RANK_NONE,
    RESOLVED_STATUSES,
    STATUS_LABELS,
    TARGETS,
    Case,
    CaseReplyWait,
    CaseStatus,
    CaseStatusChange,
    CaseWatcher,
    SlaPolicy,
    SupportTeam,
    SupportTeamMember,
)

__all__ = ["AUDIT_FIELDS", "STATUS_LABELS"]
log = logging.getLogger(__name__)

# The action that makes someone a support agent: who works cases and hears of them.
AGENT_ACTION = "cases.work"
EDITABLE_FIELDS = ["priority", "product_line", "product_id", "category", "assignee_id", "team_id"]
STATUS_FIELDS = ["status"]  # what the status forms show (their snapshot)
MAX_SUBJECT, MAX_BODY = 200, 20_000


def case_link(case_id: int) -> notify.Link:
    """Where a notification about a case points (requests and ticks alike)."""
    return notify.link("cases.detail", case_id=case_id)


# SLA policies and clocks.


def _tiers_of(org: Organization) -> set[str]:
    tiers = {org.tier} if org.tier else set()
    if org.managed_by_id:
        with read_across() as reader:  # the managing partner's tier decides, whoever asks
            partner_tier = reader.scalar(
                select(Organization.tier).where(Organization.id == org.managed_by_id)
            )
        if partner_tier:
            tiers.add(partner_tier)
    return tiers


def choose_policy(
    org: Organization, priority: str, products: Collection[str] = ()
) -> SlaPolicy | None:
    """The first active policy (by position) whose every set condition matches. ``products``:
    what the case's product may be called, lower case (``products.product_terms``): a policy's
    product condition matches a line's code, a catalogue product's SKU or name, or the words."""
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
        if policy.product and policy.product.strip().lower() not in products:
            continue
        return policy
    return None


def status_history(case: Case) -> list[tuple[str, datetime]]:
    """(status, since) of the case, oldest first: the SLA clocks' input. Read past the wall as
    plain values: whoever sees the case (a watcher, a tick) needs all of it."""
    db.session.flush()
    with read_across() as reader:
        return [
            (row.status, row.at)
            for row in reader.execute(
                select(CaseStatusChange.status, CaseStatusChange.at)
                .where(CaseStatusChange.case_id == case.id)
                .order_by(CaseStatusChange.at, CaseStatusChange.id)
            )
        ]


def last_wait(case: Case) -> CaseReplyWait | None:
    """The case's latest wait for an agent's next reply (open or answered), if any."""
    if case.id is None:
        return None
    return db.session.scalar(
        select(CaseReplyWait)
        .where(CaseReplyWait.case_id == case.id)
        .order_by(CaseReplyWait.id.desc())
        .limit(1)
    )


def wait_clock(
    case: Case, wait: CaseReplyWait, now: datetime, history: list | None = None
) -> sla.TargetClock:
    """The next-response clock of one wait at ``now``: from the customer's comment that
    started it to the agent's reply that ended it, in the case's statuses meanwhile."""
    policy = case.sla_policy
    history = status_history(case) if history is None else history
    return sla.clock(
        "next_response",
        policy.hours("next_response"),
        policy.pauses("next_response"),
        sla.history_from(history, wait.started_at),
        stopped_at=wait.answered_at,
        now=now,
        calendar=sla.calendar_for(policy, current_app.config),
        breached_before=wait.breached,
    )


def _clocks(case: Case, now: datetime | None) -> tuple[dict, CaseReplyWait | None]:
    """Each target's clock at ``now``, and the wait the next-response clock is of."""
    policy = case.sla_policy
    if policy is None:
        return {}, None
    now = now or utcnow()
    calendar = sla.calendar_for(policy, current_app.config)
    history = status_history(case)
    wait = last_wait(case) if policy.sets("next_response") else None
    stops = {"first_response": case.first_responded_at, "resolution": case.solved_at}
    found = {}
    for target in TARGETS:
        if target == "next_response":
            if wait is not None:
                found[target] = wait_clock(case, wait, now, history)
            continue
        found[target] = sla.clock(
            target,
            policy.hours(target),
            policy.pauses(target),
            history,
            stopped_at=stops[target],
            now=now,
            calendar=calendar,
            breached_before=getattr(case, f"{target}_breached"),
        )
    return found, wait


def clocks(case: Case, now: datetime | None = None) -> dict:
    """Each target's clock at ``now``: {target: TargetClock}; empty without a policy. Next
    response is the latest wait's (met or breached once answered), absent before any wait."""
    return _clocks(case, now)[0]


def refresh_sla(case: Case, now: datetime | None = None) -> list:
    """Store each target's due time and breach (breaches are never undone). Returns the targets
    that breached just now. A due time that moves (reopened, paused and resumed, a new priority
    or product) clears the target's warning, so the new deadline is warned of too. The
    next-response columns of the case follow the wait now open (cleared when none is), and the
    wait keeps its own due time and breach for the figures."""
    newly = []
    states, wait = _clocks(case, now)
    if wait is None or wait.answered_at is not None:
        states.pop("next_response", None)
        case.next_response_due_at, case.next_response_breached = None, False
    for target, state in states.items():
        if state.breached and not getattr(case, f"{target}_breached"):
            setattr(case, f"{target}_breached", True)
            newly.append(target)
        if not state.breached:
            if getattr(case, f"{target}_due_at") != state.due_at:
                setattr(case, f"{target}_warned", False)
            setattr(case, f"{target}_due_at", state.due_at)
    if "next_response" in states:
        wait.due_at, wait.breached = case.next_response_due_at, case.next_response_breached
    case.queue_rank = queue_rank(case)
    return newly


def await_reply(case: Case, now: datetime) -> None:
    """A public comment of the customer's side: if an agent has answered the case and no reply
    is awaited yet, a wait for the agent's next reply starts now (when the case's policy sets a
    next-response target). The caller refreshes the clocks after."""
    policy = case.sla_policy
    if case.first_responded_at is None or policy is None or not policy.sets("next_response"):
        return
    wait = last_wait(case)
    if wait is not None and wait.answered_at is None:
        return  # a reply is awaited already: its clock runs from the first comment
    db.session.add(CaseReplyWait(org_id=case.org_id, case_id=case.id, started_at=now))
    case.next_response_breached = case.next_response_warned = False
    db.session.flush()


def answer_wait(case: Case, now: datetime) -> None:
    """An agent's public reply ends the wait now open, if any (met, unless its clock ran out
    first: a breach before the reply stays a breach)."""
    wait = last_wait(case)
    if wait is None or wait.answered_at is not None:
        return
    refresh_sla(case, now)
    wait.answered_at = now
    case.next_response_due_at, case.next_response_breached = None, False
    case.next_response_warned = False


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
    if any(getattr(case, f"{t}_breached") for t in TARGETS):
        return due
    return (QUEUE_BUCKET + due) if running else QUEUE_RANK_NONE


def move_case(
    case: Case,
    to: str,
    *,
    actor: Principal | None,
    at: datetime,
    event: str = "case.status_changed",
    data: dict | None = None,
) -> None:
    """Move ``case`` to ``to`` at ``at`` through ``portal.workflow.transition`` (audited as
    ``event``), keeping the SLA clocks' inputs: the clocks run up to the move, the status
    history gets its row, and the due times are stored again after it. A case solved is told to
    other packages (``case.solved``). Raises InvalidTransition for a move the table refuses."""
    previous = case.status
    refresh_sla(case, at)  # whatever ran until now counts before the clocks' inputs change
    changes: dict = {"status_changed_at": at}
    if to == CaseStatus.closed:
        changes["solved_at"] = case.solved_at or at
    elif to != CaseStatus.solved and previous in RESOLVED_STATUSES:
        changes["solved_at"] = None  # reopened: the resolution clock runs on
    transition(case, to, actor=actor, at=at, event=event, changes=changes, data=data)
    db.session.add(CaseStatusChange(org_id=case.org_id, case_id=case.id, status=to, at=at))
    db.session.flush()
    refresh_sla(case, at)
    if to == CaseStatus.solved:
        publish_solved(case, at, actor=actor)


def publish_solved(case: Case, now: datetime, *, actor: Principal | None = None) -> None:
    """Tell other packages (the CSAT survey of ``feedback``) through ``portal.events`` that
    ``case`` was solved at ``now``. Announced apart from the move's own event: the move is
    audited under the names the history shows (``case.status_changed``, ``case.merged``), and
    ``at`` is the solving time itself (the demo's cases were solved in the past)."""
    team_name = ""
    if case.team_id:
        with read_across() as reader:  # the team's name, also when a customer solves its case
            team_name = (
                reader.scalar(select(SupportTeam.name).where(SupportTeam.id == case.team_id)) or ""
            )
    announce(
        "case.solved", case, actor=actor, at=now,
        data={
            "number": case.number, "subject": case.subject,
            "requester_id": case.requester_id, "agent_id": case.assignee_id,
            "team_id": case.team_id, "team_name": team_name,
            # The product as feedback names products (a line's code), else the words.
            "product": case.product_line or case.product or "",
            "product_line": case.product_line, "product_id": case.product_id,
            "merged": case.merged_into_id is not None,
        },
    )  # fmt: skip


def case_summary(*, case_id: int | None = None, number: str | None = None) -> dict | None:
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


def team_lead(*, case_id: int) -> int | None:
    """The user id of the lead of the case's support team, if the team has one who is still an
    active agent (asked when a low satisfaction rating comes in)."""
    with read_across() as reader:  # asked from a survey link, which has no principal
        lead_id = reader.scalar(
            select(SupportTeam.lead_id)
            .join(Case, Case.team_id == SupportTeam.id)
            .where(Case.id == case_id)
        )
    if lead_id is None or lead_id not in {agent.id for agent in agents()}:
        return None
    return lead_id


# Who is who.


def is_agent(actor: Principal) -> bool:
    return actor.is_vendor_staff and actor.can(AGENT_ACTION)


def require_participant(case: Case, actor: Principal) -> None:
    """Agents work every case; others act only on their own organisation's cases (a partner
    follows its customers' cases read only)."""
    if is_agent(actor):
        return
    if not actor.can("cases.open") or case.org_id != actor.org_id:
        raise Forbidden(_("You can follow this case, but not change it."))


def agents(team_id: int | None = None) -> list[Person]:
    """Active support agents (of one team, if given), by id."""
    found = people.vendor_staff_who_may(AGENT_ACTION)
    if not team_id:
        return found
    with read_across() as reader:  # a team's members, also for a tick or a survey link
        members = set(
            reader.scalars(
                select(SupportTeamMember.user_id).where(SupportTeamMember.team_id == team_id)
            )
        )
    return [agent for agent in found if agent.id in members]


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


# Whom to tell.


def customer_side(case: Case) -> list[Person]:
    """The requester and watchers (never vendor staff): who hears of public replies."""
    with read_across() as reader:  # the case's people, told of a vendor's reply
        watchers = set(
            reader.scalars(select(CaseWatcher.user_id).where(CaseWatcher.case_id == case.id))
        )
        ids = list(
            reader.scalars(
                select(User.id)
                .join(Organization, Organization.id == User.org_id)
                .where(
                    User.id.in_(({case.requester_id} | watchers) - {None}),
                    Organization.kind != access.VENDOR,
                )
            )
        )
    return people.people(ids)


def agents_to_tell(case: Case) -> list[Person]:
    """The case's assignee if active, else every agent."""
    assignee = people.person(case.assignee_id)
    return [assignee] if assignee is not None else agents()


def tell_of(recipients, case: Case, kind: str, title: str, body: str = "", *, but=None) -> None:
    """Notify ``recipients`` (people) of ``case``, leaving out the one who caused it (``but``,
    a user id)."""
    notify.notify(
        [p for p in recipients if but is None or p.id != but],
        kind,
        title,
        body=body,
        link=case_link(case.id),
    )
