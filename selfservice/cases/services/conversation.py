"""Opening a case, replies and internal notes, status changes (with reopening)."""

from __future__ import annotations

from flask_babel import gettext as _

from portal import access, audit
from portal.clock import utcnow
from portal.concurrency import check_unchanged
from portal.db import db
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization, User
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.text import clean_text, one_line
from selfservice.cases.attachments import check_files
from selfservice.cases.models import (
    PRIORITIES,
    RESOLVED_STATUSES,
    STATUSES,
    Case,
    CaseAttachment,
    CaseComment,
    CaseStatusChange,
)
from selfservice.cases.services.common import (
    AUDIT_FIELDS,
    MAX_BODY,
    MAX_SUBJECT,
    STATUS_LABELS,
    _agents_to_tell,
    _customer_side,
    _set_status,
    agents,
    case_path,
    choose_policy,
    is_agent,
    refresh_sla,
    require_participant,
)


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
    subject = one_line(fields.get("subject"), MAX_SUBJECT)  # a subject is a line (emails)
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


def change_status(case: Case, status: str, *, seen: str | None, actor: Principal) -> None:
    """Agents move a case between statuses; a customer may mark its own case solved. ``seen``
    is the form's snapshot (``STATUS_FIELDS``): if the status changed meanwhile, EditConflict
    says so and nothing is overwritten (a reply meanwhile is no conflict)."""
    require_participant(case, actor)
    agent = is_agent(actor)
    if not agent and (status != "solved" or case.status in RESOLVED_STATUSES):
        raise Forbidden(_("You can mark your case solved; support changes its other states."))
    check_unchanged(case, seen, shown_only=True)
    if status == case.status:
        return
    if agent:
        _check_agent_status(case, status)
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
