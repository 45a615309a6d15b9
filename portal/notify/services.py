"""Use cases of notifications. Writers only flush; the caller commits once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import LazyString, force_locale
from sqlalchemy import func, or_, select, update

from portal import i18n, jobs
from portal.clock import utcnow
from portal.db import db, read_across, unscoped
from portal.mailin import targets as mail_targets
from portal.notify import KINDS
from portal.notify import mail as mail_transport
from portal.notify.models import (
    Notification,
    NotificationPreference,
    OutboxMessage,
    OutboxStatus,
)
from portal.text import one_line
from portal.workflow import transition

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
# A subject or title is one line (a line break in an email header makes the mail library refuse
# the message, and every retry with it), and short enough for mail clients and the bell menu.
MAX_SUBJECT = 200


@dataclass(frozen=True)
class Link:
    """Where a notification points: an endpoint and its arguments. Services know no request; the
    notification layer turns a link into a path (in-app) and a URL from ``BASE_URL`` (email),
    so a tick's links are as right as a request's."""

    endpoint: str
    params: tuple[tuple[str, Any], ...] = ()

    def path(self) -> str:
        adapter = current_app.url_map.bind("portal.invalid", script_name="/")
        return adapter.build(self.endpoint, dict(self.params))


def link(endpoint: str, **params: Any) -> Link:
    return Link(endpoint, tuple(sorted(params.items())))


def absolute_url(target: str | Link) -> str:
    path = target.path() if isinstance(target, Link) else target
    return current_app.config["BASE_URL"].rstrip("/") + path


def queue_email(
    *,
    org_id: int,
    to: str,
    subject: str,
    body: str,
    kind: str,
    user_id: int | None = None,
    thread: str | None = None,
) -> OutboxMessage:
    """Write an email to the outbox; it is delivered after the transaction commits. ``thread``:
    the record it is about, when its mail is threaded and answerable (``portal.mailin.targets``)."""
    if kind not in KINDS:
        raise KeyError(f"unknown notification kind {kind!r}")
    subject = one_line(subject, MAX_SUBJECT)
    message = OutboxMessage(
        org_id=org_id,
        user_id=user_id,
        kind=kind,
        to_address=to,
        subject=subject,
        body_text=body,
        thread=thread,
    )
    # The recipient's row, whoever writes it: under the caller's scope PostgreSQL would refuse
    # the INSERT's RETURNING row (the read policy) when the recipient is in another organisation.
    with unscoped():  # reason: the recipient's row, which its writer may not read back
        db.session.add(message)
    jobs.enqueue(deliver_email, message.id)
    return message


def emails_off(user_ids: Iterable[int], kinds: Iterable[str]) -> set[tuple[int, str]]:
    """The (user, kind) pairs among these whose user turned the kind's email off: one read of
    the recipients' own choices, whoever causes the notification (preferences are otherwise
    visible to their user only). Security mail cannot be turned off."""
    ids = sorted(set(user_ids))
    optional = [k for k in kinds if KINDS[k].optional]
    if not ids or not optional:
        return set()
    with read_across() as reader:
        rows = reader.execute(
            select(NotificationPreference.user_id, NotificationPreference.kind).where(
                NotificationPreference.user_id.in_(ids),
                NotificationPreference.kind.in_(optional),
                NotificationPreference.email_enabled.is_(False),
            )
        ).all()
    return {(user_id, kind) for user_id, kind in rows}


def email_enabled(user, kind: str) -> bool:
    return (user.id, kind) not in emails_off([user.id], [kind])


def lazy(function, *args: Any, **kwargs: Any) -> LazyString:
    """``function(*args, **kwargs)`` called when the text is read: a date or an amount in a
    notification, formatted in each recipient's language (``lazy(formatting.date, day)``), as
    a parameter of a lazy string."""
    return LazyString(function, *args, **kwargs)


def joined(*parts: Any, separator: str = "\n") -> LazyString:
    """The parts (plain or lazy strings), the empty ones left out, joined when read: a body made
    of several texts stays in each recipient's language (``str + _l(...)`` would be rendered at
    once, in the language of whoever causes it)."""
    return LazyString(lambda: separator.join(text for text in map(str, parts) if text))


def notify(
    users: Iterable, kind: str, title: str, body: str = "", link: Link | None = None
) -> None:
    """Tell each user (``portal.people.Person`` or ``User``): an in-app notification, and an
    email unless they turned this kind off. Each person once, however often listed.

    Deactivated users get neither. ``title`` (the email's subject) is made one short line,
    whatever the feature passed. Each person reads it in their language
    (``portal.i18n.locales_of``) where ``title`` and ``body`` are lazy strings (``_l(...)``):
    they are turned into text once per language among the recipients, under ``force_locale``.
    A lazy parameter of a lazy string (``_l("… %(state)s", state=_l(status))``, a date from
    ``lazy``) is rendered inside it, so in the same language. An eager ``_()`` would be in the
    language of whoever causes the notification: ``tests/unit/test_lazy_notifications.py``
    refuses one.
    """
    path = link.path() if link is not None else None
    recipients = list({u.id: u for u in users if u.active}.values())
    if not recipients:
        return
    off = emails_off([u.id for u in recipients], [kind])
    languages = i18n.locales_of(u.id for u in recipients)
    written: dict[str, tuple[str, str]] = {}
    for language in sorted(set(languages.values())):
        with force_locale(language):
            written[language] = (one_line(str(title), MAX_SUBJECT), str(body))
    with unscoped():  # reason: the recipients' rows (see queue_email)
        db.session.add_all(
            Notification(
                org_id=u.org_id,
                user_id=u.id,
                kind=kind,
                title=written[languages[u.id]][0],
                body=written[languages[u.id]][1],
                link=path,
            )
            for u in recipients
        )
    url = f"\n\n{absolute_url(path)}" if path else ""
    thread = mail_targets.thread_of(link) if link is not None else None
    for user in recipients:
        if (user.id, kind) not in off:
            subject, text = written[languages[user.id]]
            queue_email(
                org_id=user.org_id,
                user_id=user.id,
                to=user.email,
                subject=subject,
                body=text + url,
                kind=kind,
                thread=thread,
            )


def tell(
    action: str,
    org_id: int | None,
    kind: str,
    title: str,
    body: str = "",
    link: Link | None = None,
    *,
    also: Iterable[int | None] = (),
) -> None:
    """Tell the people of organisation ``org_id`` who may do ``action`` (the vendor staff who
    may, when ``org_id`` is None), and the people ``also`` names by id."""
    from portal import people

    who = people.vendor_staff_who_may(action) if org_id is None else people.who_may(action, org_id)
    notify([*people.people(also), *who], kind, title, body=body, link=link)


def deliver_email(message_id: int) -> bool:
    """Job: send one outbox message; True if this call sent it.

    Claiming it (pending → sending, a conditional UPDATE) makes two workers, or a retry racing
    the first try, send it once. The claim is committed before the slow send and is a lease of
    ``OUTBOX_LEASE_SECONDS``: if this worker dies, the tick frees the message once the lease has
    ended (``retry_outbox``). The outcome (sent, or back to pending, or failed) is committed as
    soon as SMTP has answered, and only while this claim still stands."""
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None or message.status != OutboxStatus.pending:
        return False
    config = current_app.config
    lease = config["OUTBOX_LEASE_SECONDS"]
    claimed = transition(
        message,
        OutboxStatus.sending,
        actor=None,
        claim=True,
        changes={
            "attempts": message.attempts + 1,
            "claimed_until": utcnow() + timedelta(seconds=lease),
        },
    )
    db.session.commit()  # the claim stands before the slow send, whatever happens next
    if not claimed:
        return False
    try:
        mail_transport.send(
            config["SMTP_URL"],
            mail_targets.compose(message),
            # A hung server must not hold the message past its lease.
            timeout=min(mail_transport.TIMEOUT_SECONDS, lease / 2),
        )
    except Exception as exc:  # noqa: BLE001 - any transport failure is retried by tick
        log.warning("email %s not sent (attempt %s): %s", message_id, message.attempts, exc)
        if _end_claim(message):
            transition(
                message,
                OutboxStatus.failed if message.attempts >= MAX_ATTEMPTS else OutboxStatus.pending,
                actor=None,
                changes={"last_error": f"{type(exc).__name__}: {exc}"},
            )
        db.session.commit()
        return False
    if _end_claim(message):
        transition(message, OutboxStatus.sent, actor=None)
    else:
        log.warning("email %s sent after its lease ended (the tick had freed it)", message_id)
    db.session.commit()  # sent is recorded at once, not with whatever the caller does next
    return True


def _end_claim(message: OutboxMessage, *, expired_by=None) -> bool:
    """End the lease of ``message``'s current claim, if it still stands: still sending, and not
    claimed again since (``attempts`` counts the claims, so it names this one); with
    ``expired_by``, only if the lease had ended by then. The caller records the outcome in the
    same transaction, which now holds the row (PostgreSQL) or the write lock (SQLite)."""
    statement = update(OutboxMessage).where(
        OutboxMessage.id == message.id,
        OutboxMessage.status == OutboxStatus.sending,
        OutboxMessage.attempts == message.attempts,
    )
    if expired_by is not None:
        statement = statement.where(_lease_ended(expired_by))
    return db.session.execute(statement.values(claimed_until=None)).rowcount == 1


def _lease_ended(now):
    # No lease at all: a message claimed before leases existed (migration 0032).
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now)


def retry_outbox() -> int:
    """Tick: free the messages whose delivery's lease has ended while they were still sending
    (the worker died mid-send) and deliver them again, with the mail still pending a minute
    after it was written (SMTP was down, the queue lost the job). A message whose lease has not
    ended is left to its delivery, however old it is. Returns how many were sent."""
    now = utcnow()
    stranded = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.sending, _lease_ended(now))
    ).all()
    freed = []
    for message in stranded:
        if not _end_claim(message, expired_by=now):
            continue  # its delivery finished, or another tick freed it, meanwhile
        last = message.attempts >= MAX_ATTEMPTS
        transition(
            message,
            OutboxStatus.failed if last else OutboxStatus.pending,
            actor=None,
            claim=True,
            changes={"last_error": "the delivery did not finish within its lease"},
        )
        if not last:
            freed.append(message.id)
    waiting = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.pending,
            OutboxMessage.created_at < now - timedelta(minutes=1),
            OutboxMessage.id.not_in(freed),
        )
        .limit(500)
    ).all()
    db.session.commit()  # freed messages are pending even if a delivery below fails
    return sum(deliver_email(message_id) for message_id in [*freed, *waiting])


def unread_count_of(user_id):
    """The count of ``user_id``'s unread notifications as a scalar subquery (``user_id``: a
    value or a column): the session lookup of every page reads it in its own statement."""
    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user_id: int) -> int:
    return db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount


def set_email_preferences(user, enabled_kinds: set[str]) -> None:
    """Record the user's choice for every optional kind: email on for ``enabled_kinds`` only."""
    existing = {
        p.kind: p
        for p in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    for kind in (k for k in KINDS.values() if k.optional):
        pref = existing.get(kind.name)
        if pref is None:
            pref = NotificationPreference(org_id=user.org_id, user_id=user.id, kind=kind.name)
            db.session.add(pref)
        pref.email_enabled = kind.name in enabled_kinds
