"""What agents do with a case: edit it (optimistic locking), assign it by hand or in turn,
merge a duplicate; watchers; an organisation's choice to share its cases."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from portal import access, audit, people
from portal.clock import utcnow
from portal.concurrency import check_unchanged
from portal.db import db, read_across, unscoped
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization
from portal.people import Person
from portal.tenancy import Principal
from portal.text import clean_text
from selfservice.cases.models import (
    AUDIT_FIELDS,
    PRIORITIES,
    Case,
    CaseComment,
    CaseSettings,
    CaseStatus,
    CaseWatcher,
    SupportTeam,
)
from selfservice.cases.services.common import (
    agents,
    choose_policy,
    customer_side,
    is_agent,
    move_case,
    refresh_sla,
    require_participant,
    tell_of,
)
from selfservice.cases.services.products import (
    CaseProduct,
    apply_product,
    choose_product,
    product_terms,
)


def update_case(case: Case, fields: dict, *, seen: str | None, actor: Principal) -> None:
    """An agent edits priority, what the case is about (``product_id`` or ``product_line``, as
    ``products.choose_product`` checks them; left as they are when ``fields`` names neither),
    category and assignee. ``seen`` is the form's snapshot: if someone else saved meanwhile,
    EditConflict says what changed and nothing is overwritten. A new priority or product
    chooses the SLA policy again."""
    if not is_agent(actor):
        raise Forbidden(_("Only support agents edit cases."))
    check_unchanged(case, seen, shown_only=True)  # a reply meanwhile is no conflict
    before = audit.snapshot(case, AUDIT_FIELDS)
    priority = fields.get("priority") or case.priority
    if priority not in PRIORITIES:
        raise InvalidInput(_("Choose a priority from the list."), field="priority")
    words = clean_text(fields.get("product", case.product), 100)
    if "product_id" in fields or "product_line" in fields:
        chosen = choose_product(fields.get("product_id"), fields.get("product_line"), current=case)
    else:
        chosen = CaseProduct(case.catalogue_product, case.product_line)
    assignee_id = fields.get("assignee_id") or None
    if assignee_id and assignee_id != case.assignee_id:
        _check_assignee(assignee_id)
    team_id = fields.get("team_id", case.team_id) or None
    if team_id and db.session.get(SupportTeam, team_id) is None:
        raise InvalidInput(_("Choose a team from the list."), field="team_id")
    case.team_id = team_id
    reprice = (
        priority != case.priority
        or words != case.product
        or (chosen.product_id, chosen.line) != (case.product_id, case.product_line)
    )
    case.priority, case.product = priority, words
    apply_product(case, chosen)
    case.category = clean_text(fields.get("category", case.category), 100)
    newly_assigned = assignee_id and assignee_id != case.assignee_id
    now = utcnow()
    if assignee_id != case.assignee_id:
        case.assigned_at = now if assignee_id else None
    case.assignee_id = assignee_id
    if reprice:
        refresh_sla(case, now)
        policy = choose_policy(
            db.session.get(Organization, case.org_id), priority, product_terms(case)
        )
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


def _check_assignee(user_id: int) -> Person:
    agent = next((u for u in agents() if u.id == user_id), None)
    if agent is None:
        raise InvalidInput(_("Assign the case to an active support agent."), field="assignee_id")
    return agent


def _tell_assignee(case: Case, actor: Principal | None) -> None:
    tell_of(
        people.people([case.assignee_id]),
        case,
        "cases.assigned",
        _l("%(number)s is assigned to you: %(subject)s", number=case.number, subject=case.subject),
        but=actor.user_id if actor is not None else None,
    )


def assign_case(case: Case, assignee_id: int | None, *, actor: Principal) -> None:
    """By hand: an agent assigns the case to an agent (or to nobody)."""
    if not is_agent(actor):
        raise Forbidden(_("Only support agents assign cases."))
    before = audit.snapshot(case, AUDIT_FIELDS)
    if assignee_id:
        _check_assignee(assignee_id)
    now = utcnow()
    if assignee_id != case.assignee_id:
        case.assigned_at = now if assignee_id else None
    case.assignee_id = assignee_id
    case.updated_at = now
    db.session.flush()
    audit.record(
        "case.assigned", case, actor=actor, before=before, after=audit.snapshot(case, AUDIT_FIELDS)
    )
    if assignee_id:
        _tell_assignee(case, actor)


def assign_round_robin(case: Case, *, actor: Principal) -> Person:
    """The next agent in turn among the case's team (all agents for a case without a team):
    the active agent whose last assignment is oldest (never assigned first, then by id), so
    work goes round evenly whoever assigned before."""
    if not is_agent(actor):
        raise Forbidden(_("Only support agents assign cases."))
    team = agents(case.team_id) if case.team_id else agents()
    if not team:
        raise InvalidInput(_("There is no active support agent to assign to."))
    with read_across() as reader:  # every case's assignment counts for the turn
        last = dict(
            reader.execute(
                select(Case.assignee_id, func.max(Case.assigned_at))
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
    with a reply that points its people to the surviving case (and they are told), its
    requester and watchers watch the surviving case, and its description reaches the surviving
    case as an internal note: its people may not be the duplicate's (an organisation that does
    not share cases), so only agents read it there.

    Raises InvalidInput (same case, other organisation) or InvalidTransition (a closed or
    merged duplicate, a closed or merged target)."""
    if not is_agent(actor):
        raise Forbidden(_("Only support agents merge cases."))
    if duplicate.id == into.id:
        raise InvalidInput(_("A case cannot be merged into itself."), field="into")
    if duplicate.org_id != into.org_id:
        raise InvalidInput(_("Merge only cases of the same organisation."), field="into")
    if into.status == CaseStatus.closed or into.merged_into_id:
        raise InvalidTransition(_("Merge into an open case."))
    if duplicate.merged_into_id:
        raise InvalidTransition(_("This case is already merged."))
    if duplicate.status == CaseStatus.closed:
        raise InvalidTransition(
            _("This is a closed case: it cannot be merged. Open cases only are merged.")
        )
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
            body=_(
                "Case %(number)s (%(subject)s) was merged into this one. Its description:",
                number=duplicate.number,
                subject=duplicate.subject,
            )
            + "\n\n"
            + duplicate.description,
            internal=True,
            by_agent=True,
            created_at=now,
        )
    )
    told = _l("This case was merged into %(number)s: follow it there.", number=into.number)
    db.session.add(
        CaseComment(
            org_id=duplicate.org_id,
            case_id=duplicate.id,
            author_id=actor.user_id,
            body=str(told),  # the comment is stored in the language of whoever merged
            by_agent=True,
            created_at=now,
        )
    )
    duplicate.merged_into_id = into.id
    duplicate.updated_at = now
    if duplicate.status != CaseStatus.solved:
        move_case(duplicate, CaseStatus.solved, actor=actor, at=now)
    move_case(
        duplicate,
        CaseStatus.closed,
        actor=actor,
        at=now,
        event="case.merged",
        data={"merged_into": into.number},
    )
    tell_of(
        customer_side(duplicate),
        into,
        "cases.status",
        _l("%(number)s is merged into %(into)s", number=duplicate.number, into=into.number),
        body=told,
        but=actor.user_id,
    )


def add_watcher(case: Case, user, *, actor: Principal) -> CaseWatcher | None:
    """Someone of the case's organisation, of the partner that manages it, or an agent, watches
    the case (gets its public replies and status changes). Added by an agent or by the case's
    organisation. ``user`` has ``id``, ``org_id`` and ``org_kind`` (a ``User``, or the plain
    ``queries.watcher_candidate``). Returns the new watcher (None if they watch already)."""
    require_participant(case, actor)
    with read_across() as reader:  # who manages the case's organisation, whoever asks
        manager_id = reader.scalar(
            select(Organization.managed_by_id).where(Organization.id == case.org_id)
        )
    allowed = {case.org_id, manager_id} - {None}
    if user.org_id not in allowed and user.org_kind != access.VENDOR:
        raise InvalidInput(
            _("Watchers come from the case's organisation or the partner that manages it."),
            field="user",
        )
    with read_across() as reader:  # a colleague's watching, on a case the actor only watches
        found = reader.scalar(
            select(CaseWatcher.id).where(
                CaseWatcher.case_id == case.id, CaseWatcher.user_id == user.id
            )
        )
    if found is not None:
        return None
    watcher = CaseWatcher(org_id=case.org_id, case_id=case.id, user_id=user.id)
    db.session.add(watcher)
    db.session.flush()
    audit.record("case.watcher_added", case, actor=actor, after={"user_id": user.id})
    return watcher


def remove_watcher(watcher: CaseWatcher, *, actor: Principal) -> None:
    """A watcher stops watching: themselves, or removed by an agent or by the case's
    organisation. The case is loaded through the wall: one who does not see the case gets
    NotFound, like for a foreign record."""
    case = db.session.scalar(select(Case).where(Case.id == watcher.case_id))
    if case is None:
        raise NotFound()
    if watcher.user_id != actor.user_id:
        require_participant(case, actor)
    audit.record("case.watcher_removed", case, actor=actor, after={"user_id": watcher.user_id})
    with unscoped():  # reason: a managing partner's watcher row is the customer's to delete (RLS)
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
