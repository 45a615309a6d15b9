"""Erasure of one person's data: ``erase_person(user, actor, confirmation)`` anonymises the person
where their name and address are kept, deletes what only served them (sessions, tokens, second
factors, their notifications and mail), redacts the copies of their name and address in audit
payloads, and records one event without personal data. Refused while a record they acted on is
under legal hold, for the last active admin of an organisation, and for an account already
erased. Also the person's request for erasure and the legal hold on a record."""

from __future__ import annotations

import json
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, Text, cast, delete, func, or_, select, update

from portal import access, audit
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.db import Base, db, read_across, unscoped
from portal.errors import Conflict, Forbidden, InvalidInput
from portal.identity.models import User
from portal.identity.personal_data.rules import (
    DECISION_COLUMNS,
    EMAIL_COLUMN,
    ERASED_NAME,
    MENTIONS,
    NOT_THE_ACTOR,
    SERVING_TABLES,
    authored_by,
    check_may_handle,
    erased_email,
    models_acted_on,
    user_fk_columns,
)
from portal.notify.services import Link, tell
from portal.tenancy import Principal


def request_erasure(user: User, *, actor: Principal) -> None:
    """The person asks their organisation's admins to erase their data: the admins are told
    (with a link to the person's page, where they erase with a typed confirmation)."""
    if actor.user_id != user.id:
        raise Forbidden(_("Only the person themselves asks for their erasure."))
    tell(
        "people.erase",
        user.org_id,
        "admin.erasure_requested",
        _l("%(name)s asks for their personal data to be erased", name=user.name),
        _l("Open their page in People to export their data and erase it."),
        Link("identity.user_detail", (("user_id", user.id),)),
    )
    audit.record("user.erasure_requested", user, actor=actor)


def held_records(user_id: int) -> list[str]:
    """The records the person acted on that are under legal hold (read past the wall: a hold
    anywhere stops the erasure, whoever asks)."""
    held = []
    with read_across() as session:
        for mapper in Base.registry.mappers:
            model = mapper.class_
            if "legal_hold" not in model.__table__.columns:
                continue
            rule = authored_by(model, user_id)
            if rule is None:
                continue
            label = model.number if "number" in model.__table__.columns else model.id
            held += [
                str(v)
                for v in session.scalars(
                    select(label).where(model.legal_hold.is_(True), rule).order_by(label)
                )
            ]
    return held


def _redact(value, replacements: dict[str, str]):
    if isinstance(value, str):
        for old, new in replacements.items():
            if old and old.lower() in value.lower():
                value = re.sub(re.escape(old), new, value, flags=re.IGNORECASE)
        return value
    if isinstance(value, list):
        return [_redact(v, replacements) for v in value]
    if isinstance(value, dict):
        return {k: _redact(v, replacements) for k, v in value.items()}
    return value


def _redact_audit_payloads(replacements: dict[str, str]) -> int:
    """Replace the erased values in audit events' before/after copies; the rows, their actions,
    actors, objects and times stay as they were. Returns how many events were redacted."""
    table = AuditEvent.__table__
    needles = set()
    for old in replacements:
        needles |= {old, json.dumps(old)[1:-1]}  # as stored, and as JSON escapes it
    text_of = [cast(table.c.before, Text), cast(table.c.after, Text)]
    matches = or_(*(func.lower(t).contains(n.lower()) for t in text_of for n in needles if n))
    rows = db.session.execute(
        select(table.c.id, table.c.before, table.c.after).where(matches)
    ).all()
    if not rows:
        return 0
    bind = db.session.connection()
    postgres = bind.dialect.name == "postgresql"
    if postgres:  # the one UPDATE policy audit events have (migration 0038)
        db.session.execute(select(func.set_config("app.audit_redaction", "on", True)))
    for event_id, before, after in rows:
        db.session.execute(
            update(table)
            .where(table.c.id == event_id)
            .values(before=_redact(before, replacements), after=_redact(after, replacements))
        )
    if postgres:
        db.session.execute(select(func.set_config("app.audit_redaction", "off", True)))
    return len(rows)


def erase_person(user: User, *, actor: Principal, confirmation: str) -> None:
    """Anonymise ``user`` everywhere, keeping what they contributed (as "Former user").

    ``confirmation`` must repeat the person's email address. Raises Forbidden (not the actor's
    to erase), InvalidInput (confirmation), Conflict (already erased, a record under legal hold,
    the organisation's last active admin); nothing is changed then.
    """
    check_may_handle(user, actor, "people.erase")
    if user.erased_at is not None:
        raise Conflict(_("This person's data is already erased."))
    if (confirmation or "").strip().lower() != user.email.lower():
        raise InvalidInput(_("Type the person's email address to confirm."), field="confirmation")
    held = held_records(user.id)
    if held:
        raise Conflict(
            _(
                "This person cannot be erased while a case of theirs is under legal hold "
                "(%(records)s).",
                records=", ".join(held),
            )
        )
    if access.ROLES[user.role].is_admin and user.active:
        others = db.session.scalar(
            select(func.count(User.id)).where(
                User.org_id == user.org_id,
                User.id != user.id,
                User.active.is_(True),
                User.role.in_([r.name for r in access.ROLES.values() if r.is_admin]),
            )
        )
        if not others:
            raise Conflict(
                _("This person is the organisation's last admin: make someone else admin first.")
            )

    old_email, old_name, new_email = user.email, user.name, erased_email(user.id)
    replacements = {old_email: new_email, old_name: ERASED_NAME}
    user.email = new_email
    user.name = ERASED_NAME
    user.password_hash = None
    user.active = False
    user.erased_at = utcnow()
    user.last_login_at = None
    for column in User.__table__.columns:
        if (
            column.nullable
            and isinstance(column.type, String)
            and column.name not in {"email", "name", "role", "password_hash"}
        ):
            setattr(user, column.key, None)  # time zone, language and whatever else is theirs
    with unscoped():  # reason: an erasure reaches every organisation's copies of the person
        tables = Base.metadata.tables
        for name in SERVING_TABLES:
            if name in tables and "user_id" in tables[name].c:
                db.session.execute(delete(tables[name]).where(tables[name].c.user_id == user.id))
        outbox = tables.get("outbox_messages")
        if outbox is not None:
            db.session.execute(
                delete(outbox).where(
                    or_(outbox.c.user_id == user.id, func.lower(outbox.c.to_address) == old_email)
                )
            )
        for table in tables.values():
            if table.name == "users":
                continue
            for column in table.columns:
                if EMAIL_COLUMN.search(column.name) and isinstance(column.type, String):
                    db.session.execute(
                        update(table)
                        .where(func.lower(column) == old_email.lower())
                        .values({column.name: new_email})
                    )
        invitations = tables["invitations"]
        db.session.execute(
            update(invitations).where(invitations.c.email == new_email).values(name=ERASED_NAME)
        )
        for table in tables.values():  # a typed signature (a quote's acceptance) is theirs
            if "signer_name" in table.c and "decided_by_id" in table.c:
                values = {"signer_name": ERASED_NAME}
                for column in ("decided_ip", "decided_user_agent"):
                    if column in table.c:
                        values[column] = None
                db.session.execute(
                    update(table).where(table.c.decided_by_id == user.id).values(values)
                )
        for model in models_acted_on():  # their own words stay, without their name and address
            table = model.__table__
            authored = [
                table.c[c.name] == user.id
                for c in user_fk_columns(table)
                if c.name not in NOT_THE_ACTOR and c.name not in DECISION_COLUMNS
            ]
            texts = [  # words, not codes: a status is changed only by its workflow
                c
                for c in table.columns
                if isinstance(c.type, Text)
                or (isinstance(c.type, String) and (c.type.length or 0) >= 100)
            ]
            if not authored or not texts:
                continue
            for old, new in ((old_name, ERASED_NAME), (old_email, new_email)):
                if len(old) < 3:
                    continue
                for column in texts:
                    db.session.execute(
                        update(table)
                        .where(or_(*authored), column.contains(old))
                        .values({column.name: func.replace(column, old, new)})
                    )
        for name, columns in MENTIONS.items():
            table = tables.get(name)
            if table is None or len(old_name) < 3:
                continue
            for column in columns:
                db.session.execute(
                    update(table)
                    .where(table.c[column].contains(old_name))
                    .values({column: func.replace(table.c[column], old_name, ERASED_NAME)})
                )
        redacted = _redact_audit_payloads(replacements)
    audit.record(
        "user.erased",
        user,
        actor=actor,
        after={"erased_at": audit.plain(user.erased_at), "audit_events_redacted": redacted},
    )


def set_legal_hold(record, hold: bool, *, reason: str | None, actor: Principal) -> None:
    """Put a record (a case) under legal hold, or lift it: stamped with who, when and why, and
    audited. While it holds, the people who acted on it cannot be erased."""
    if bool(record.legal_hold) == hold:
        return
    fields = ["legal_hold", "legal_hold_by_id", "legal_hold_at", "legal_hold_reason"]
    before = audit.snapshot(record, fields)
    record.legal_hold = hold
    record.legal_hold_by_id = actor.user_id if hold else None
    record.legal_hold_at = utcnow() if hold else None
    record.legal_hold_reason = (reason or "").strip() or None if hold else None
    kind = record.workflow.name if hasattr(record, "workflow") else type(record).__name__.lower()
    audit.record(
        f"{kind}.legal_hold_{'set' if hold else 'lifted'}",
        record,
        actor=actor,
        before=before,
        after=audit.snapshot(record, fields),
    )
