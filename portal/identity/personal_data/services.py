"""Export and erasure of one person's data.

Export: ``export_chunks(user, actor)`` is the zip's bytes, produced while they are sent
(zipstream-ng): one JSON file per kind of record, read in batches, and each file the person
uploaded read on its own when its turn comes, so memory does not grow with the number of files.
Every query runs on the requesting principal's session: the tenant wall decides what is in it.

Erasure: ``erase_person(user, actor, confirmation)`` anonymises the person where their name and
address are kept, deletes what only served them (sessions, tokens, second factors, their
notifications and mail), redacts the copies of their name and address in audit payloads, and
records one event without personal data. Refused while a record they acted on is under legal
hold, for the last active admin of an organisation, and for an account already erased.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import LargeBinary, String, Text, cast, delete, func, or_, select, update
from zipstream import ZIP_DEFLATED, ZipStream

from portal import access, audit
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.db import Base, db, read_across, unscoped
from portal.errors import Conflict, Forbidden, InvalidInput
from portal.identity.models import User
from portal.notify.services import Link, tell
from portal.tenancy import Principal

# The name an erased person is stored under (pages show it as it is; the label is translated
# where it is shown through ``FORMER_USER``).
ERASED_NAME = "Former user"
FORMER_USER = _l("Former user")

# Foreign keys to users that say whom a record is *about* or *assigned to*, not who acted: an
# agent's export does not carry every case assigned to them (the customer's words).
NOT_THE_ACTOR = {"assignee_id", "account_manager_id", "lead_id", "agent_id", "actor_user_id"}
# Foreign keys that say the person decided on someone else's record: only the decision's own
# fields are theirs (``DECISION_FIELDS``), not the record's text.
DECISION_COLUMNS = {
    "decided_by_id",
    "settled_by_id",
    "paid_by_id",
    "discount_approved_by_id",
    "updated_by_id",
    "legal_hold_by_id",
    # Records the person made about someone else (an invitation, a certification they
    # recorded, a lead they offered): that they did, not the other person's details.
    "invited_by_id",
    "recorded_by_id",
    "offered_by_id",
    "linked_by_id",
}
DECISION_FIELDS = re.compile(
    r"^(id|number|status|created_at|decided_.*|decision_.*|decline_.*|settle.*|paid_.*|signer_name|"
    r"discount_approved_.*|updated_at|legal_hold.*)$"
)
# Never exported: credentials and what stands for them.
SECRET = re.compile(r"(hash|secret|nonce|challenge|token|password|recovery)")
# Rows that only served the person: deleted when they are erased (tables added by later
# features are deleted as well where present).
SERVING_TABLES = (
    "user_sessions",
    "oauth_tokens",
    "oauth_authorization_codes",
    "external_identities",
    "notification_preferences",
    "notifications",
    "second_factors",
    "recovery_codes",
    "passkeys",
    "webauthn_credentials",
    "exports",
)
EMAIL_COLUMN = re.compile(r"(^|_)(email|to_address)$")
# Where other people's text mentions the person by name (a notification "Ada replied"): the
# name is replaced there.
MENTIONS = {"notifications": ("title", "body"), "outbox_messages": ("subject", "body_text")}
BATCH = 200


def erased_email(user_id: int) -> str:
    """A unique address that cannot receive mail (``.invalid`` is reserved, RFC 2606)."""
    return f"erased-{user_id}@invalid"


# The schema, read once: which models hold records a person acted on.


def _user_fk_columns(table) -> list:
    return [
        c
        for c in table.columns
        if any(fk.column.table.name == "users" and fk.column.name == "id" for fk in c.foreign_keys)
    ]


def _models() -> list[type]:
    found = []
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.local_table.name):
        table = mapper.local_table
        if mapper.class_ in (User, AuditEvent) or not hasattr(table, "columns"):
            continue
        if any(c.name not in NOT_THE_ACTOR for c in _user_fk_columns(table)):
            found.append(mapper.class_)
    return found


def _attr(model, column) -> object:
    return getattr(model, model.__mapper__.get_property_by_column(column).key)


def _authored_by(model, user_id: int):
    columns = [
        c
        for c in _user_fk_columns(model.__table__)
        if c.name not in NOT_THE_ACTOR and c.name not in DECISION_COLUMNS
    ]
    return or_(*(_attr(model, c) == user_id for c in columns)) if columns else None


def _decided_by(model, user_id: int):
    columns = [c for c in _user_fk_columns(model.__table__) if c.name in DECISION_COLUMNS]
    return or_(*(_attr(model, c) == user_id for c in columns)) if columns else None


def _exported_columns(model, decision_only: bool) -> list:
    columns = []
    for column in model.__table__.columns:
        if isinstance(column.type, LargeBinary) or SECRET.search(column.name):
            continue
        if decision_only and not DECISION_FIELDS.match(column.name):
            continue
        columns.append(column)
    return columns


def _row(obj, columns) -> dict:
    return {
        c.name: audit.plain(getattr(obj, obj.__mapper__.get_property_by_column(c).key))
        for c in columns
    }


def _json_array(rows: Iterator[dict]) -> Iterator[bytes]:
    yield b"["
    first = True
    for row in rows:
        yield (b"\n" if first else b",\n") + json.dumps(row, ensure_ascii=False).encode()
        first = False
    yield b"\n]\n"


def _records(model, user_id: int) -> Iterator[dict]:
    """The person's records of ``model`` the session's principal sees: whole where they acted
    on it, only the decision's fields where they decided on someone else's."""
    authored, decided = _authored_by(model, user_id), _decided_by(model, user_id)
    full = _exported_columns(model, decision_only=False)
    part = _exported_columns(model, decision_only=True)
    seen = set()
    for rule, columns in ((authored, full), (decided, part)):
        if rule is None:
            continue
        query = select(model).where(rule).order_by(model.__mapper__.primary_key[0])
        for obj in db.session.scalars(query.execution_options(yield_per=BATCH)):
            key = obj.__mapper__.primary_key_from_instance(obj)[0]
            if key in seen:
                continue
            seen.add(key)
            yield _row(obj, columns)


def _has_records(model, user_id: int) -> bool:
    rules = [
        r for r in (_authored_by(model, user_id), _decided_by(model, user_id)) if r is not None
    ]
    pk = model.__mapper__.primary_key[0]
    return db.session.execute(select(pk).where(or_(*rules)).limit(1)).first() is not None


def _profile(user: User) -> dict:
    profile = {
        c.name: audit.plain(getattr(user, c.key))
        for c in User.__table__.columns
        if not SECRET.search(c.name) and c.name != "version"
    }
    profile["role_label"] = str(access.ROLES[user.role].label)
    profile["organization"] = {"id": user.org.id, "name": user.org.name, "kind": user.org.kind}
    return profile


def _own_audit_events(user_id: int) -> Iterator[dict]:
    """What the person did (their own actions, as the principal sees the trail): the action,
    the record and the time, not the values (which are other people's as often as theirs)."""
    query = (
        select(
            AuditEvent.id,
            AuditEvent.created_at,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
            AuditEvent.ip_address,
        )
        .where(AuditEvent.actor_user_id == user_id)
        .order_by(AuditEvent.id)
    )
    for row in db.session.execute(query.execution_options(yield_per=BATCH)):
        yield {k: audit.plain(v) for k, v in row._asdict().items()}


def _uploaded_files(model) -> bool:
    columns = model.__table__.columns
    return (
        "content" in columns
        and isinstance(columns["content"].type, LargeBinary)
        and "filename" in columns
        and "uploaded_by_id" in columns
    )


def _content_of(model, file_id: int) -> Iterator[bytes]:
    """One file's bytes, read only when the zip reaches it."""
    content = db.session.execute(select(model.content).where(model.id == file_id)).scalar_one()
    yield content


def check_may_handle(user: User, actor: Principal, action: str) -> None:
    """Raise Forbidden unless ``actor`` may export (``people.export_data``) or erase
    (``people.erase``) ``user``'s data; everyone may export their own."""
    if action == "people.export_data" and actor.user_id == user.id:
        return
    if not access.may_handle_personal_data(
        actor.role, actor.org_id, actor.org_kind, actor.user_id, user.org_id, user.id, action
    ):
        raise Forbidden(_("You may not do this for this person."))


def record_export(user: User, *, actor: Principal) -> None:
    """Check and audit an export before it streams (the event names nobody: ids only)."""
    check_may_handle(user, actor, "people.export_data")
    audit.record(
        "user.data_exported", user, actor=actor, after={"exported_at": audit.plain(utcnow())}
    )


def export_filename(user: User, at: datetime) -> str:
    return f"personal-data-{user.id}-{at:%Y%m%d}.zip"


def export_chunks(user: User, *, actor: Principal) -> Iterator[bytes]:
    """The zip of ``user``'s data, as the session's principal may see it, produced while it is
    read: ``manifest.json``, ``profile.json``, ``audit_events.json``, one ``records/<table>.json``
    per kind of record the person acted on, and ``files/<table>/<id>-<name>`` per file they
    uploaded. Which files there are is read now (ids and names); the records and each file's
    bytes when the zip reaches them, on whatever session then serves the principal."""
    user_id = user.id
    stream = ZipStream(compress_type=ZIP_DEFLATED, sized=False)
    manifest = {
        "person_id": user_id,
        "exported_at": audit.plain(utcnow()),
        "exported_by": actor.user_id,
        "contents": _(
            "Your profile, the records you created or decided on, your notifications and the "
            "files you uploaded, as the person who asked for this export may see them."
        ),
    }
    stream.add(json.dumps(manifest, ensure_ascii=False, indent=2).encode(), "manifest.json")
    stream.add(json.dumps(_profile(user), ensure_ascii=False, indent=2).encode(), "profile.json")
    stream.add(_json_array(_own_audit_events(user_id)), "audit_events.json")
    for model in _models():
        if not _has_records(model, user_id):
            continue
        table = model.__tablename__
        stream.add(_json_array(_records(model, user_id)), f"records/{table}.json")
        if _uploaded_files(model):
            ids = db.session.execute(
                select(model.id, model.filename)
                .where(model.uploaded_by_id == user_id)
                .order_by(model.id)
            ).all()
            for file_id, filename in ids:
                stream.add(_content_of(model, file_id), f"files/{table}/{file_id}-{filename}")
    return iter(stream)


# Erasure.


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
            rule = _authored_by(model, user_id)
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
        for model in _models():  # their own words stay, without their name and address
            table = model.__table__
            authored = [
                table.c[c.name] == user.id
                for c in _user_fk_columns(table)
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


__all__ = [
    "ERASED_NAME",
    "FORMER_USER",
    "check_may_handle",
    "erase_person",
    "erased_email",
    "export_chunks",
    "export_filename",
    "held_records",
    "record_export",
    "request_erasure",
    "set_legal_hold",
]
