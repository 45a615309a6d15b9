"""Export of one person's data: ``export_chunks(user, actor)`` is the zip's bytes, produced while
they are sent (zipstream-ng): one JSON file per kind of record, read in batches, and each file the
person uploaded read on its own when its turn comes, so memory does not grow with the number of
files. Every query runs on the requesting principal's session: the tenant wall decides what is in
it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import LargeBinary, or_, select
from zipstream import ZIP_DEFLATED, ZipStream

from portal import access, audit
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.db import db
from portal.identity.models import User
from portal.identity.personal_data.rules import (
    DECISION_FIELDS,
    SECRET,
    authored_by,
    check_may_handle,
    decided_by,
    models_acted_on,
)
from portal.tenancy import Principal

BATCH = 200


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
    authored, decided = authored_by(model, user_id), decided_by(model, user_id)
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
    rules = [r for r in (authored_by(model, user_id), decided_by(model, user_id)) if r is not None]
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
    for model in models_acted_on():
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
