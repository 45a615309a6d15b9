"""Opening a case, replies and internal notes, status changes (with reopening)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import access, audit, people
from portal.clock import utcnow
from portal.concurrency import check_unchanged
from portal.db import db, lock_row
from portal.errors import Forbidden, InvalidInput, InvalidTransition
from portal.identity.models import Organization, User
from portal.notify import services as notify
from portal.tenancy import Principal
from portal.text import clean_text, one_line
from portal.uploads import CheckedFile, check_files
from selfservice.cases.models import (
    AUDIT_FIELDS,
    PRIORITIES,
    RESOLVED_STATUSES,
    STATUS_LABELS,
    STATUSES,
    Case,
    CaseAttachment,
    CaseComment,
    CaseStatus,
    CaseStatusChange,
)
from selfservice.cases.services.common import (
    AGENT_ACTION,
    MAX_BODY,
    MAX_SUBJECT,
    agents_to_tell,
    answer_wait,
    await_reply,
    case_link,
    choose_policy,
    customer_side,
    is_agent,
    move_case,
    refresh_sla,
    require_participant,
    tell_of,
)
from selfservice.cases.services.products import (
    apply_product,
    choose_product,
    product_named,
    product_terms,
)


def open_case(
    org: Organization,
    fields: dict,
    *,
    actor: Principal,
    requester: User | None = None,
    files: list[tuple[str, bytes]] | None = None,
) -> Case:
    """Raise a case for ``org``: a customer or partner for its own organisation, vendor staff on
    someone's behalf (``requester`` of that organisation), with files (name, content) that go
    with its description, checked as a reply's are before anything is written. ``fields``:
    subject, description, priority, category; what it is about, ``product_id`` (an active
    catalogue product) or ``product_line`` (``products.choose_product``), and ``product``, the
    requester's own words (alone, read as the product or line they name exactly). Raises
    InvalidInput, Forbidden."""
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
    words = clean_text(fields.get("product"), 100)
    if fields.get("product_id") is not None or fields.get("product_line"):
        chosen = choose_product(fields.get("product_id"), fields.get("product_line"))
    else:  # only words (an API client of before 0018): a product or line they name exactly
        chosen = product_named(words)
    checked = check_files(files or [])
    now = utcnow()
    case = Case(
        org_id=org.id,
        number="pending",
        subject=subject,
        description=description,
        requester_id=requester.id if requester else None,
        opened_by_id=actor.user_id,
        product=words,
        category=clean_text(fields.get("category"), 100),
        priority=priority,
        status=CaseStatus.new,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
    )
    apply_product(case, chosen)
    policy = choose_policy(org, priority, product_terms(case))
    case.sla_policy_id = policy.id if policy else None
    db.session.add(case)
    db.session.flush()
    case.number = f"CS-{now.year}-{case.id:06d}"  # from the id: never reused
    db.session.add(
        CaseStatusChange(org_id=case.org_id, case_id=case.id, status=CaseStatus.new, at=now)
    )
    store_files(case, checked, comment_id=None, internal=False, actor=actor, at=now)
    db.session.flush()
    refresh_sla(case, now)
    audit.record("case.opened", case, actor=actor, after=audit.snapshot(case, AUDIT_FIELDS))
    notify.tell(
        AGENT_ACTION,
        None,
        "cases.new",
        _l("New case %(number)s: %(subject)s", number=case.number, subject=case.subject),
        body=_l("From %(org)s, priority %(priority)s.", org=org.name, priority=_l(priority)),
        link=case_link(case.id),
    )
    if requester is not None:
        notify.notify(
            people.people([requester.id]),
            "cases.opened",
            _l(
                "We received your case %(number)s: %(subject)s",
                number=case.number,
                subject=subject,
            ),
            body=_l("Support replies on the case's page and by email."),
            link=case_link(case.id),
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
    before anything is written. An agent's first public reply meets the first-response target,
    a later one the next-response target of the reply awaited; a customer's reply starts that
    wait (once an agent has answered) and reopens a pending or solved case. An agent may set
    the status with the reply. Raises InvalidInput, InvalidTransition, Forbidden."""
    require_participant(case, actor)
    agent = is_agent(actor)
    if internal and not agent:
        raise Forbidden(_("Only support agents write internal notes."))
    lock_row(case)  # a reply written a moment before this one is no conflict: it comes first
    text = clean_text(body, MAX_BODY)
    if not text:
        raise InvalidInput(_("Write a reply first."), field="body")
    if case.status == CaseStatus.closed:
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
        store_files(case, checked, comment_id=comment.id, internal=internal, actor=actor, at=now)
    if internal:
        db.session.flush()
        tell_of(
            agents_to_tell(case),
            case,
            "cases.reply",
            _l("Internal note on %(number)s", number=case.number),
            body=text,
            but=actor.user_id,
        )
        return comment
    if agent:
        if case.first_responded_at is None:
            refresh_sla(case, now)  # a breach before this reply stays a breach
            case.first_responded_at = now
        else:
            answer_wait(case, now)
        target = status or (CaseStatus.open if case.status == CaseStatus.new else None)
        if target and target != case.status:
            _check_agent_status(case, target)
            db.session.flush()  # the reply first: the move's audit event follows it
            move_case(case, target, actor=actor, at=now, data={"reply_id": comment.id})
        else:
            db.session.flush()
            refresh_sla(case, now)
        tell_of(
            customer_side(case),
            case,
            "cases.reply",
            _l("Reply on %(number)s: %(subject)s", number=case.number, subject=case.subject),
            body=text,
            but=actor.user_id,
        )
    else:
        db.session.flush()
        await_reply(case, now)  # the agent's next reply is due (next-response target)
        if case.status in (CaseStatus.pending, CaseStatus.solved):
            move_case(case, CaseStatus.open, actor=actor, at=now, event="case.reopened")
        else:
            refresh_sla(case, now)
        tell_of(
            agents_to_tell(case),
            case,
            "cases.reply",
            _l(
                "Customer reply on %(number)s: %(subject)s",
                number=case.number,
                subject=case.subject,
            ),
            body=text,
        )
    return comment


def store_files(
    case: Case,
    checked: list[CheckedFile],
    *,
    comment_id: int | None,
    internal: bool,
    actor: Principal,
    at,
) -> None:
    """Keep files already checked (``check_files``) with a reply (``comment_id``) or, without
    one, with the case's description."""
    for f in checked:
        db.session.add(
            CaseAttachment(
                org_id=case.org_id,
                case_id=case.id,
                comment_id=comment_id,
                filename=f.filename,
                content_type=f.content_type,
                size=len(f.content),
                sha256=f.sha256,
                internal=internal,
                uploaded_by_id=actor.user_id,
                created_at=at,
                content=f.content,
            )
        )


def _check_agent_status(case: Case, status: str) -> None:
    """The refusals agents read (before the workflow's own, which says the same less kindly)."""
    if status not in STATUSES or status == CaseStatus.new:
        raise InvalidInput(_("Choose a status from the list."), field="status")
    if case.status == CaseStatus.closed:
        raise InvalidTransition(_("A closed case stays closed."))
    if status == CaseStatus.closed and case.status != CaseStatus.solved:
        raise InvalidTransition(_("Only a solved case can be closed."))


def change_status(case: Case, status: str, *, seen: str | None, actor: Principal) -> None:
    """Agents move a case between statuses; a customer may mark its own case solved. ``seen``
    is the form's snapshot (``STATUS_FIELDS``): if the status changed meanwhile, EditConflict
    says so and nothing is overwritten (a reply meanwhile is no conflict)."""
    require_participant(case, actor)
    agent = is_agent(actor)
    if not agent and (status != CaseStatus.solved or case.status in RESOLVED_STATUSES):
        raise Forbidden(_("You can mark your case solved; support changes its other states."))
    check_unchanged(case, seen, shown_only=True)
    if status == case.status:
        return
    if agent:
        _check_agent_status(case, status)
    now = utcnow()
    case.updated_at = now
    move_case(case, status, actor=actor, at=now)
    _tell_status(case, actor)


def _tell_status(case: Case, actor: Principal | None) -> None:
    told = customer_side(case) if actor is None or is_agent(actor) else agents_to_tell(case)
    tell_of(
        told,
        case,
        "cases.status",
        _l(
            "%(number)s is now %(status)s",
            number=case.number,
            status=STATUS_LABELS[case.status],
        ),
        body=case.subject,
        but=actor.user_id if actor is not None else None,
    )
