"""Taking in one email: refuse it, ignore it, or turn it into a comment or a case, in one
transaction, as the person who wrote it.

- A reply to ``support+<token>@domain`` (``portal.mailin.tokens``) from the address of the
  token's user becomes that user's public comment on the case, or comment on the idea, through
  the feature's own service, under the tenant wall as that user: a record they can no longer
  see is refused like a missing one.
- A message to the support address itself from a known, active customer's (or partner's)
  address opens a case as that person: subject → title, text → description.
- Files go through ``portal.uploads.check_files`` inside the services, with the page's limits;
  a file they refuse refuses the whole message.
- Refused (an SMTP 550 with the reason, and a log line): unknown or inactive senders, a sender
  other than the token's user, forged or expired tokens, records out of sight, messages larger
  than ``MAIL_IN_MAX_BYTES``, anything the services refuse. Ignored (accepted, nothing written,
  a log line): automatic mail (auto-replies, bounces, delivery reports, bulk), and a message
  already taken in (its Message-ID is in ``received_mail``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.db import db, read_across, set_principal
from portal.errors import DomainError
from portal.identity.models import Organization, User
from portal.jobs import system_session
from portal.mailin import targets, tokens
from portal.mailin.models import ReceivedMail
from portal.mailin.parse import Incoming, parse
from portal.tenancy import Principal

log = logging.getLogger("portal.mailin")


@dataclass(frozen=True)
class Verdict:
    """What became of a message: ``accepted`` (written, or ignored on purpose) or refused, and
    the SMTP answer that says so (``250 …`` or ``550 …``)."""

    accepted: bool
    answer: str
    outcome: str | None = None  # "case", "case_reply", "idea_comment" when something was written


class Refused(Exception):
    def __init__(self, reason: str, code: str = "550 5.7.1") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def take_in(
    raw: bytes, envelope_sender: str | None = None, envelope_to: list[str] | None = None
) -> Verdict:
    """Take in one message (its bytes, and over SMTP its envelope). Commits what it writes, in
    one transaction of its own; never raises for a bad message (it answers a refusal)."""
    limit = current_app.config["MAIL_IN_MAX_BYTES"]
    if len(raw) > limit:
        log.info("mail refused: %d bytes, more than MAIL_IN_MAX_BYTES (%d)", len(raw), limit)
        return Verdict(False, f"552 5.3.4 Message larger than {limit} bytes")
    incoming = parse(raw, envelope_sender, envelope_to)
    if incoming.automatic:
        log.info(
            "mail %s from %s ignored: %s", incoming.message_id, incoming.sender, incoming.automatic
        )
        return Verdict(True, "250 2.0.0 Ignored: an automatic message")
    session = db.new_session()
    try:
        with system_session(session):
            try:
                outcome = _route(incoming)
                session.add(ReceivedMail(message_key=incoming.key, outcome=outcome))
                session.commit()
            except _AlreadyIn:
                session.rollback()
                return _duplicate(incoming)
            except Refused as refused:
                session.rollback()
                log.info(
                    "mail %s from %s refused: %s",
                    incoming.message_id,
                    incoming.sender,
                    refused.reason,
                )
                return Verdict(False, f"{refused.code} {refused.reason}")
            except DomainError as exc:
                session.rollback()
                log.info("mail %s from %s refused: %s", incoming.message_id, incoming.sender, exc)
                return Verdict(False, f"550 5.7.1 {_one_line(str(exc))}")
            except IntegrityError:  # the same message, taken in meanwhile by another delivery
                session.rollback()
                return _duplicate(incoming)
    finally:
        session.close()
    log.info("mail %s from %s taken in: %s", incoming.message_id, incoming.sender, outcome)
    return Verdict(True, "250 2.0.0 Thank you: received", outcome)


def _duplicate(incoming: Incoming) -> Verdict:
    log.info("mail %s from %s ignored: already taken in", incoming.message_id, incoming.sender)
    return Verdict(True, "250 2.0.0 Already received")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


@dataclass(frozen=True)
class _Sender:
    user_id: int
    org_id: int
    org_kind: str
    role: str

    def principal(self) -> Principal:
        return Principal(
            org_id=self.org_id, org_kind=self.org_kind, role=self.role, user_id=self.user_id
        )


def _sender(address: str) -> _Sender:
    with read_across() as reader:  # who wrote: nobody is identified yet
        row = reader.execute(
            select(
                User.id, User.org_id, User.role, User.active, Organization.kind, Organization.active
            )
            .join(Organization, Organization.id == User.org_id)
            .where(User.email == address)
        ).one_or_none()
    if row is None or not address:
        raise Refused("Unknown sender: write from the address of your portal account")
    if not (row[3] and row[5]):
        raise Refused("This account is not active")
    return _Sender(user_id=row[0], org_id=row[1], org_kind=row[4], role=row[2])


def _route(incoming: Incoming) -> str:
    """Write what the message becomes; raise Refused or a DomainError when it becomes nothing."""
    session = db.session
    if session.scalar(select(ReceivedMail.id).where(ReceivedMail.message_key == incoming.key)):
        raise _AlreadyIn()
    token_text = next(filter(None, map(tokens.token_in, incoming.recipients)), None)
    to_support = any(tokens.is_support_address(a) for a in incoming.recipients)
    if token_text is None and not to_support:
        raise Refused("No such recipient here", code="550 5.1.1")
    sender = _sender(incoming.sender)
    if token_text is None:
        return _open_case(incoming, sender)
    try:
        token = tokens.read_token(token_text)
    except tokens.BadToken as exc:
        raise Refused(f"This reply address is not valid ({exc}); answer on the portal") from None
    if token.user_id != sender.user_id:
        raise Refused("This reply address belongs to someone else; answer from your own address")
    target = targets.TARGETS.get(token.kind)
    if target is None:  # a genuine token of a kind no package registers (any more): not a crash
        log.warning(
            "mail %s: the reply address names %r, which no package takes mail for",
            incoming.message_id,
            token.kind,
        )
        raise Refused("This reply address is no longer answered by email; answer on the portal")
    if sender.org_kind == access.VENDOR and not target.staff_may_reply:
        raise Refused("Support staff answer cases on the portal, not by email")
    set_principal(session, sender.principal())
    model = target.model
    record = session.scalars(select(model).where(model.id == token.record_id)).one_or_none()
    if record is None:  # gone, or out of this person's sight now: the same answer
        raise Refused(f"No such {token.kind} for you")
    if not incoming.text:
        raise Refused("The message has no text of its own (only quoted history)")
    if incoming.files and not target.keeps_files:
        log.info(
            "mail %s: %d files left out (a %s keeps none)",
            incoming.message_id,
            len(incoming.files),
            token.kind,
        )
    kept = {"files": incoming.files} if target.keeps_files else {}
    target.reply(record, incoming.text, actor=sender.principal(), **kept)
    return f"{token.kind}_reply" if token.kind == "case" else f"{token.kind}_comment"


def _open_case(incoming: Incoming, sender: _Sender) -> str:
    session = db.session
    principal = sender.principal()
    if principal.is_vendor_staff:
        raise Refused("Support staff open cases on the portal, not by email")
    set_principal(session, principal)
    org = session.get(Organization, sender.org_id)
    targets.open_case(
        org,
        {"subject": incoming.subject, "description": incoming.text},
        actor=principal,
        files=incoming.files,
    )
    return "case"


class _AlreadyIn(Refused):
    def __init__(self) -> None:
        super().__init__("already received")
