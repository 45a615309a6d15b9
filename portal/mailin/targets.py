"""What mail can be about: the records whose emails thread and whose replies come back.

A target names a kind of record (``case``, ``idea``), the page its notifications link to (so a
notification's ``Link`` says which record it is about), its model, and the service a reply
becomes. Each feature package adds its own in its ``init_app`` (``add``), as it adds its
navigation: the platform imports no feature package (``docs/architecture.md``). The package
that opens cases also says how mail to the support address opens one (``receive_new_cases``).

``thread_of`` reads a notification's link; ``compose`` builds the email of an outbox message
with its threading headers and, for a recipient who may answer by email, a tokened Reply-To.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from portal import access
from portal.db import read_across
from portal.mailin import tokens
from portal.notify import mail


@dataclass(frozen=True)
class Target:
    kind: str
    endpoint: str  # the record's page, which its notifications link to
    param: str  # the record's id among the endpoint's arguments
    model: type
    # reply(record, text, *, actor[, files]) -> comment, files only where ``keeps_files``;
    # raises the portal's domain errors.
    reply: Callable
    # Vendor staff may answer by email: not on cases, where an agent's reply to the email of an
    # internal note must never become a public reply.
    staff_may_reply: bool
    keeps_files: bool
    # Only the record's own organisation answers (a reseller follows its customers' cases read
    # only): others get the thread but no reply address.
    own_org_only: bool


TARGETS: dict[str, Target] = {}
# Opening a case by writing to the support address: open_case(org, fields, *, actor, files).
_case_opener: list[Callable] = []


def add(target: Target) -> None:
    TARGETS[target.kind] = target


def receive_new_cases(open_case: Callable) -> None:
    _case_opener[:] = [open_case]


def open_case(org, fields: dict, *, actor, files) -> None:
    """Open a case from mail to the support address, through the case package's own service."""
    if not _case_opener:
        raise LookupError("no package opens cases from mail (receive_new_cases)")
    _case_opener[0](org, fields, actor=actor, files=files)


def thread_of(link) -> str | None:
    """``case-12`` for a notification linking to case 12's page; None for other links."""
    params = dict(link.params)
    for target in TARGETS.values():
        if link.endpoint == target.endpoint and isinstance(params.get(target.param), int):
            return f"{target.kind}-{params[target.param]}"
    return None


def reply_to_for(thread: str, user_id: int | None) -> str | None:
    """The tokened reply address of ``user_id`` for ``thread``, or None where they may not
    answer by email (no such user, inactive, vendor staff on a case, a partner following its
    customer's case)."""
    kind, _, record_id = thread.partition("-")
    target = TARGETS.get(kind)
    if target is None or user_id is None or not record_id.isdigit():
        return None
    from portal.identity.models import Organization, User

    with read_across() as reader:  # the recipient's kind of organisation, in the delivery job
        row = reader.execute(
            select(User.active, User.org_id, Organization.kind)
            .join(Organization, Organization.id == User.org_id)
            .where(User.id == user_id)
        ).one_or_none()
        if target.own_org_only and row is not None:
            model = target.model
            owner = reader.scalar(select(model.org_id).where(model.id == int(record_id)))
    if row is None or not row.active:
        return None
    if row.kind == access.VENDOR and not target.staff_may_reply:
        return None
    if target.own_org_only and row.org_id != owner:
        return None
    return tokens.reply_address(kind, int(record_id), user_id)


def compose(message):
    """The email of an outbox message (``portal.notify.models.OutboxMessage``): From
    ``MAIL_FROM``, a Message-ID on the portal's domain, and for a message about a record, the
    record's thread and the recipient's Reply-To."""
    config = current_app.config
    domain = config["MAIL_DOMAIN"]
    return mail.build_message(
        config["MAIL_FROM"],
        message.to_address,
        message.subject,
        message.body_text,
        message_id=mail.outbox_message_id(message.id, message.created_at, domain),
        thread_id=mail.thread_id(message.thread, domain) if message.thread else None,
        reply_to=reply_to_for(message.thread, message.user_id) if message.thread else None,
    )
