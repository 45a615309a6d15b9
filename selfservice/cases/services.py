"""Use cases of support cases. Writers only flush; the caller commits once.

Statuses: new, open (category open); pending, on_hold (paused); solved, closed (resolved). A
customer's public reply reopens a pending or solved case; solved cases close by themselves after
``CASES_AUTO_CLOSE_DAYS``. Every status change is kept (``CaseStatusChange``): the SLA clocks
are computed from that history (``selfservice.cases.sla``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import current_app, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal import access, audit, jobs
from portal.clock import utcnow
from portal.concurrency import check_unchanged
from portal.db import db, unscoped
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization, User
from portal.notify import register_kind
from portal.notify import services as notify
from portal.tenancy import Principal
from selfservice.cases import sla
from selfservice.cases.attachments import check_files
from selfservice.cases.models import (
    PRIORITIES,
    QUEUE_BUCKET,
    QUEUE_RANK_NONE,
    RESOLVED_STATUSES,
    STATUSES,
    TARGETS,
    Case,
    CaseAttachment,
    CaseComment,
    CaseSettings,
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


def clean_text(value, limit: int) -> str:
    return ("" if value is None else str(value)).replace("\x00", "").strip()[:limit]


@contextmanager
def system_session(session: Session) -> Iterator[Session]:
    """Let services that use ``db.session`` (notifications) write through a job's session."""
    previous = g.pop("db_session", None)
    g.db_session = session
    try:
        yield session
    finally:
        g.pop("db_session", None)
        if previous is not None:
            g.db_session = previous


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
    that breached just now."""
    newly = []
    for target, state in clocks(case, now, session).items():
        if state.breached and not getattr(case, f"{target}_breached"):
            setattr(case, f"{target}_breached", True)
            newly.append(target)
        if not state.breached:
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


def save_team(name: str, member_ids: list[int], *, actor: Principal) -> SupportTeam:
    """A vendor admin creates a support team or sets its members (active agents)."""
    if not (actor.is_vendor_staff and actor.can("support.manage")):
        raise Forbidden(_("Only vendor admins arrange support teams."))
    name = clean_text(name, 120)
    if len(name) < 2:
        raise InvalidInput(_("Name the team."), field="name")
    known = {u.id for u in agents()}
    if not set(member_ids) <= known:
        raise InvalidInput(_("Members must be active support agents."), field="members")
    team = db.session.scalar(select(SupportTeam).where(SupportTeam.name == name))
    if team is None:
        team = SupportTeam(name=name)
        db.session.add(team)
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
        after={"name": name, "members": sorted(set(member_ids))},
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


# Use cases.


def open_case(
    org: Organization, fields: dict, *, actor: Principal, requester: User | None = None
) -> Case:
    """Raise a case for ``org``: a customer or partner for its own organisation, vendor staff on
    someone's behalf (``requester`` of that organisation). Raises InvalidInput, Forbidden."""
    if not actor.can("cases.open") and not is_agent(actor):
        raise Forbidden(_("You may not open cases."))
    if not actor.is_vendor_staff and org.id != actor.org_id:
        raise Forbidden(_("Cases are opened for your own organisation."))
    if org.kind == access.VENDOR:
        raise InvalidInput(_("Open the case for a customer or partner."), field="org_id")
    subject = clean_text(fields.get("subject"), MAX_SUBJECT)
    if len(subject) < 3:
        raise InvalidInput(_("Give the case a subject of a few words."), field="subject")
    description = clean_text(fields.get("description"), MAX_BODY)
    if not description:
        raise InvalidInput(_("Describe the problem."), field="description")
    priority = fields.get("priority") or "normal"
    if priority not in PRIORITIES:
        raise InvalidInput(_("Choose a priority from the list."), field="priority")
    if requester is None and actor.user_id and not actor.is_vendor_staff:
        requester = db.session.get(User, actor.user_id)
    if requester is not None and requester.org_id != org.id:
        raise InvalidInput(_("The requester must belong to the organisation."), field="requester")
    now = utcnow()
    product = clean_text(fields.get("product"), 100)
    case = Case(
        org_id=org.id,
        number="pending",
        subject=subject,
        description=description,
        requester_id=requester.id if requester else None,
        opened_by_id=actor.user_id,
        product=product,
        category=clean_text(fields.get("category"), 100),
        priority=priority,
        status="new",
        created_at=now,
        updated_at=now,
        status_changed_at=now,
    )
    policy = choose_policy(org, priority, product)
    case.sla_policy_id = policy.id if policy else None
    db.session.add(case)
    db.session.flush()
    case.number = f"CS-{now.year}-{case.id:06d}"  # from the id: never reused
    db.session.add(CaseStatusChange(org_id=case.org_id, case_id=case.id, status="new", at=now))
    db.session.flush()
    refresh_sla(case, now)
    audit.record("case.opened", case, actor=actor, after=audit.snapshot(case, AUDIT_FIELDS))
    notify.notify(
        agents(),
        "cases.new",
        _("New case %(number)s: %(subject)s", number=case.number, subject=case.subject),
        body=_("From %(org)s, priority %(priority)s.", org=org.name, priority=_(priority)),
        link=case_path(case.id),
    )
    if requester is not None:
        notify.notify(
            [requester],
            "cases.opened",
            _("We received your case %(number)s: %(subject)s", number=case.number, subject=subject),
            body=_("Support replies on the case's page and by email."),
            link=case_path(case.id),
        )
    return case


def add_comment(
    case: Case,
    body: str,
    *,
    internal: bool = False,
    actor: Principal,
    status: str | None = None,
    files: list[tuple[str, bytes]] | None = None,
) -> CaseComment:
    """A public reply, or an internal note (agents only), with files (name, content) checked
    before anything is written. An agent's first public reply meets the first-response target;
    a customer's reply reopens a pending or solved case. An agent may set the status with the
    reply. Raises InvalidInput, InvalidTransition, Forbidden."""
    require_participant(case, actor)
    agent = is_agent(actor)
    if internal and not agent:
        raise Forbidden(_("Only support agents write internal notes."))
    text = clean_text(body, MAX_BODY)
    if not text:
        raise InvalidInput(_("Write a reply first."), field="body")
    if case.status == "closed":
        raise InvalidTransition(
            _("This case is closed. Open a new case and mention %(number)s.", number=case.number)
        )
    if case.merged_into_id:
        raise InvalidTransition(_("This case was merged into another; reply there."))
    checked = check_files(files or [])
    now = utcnow()
    comment = CaseComment(
        org_id=case.org_id,
        case_id=case.id,
        author_id=actor.user_id,
        body=text,
        internal=internal,
        by_agent=agent,
        created_at=now,
    )
    db.session.add(comment)
    case.updated_at = now
    if checked:
        db.session.flush()
        for f in checked:
            db.session.add(
                CaseAttachment(
                    org_id=case.org_id,
                    case_id=case.id,
                    comment_id=comment.id,
                    filename=f.filename,
                    content_type=f.content_type,
                    size=len(f.content),
                    sha256=f.sha256,
                    internal=internal,
                    uploaded_by_id=actor.user_id,
                    created_at=now,
                    content=f.content,
                )
            )
    if internal:
        db.session.flush()
        colleagues = [u for u in _agents_to_tell(case) if u.id != actor.user_id]
        notify.notify(
            colleagues,
            "cases.reply",
            _("Internal note on %(number)s", number=case.number),
            body=text,
            link=case_path(case.id),
        )
        return comment
    if agent:
        if case.first_responded_at is None:
            refresh_sla(case, now)  # a breach before this reply stays a breach
            case.first_responded_at = now
        target = status or ("open" if case.status == "new" else None)
        if target and target != case.status:
            _check_agent_status(case, target)
            _set_status(case, target, now)
        else:
            db.session.flush()
            refresh_sla(case, now)
        notify.notify(
            [u for u in _customer_side(case) if u.id != actor.user_id],
            "cases.reply",
            _("Reply on %(number)s: %(subject)s", number=case.number, subject=case.subject),
            body=text,
            link=case_path(case.id),
        )
    else:
        if case.status in ("pending", "solved"):
            _set_status(case, "open", now)
            audit.record("case.reopened", case, actor=actor, after={"status": "open"})
        else:
            db.session.flush()
        notify.notify(
            _agents_to_tell(case),
            "cases.reply",
            _(
                "Customer reply on %(number)s: %(subject)s",
                number=case.number,
                subject=case.subject,
            ),
            body=text,
            link=case_path(case.id),
        )
    return comment


def _check_agent_status(case: Case, status: str) -> None:
    if status not in STATUSES or status == "new":
        raise InvalidInput(_("Choose a status from the list."), field="status")
    if case.status == "closed":
        raise InvalidTransition(_("A closed case stays closed."))
    if status == "closed" and case.status != "solved":
        raise InvalidTransition(_("Only a solved case can be closed."))


def change_status(case: Case, status: str, *, actor: Principal) -> None:
    """Agents move a case between statuses; a customer may mark its own case solved."""
    require_participant(case, actor)
    if status == case.status:
        return
    if is_agent(actor):
        _check_agent_status(case, status)
    elif status != "solved" or case.status in RESOLVED_STATUSES:
        raise Forbidden(_("You can mark your case solved; support changes its other states."))
    before = audit.snapshot(case, AUDIT_FIELDS)
    now = utcnow()
    _set_status(case, status, now)
    case.updated_at = now
    audit.record(
        "case.status_changed",
        case,
        actor=actor,
        before=before,
        after=audit.snapshot(case, AUDIT_FIELDS),
    )
    _tell_status(case, actor)


def _tell_status(case: Case, actor: Principal | None) -> None:
    people = _customer_side(case) if actor is None or is_agent(actor) else _agents_to_tell(case)
    notify.notify(
        [u for u in people if actor is None or u.id != actor.user_id],
        "cases.status",
        _(
            "%(number)s is now %(status)s",
            number=case.number,
            status=str(STATUS_LABELS[case.status]),
        ),
        body=case.subject,
        link=case_path(case.id),
    )


def update_case(case: Case, fields: dict, *, seen: str | None, actor: Principal) -> None:
    """An agent edits priority, product, category and assignee. ``seen`` is the form's snapshot:
    if someone else saved meanwhile, EditConflict says what changed and nothing is overwritten.
    A new priority or product chooses the SLA policy again."""
    if not is_agent(actor):
        raise Forbidden(_("Only support agents edit cases."))
    check_unchanged(case, seen)
    before = audit.snapshot(case, AUDIT_FIELDS)
    priority = fields.get("priority") or case.priority
    if priority not in PRIORITIES:
        raise InvalidInput(_("Choose a priority from the list."), field="priority")
    product = clean_text(fields.get("product", case.product), 100)
    assignee_id = fields.get("assignee_id") or None
    if assignee_id and assignee_id != case.assignee_id:
        _check_assignee(assignee_id)
    team_id = fields.get("team_id", case.team_id) or None
    if team_id and db.session.get(SupportTeam, team_id) is None:
        raise InvalidInput(_("Choose a team from the list."), field="team_id")
    case.team_id = team_id
    reprice = priority != case.priority or product != case.product
    case.priority, case.product = priority, product
    case.category = clean_text(fields.get("category", case.category), 100)
    newly_assigned = assignee_id and assignee_id != case.assignee_id
    case.assignee_id = assignee_id
    now = utcnow()
    if reprice:
        refresh_sla(case, now)
        with unscoped():
            org = db.session.get(Organization, case.org_id)
        policy = choose_policy(org, priority, product)
        case.sla_policy_id = policy.id if policy else None
        db.session.flush()
        db.session.refresh(case, ["sla_policy"])
        refresh_sla(case, now)
    case.updated_at = now
    audit.record(
        "case.edited", case, actor=actor, before=before, after=audit.snapshot(case, AUDIT_FIELDS)
    )
    if newly_assigned:
        _tell_assignee(case, actor)


def _check_assignee(user_id: int) -> User:
    agent = next((u for u in agents() if u.id == user_id), None)
    if agent is None:
        raise InvalidInput(_("Assign the case to an active support agent."), field="assignee_id")
    return agent


def _tell_assignee(case: Case, actor: Principal | None) -> None:
    with unscoped():
        assignee = db.session.get(User, case.assignee_id)
    if assignee is not None and (actor is None or assignee.id != actor.user_id):
        notify.notify(
            [assignee],
            "cases.assigned",
            _(
                "%(number)s is assigned to you: %(subject)s",
                number=case.number,
                subject=case.subject,
            ),
            link=case_path(case.id),
        )


def assign_case(case: Case, assignee_id: int | None, *, actor: Principal) -> None:
    """By hand: an agent assigns the case to an agent (or to nobody)."""
    if not is_agent(actor):
        raise Forbidden(_("Only support agents assign cases."))
    before = audit.snapshot(case, AUDIT_FIELDS)
    if assignee_id:
        _check_assignee(assignee_id)
    case.assignee_id = assignee_id
    case.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "case.assigned", case, actor=actor, before=before, after=audit.snapshot(case, AUDIT_FIELDS)
    )
    if assignee_id:
        _tell_assignee(case, actor)


def assign_round_robin(case: Case, *, actor: Principal) -> User:
    """The next agent in turn among the case's team (all agents for a case without a team):
    the active agent whose last assignment is oldest (never assigned first, then by id), so
    work goes round evenly whoever assigned before."""
    if not is_agent(actor):
        raise Forbidden(_("Only support agents assign cases."))
    team = agents(case.team_id) if case.team_id else agents()
    if not team:
        raise InvalidInput(_("There is no active support agent to assign to."))
    with unscoped():  # every case's assignment counts for the turn (reviewed)
        last = dict(
            db.session.execute(
                select(Case.assignee_id, func.max(Case.updated_at))
                .where(Case.assignee_id.in_([u.id for u in team]))
                .group_by(Case.assignee_id)
            ).all()
        )
    epoch = datetime.min.replace(tzinfo=utcnow().tzinfo)
    chosen = min(team, key=lambda u: (last.get(u.id) or epoch, u.id))
    assign_case(case, chosen.id, actor=actor)
    return chosen


def merge_case(duplicate: Case, into: Case, *, actor: Principal) -> None:
    """Merge a duplicate into another case of the same organisation: the duplicate is closed
    with a note, and its requester and watchers watch the surviving case."""
    if not is_agent(actor):
        raise Forbidden(_("Only support agents merge cases."))
    if duplicate.id == into.id:
        raise InvalidInput(_("A case cannot be merged into itself."), field="into")
    if duplicate.org_id != into.org_id:
        raise InvalidInput(_("Merge only cases of the same organisation."), field="into")
    if into.status == "closed" or into.merged_into_id:
        raise InvalidTransition(_("Merge into an open case."))
    if duplicate.merged_into_id:
        raise InvalidTransition(_("This case is already merged."))
    people = {duplicate.requester_id} | set(
        db.session.scalars(select(CaseWatcher.user_id).where(CaseWatcher.case_id == duplicate.id))
    )
    existing = set(
        db.session.scalars(select(CaseWatcher.user_id).where(CaseWatcher.case_id == into.id))
    ) | {into.requester_id}
    for user_id in people - existing - {None}:
        db.session.add(CaseWatcher(org_id=into.org_id, case_id=into.id, user_id=user_id))
    now = utcnow()
    db.session.add(
        CaseComment(
            org_id=into.org_id,
            case_id=into.id,
            author_id=actor.user_id,
            body=_("Case %(number)s was merged into this one.", number=duplicate.number)
            + "\n\n"
            + duplicate.description,
            by_agent=True,
            created_at=now,
        )
    )
    duplicate.merged_into_id = into.id
    if duplicate.status != "solved":
        _set_status(duplicate, "solved", now)
    _set_status(duplicate, "closed", now)
    audit.record("case.merged", duplicate, actor=actor, after={"merged_into": into.number})


def add_watcher(case: Case, user: User, *, actor: Principal) -> CaseWatcher:
    """Someone of the case's organisation, of the partner that manages it, or an agent, watches
    the case (gets its public replies and status changes). Added by an agent or by the case's
    organisation."""
    require_participant(case, actor)
    with unscoped():
        org = db.session.get(Organization, case.org_id)
    allowed = {case.org_id, org.managed_by_id} - {None}
    if user.org_id not in allowed and user.org_kind != access.VENDOR:
        raise InvalidInput(
            _("Watchers come from the case's organisation or the partner that manages it."),
            field="user",
        )
    with unscoped():
        found = db.session.scalar(
            select(CaseWatcher).where(
                CaseWatcher.case_id == case.id, CaseWatcher.user_id == user.id
            )
        )
        if found is not None:
            return found
        watcher = CaseWatcher(org_id=case.org_id, case_id=case.id, user_id=user.id)
        db.session.add(watcher)
    audit.record("case.watcher_added", case, actor=actor, after={"user_id": user.id})
    return watcher


def remove_watcher(watcher: CaseWatcher, *, actor: Principal) -> None:
    """A watcher stops watching: themselves, or removed by an agent or by the case's
    organisation."""
    with unscoped():  # the watched case (the watcher row was visible to the actor)
        case = db.session.get(Case, watcher.case_id)
    if watcher.user_id != actor.user_id:
        require_participant(case, actor)
    audit.record("case.watcher_removed", case, actor=actor, after={"user_id": watcher.user_id})
    with unscoped():
        db.session.delete(watcher)
    db.session.flush()


def set_sharing(org: Organization, shared: bool, *, actor: Principal) -> CaseSettings:
    """An organisation's admin chooses: everyone sees all its cases, or each their own."""
    if not actor.can("cases.settings") or org.id != actor.org_id:
        raise Forbidden(_("Only your organisation's admin decides this."))
    settings = db.session.scalar(select(CaseSettings).where(CaseSettings.org_id == org.id))
    if settings is None:
        settings = CaseSettings(org_id=org.id, shared=shared)
        db.session.add(settings)
    settings.shared = shared
    db.session.flush()
    audit.record("case_settings.changed", settings, actor=actor, after={"shared": shared})
    return settings


def is_shared(org_id: int) -> bool:
    return bool(db.session.scalar(select(CaseSettings.shared).where(CaseSettings.org_id == org_id)))


# The periodic tick.


def _warning_window() -> timedelta:
    return timedelta(minutes=float(current_app.config.get("CASES_SLA_WARNING_MINUTES", 60)))


@jobs.periodic("case_sla")
def check_sla(session: Session) -> int:
    """Tick: warn agents once when a target's clock will run out within the warning window,
    and tell them once when it breached. Safe to run twice (the flags are set once)."""
    now = utcnow()
    window = now + _warning_window()
    done = 0
    with system_session(session):
        # Clocks not yet breached whose deadline falls within the window (a breached case is
        # not looked at again: its breach is recorded once).
        due = or_(
            and_(Case.first_response_due_at <= window, Case.first_response_breached.is_(False)),
            and_(Case.resolution_due_at <= window, Case.resolution_breached.is_(False)),
        )

        cases = session.scalars(
            select(Case).where(due, Case.status.not_in(RESOLVED_STATUSES)).order_by(Case.id)
        ).all()
        for case in cases:
            try:
                with session.begin_nested():  # one case at a time: a concurrent tick wins it
                    done += _check_case_sla(case, now, window, session)
            except StaleDataError:
                log.info("case %s changed meanwhile; left to whoever changed it", case.id)
        session.flush()
    return done


def _check_case_sla(case: Case, now: datetime, window: datetime, session: Session) -> int:
    done = 0
    states = clocks(case, now, session)
    for target in refresh_sla(case, now, session):
        audit.record(
            "case.sla_breached", case, actor=None, after={"target": target}, session=session
        )
        _tell_sla(case, target, breached=True)
        done += 1
    for target, state in states.items():
        flag = f"{target}_warned"
        if state.state == "running" and not getattr(case, flag) and state.due_at <= window:
            setattr(case, flag, True)
            _tell_sla(case, target, breached=False, due_at=state.due_at)
            done += 1
    session.flush()
    return done


def _tell_sla(case: Case, target: str, *, breached: bool, due_at: datetime | None = None) -> None:
    label = _("first response") if target == "first_response" else _("resolution")
    title = (
        _("SLA breached on %(number)s: %(target)s", number=case.number, target=label)
        if breached
        else _("SLA due soon on %(number)s: %(target)s", number=case.number, target=label)
    )
    body = case.subject
    if due_at is not None:
        body += "\n" + _("Due at %(when)s UTC.", when=due_at.strftime("%Y-%m-%d %H:%M"))
    notify.notify(_agents_to_tell(case), "cases.sla", title, body=body, link=case_path(case.id))


@jobs.periodic("close_solved_cases")
def close_solved_cases(session: Session) -> int:
    """Tick: cases solved ``CASES_AUTO_CLOSE_DAYS`` ago close by themselves (safe to run twice:
    a closed case is not solved any more)."""
    now = utcnow()
    days = float(current_app.config.get("CASES_AUTO_CLOSE_DAYS", 4))
    done = 0
    with system_session(session):
        cases = session.scalars(
            select(Case)
            .where(Case.status == "solved", Case.solved_at <= now - timedelta(days=days))
            .order_by(Case.id)
        ).all()
        for case in cases:
            try:
                with session.begin_nested():
                    _set_status(case, "closed", now)
                    audit.record(
                        "case.closed", case, actor=None, after={"status": "closed"}, session=session
                    )
                done += 1
            except StaleDataError:
                log.info("case %s changed meanwhile; not closed now", case.id)
    return done
