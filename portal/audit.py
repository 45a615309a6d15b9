"""Append-only audit events: who, for which organisation, did what to which record, with the
values before and after."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, event, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from portal.clock import utcnow
from portal.db import Base, TenantOwned, db, unscoped


class AuditEvent(TenantOwned, Base):
    """``org_id`` is the organisation the changed record belongs to, so its admins can read it."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[int | None]
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip_address: Mapped[str | None] = mapped_column(String(45))

    actor = relationship("User", foreign_keys=[actor_user_id])

    @classmethod
    def visible_to(cls, principal) -> ColumnElement[bool]:
        """Vendor staff see all (the page itself is for vendor admins); an organisation's admins
        see the history of their own organisation's records."""
        from portal import access

        if principal.is_vendor_staff:
            return true()
        if access.ROLES[principal.role].is_admin:
            return cls.org_id == principal.org_id
        return cls.actor_user_id == principal.user_id

    @classmethod
    def creatable_by(cls, principal, org_id: int) -> bool:
        # Anyone who changes a record it can see records the event in that record's organisation
        # (a vendor admin deactivating a partner's user writes into the partner's history).
        return True


class AppendOnly(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise AppendOnly("audit events are append-only")


_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def plain(value: Any) -> Any:
    """A value as JSON can hold it (times as ISO 8601, money as a string)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def shown(value: Any) -> str:
    """A recorded value as a person reads it in a history: times and days in their time zone
    and locale, lists and mappings as words, nothing as a dash (the stored JSON stays exact)."""
    from portal import formatting

    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str) and (_ISO_MOMENT.match(value) or _ISO_DAY.match(value)):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if _ISO_DAY.match(value):
            return formatting.date(moment.date())
        return formatting.datetime(moment)
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {shown(v)}" for k, v in value.items() if v not in (None, ""))
    return str(value)


# What an event did, by the last part of its action, where that part is not a status of the
# record's workflow ("deal.registered", "case.watcher_added"). An action not listed here reads
# as its words ("conflicts flagged").
WHAT = {
    "created": _l("created"), "edited": _l("edited"), "updated": _l("updated"),
    "registered": _l("registered"), "submitted": _l("submitted"), "opened": _l("opened"),
    "assigned": _l("assigned"), "reminded": _l("reminder sent"), "activated": _l("activated"),
    "deactivated": _l("deactivated"), "joined": _l("joined"),
    "joined_by_sso": _l("joined through single sign-on"), "imported": _l("imported"),
    "saved": _l("saved"), "changed": _l("changed"), "configured": _l("configured"),
    "status_changed": _l("status changed"), "role_changed": _l("role changed"),
    "tier_changed": _l("tier changed"), "coverage_changed": _l("coverage changed"),
    "password_changed": _l("password changed"), "password_reset": _l("password reset"),
    "secret_rotated": _l("secret renewed"), "conflicts_flagged": _l("possible conflicts flagged"),
    "extended": _l("protection extended"), "extension_requested": _l("extension requested"),
    "extension_declined": _l("extension declined"), "line_added": _l("line added"),
    "line_removed": _l("line removed"), "discount_approved": _l("discount approved"),
    "revised": _l("revised"), "revision_discarded": _l("revision discarded"),
    "requested": _l("requested"), "request_closed": _l("request closed"),
    "request_quoted": _l("request answered with a quote"), "watcher_added": _l("watcher added"),
    "watcher_removed": _l("watcher removed"), "sla_breached": _l("SLA target missed"),
    "merged": _l("merged"), "reopened": _l("reopened"), "no_partner": _l("no partner found"),
    "voted": _l("vote added"), "unvoted": _l("vote withdrawn"), "case_linked": _l("case linked"),
    "break_set": _l("price break set"), "rule_added": _l("rule added"),
    "rule_removed": _l("rule removed"), "unscheduled": _l("unscheduled"),
    "account_manager": _l("account manager assigned"),
}  # fmt: skip
# The subject of events about records that have no workflow to name them.
SUBJECTS = {
    "user": _l("user"), "organization": _l("organisation"), "partner": _l("partner"),
    "tier": _l("tier"), "product": _l("product"), "kb_category": _l("category"),
    "case_settings": _l("case settings"), "sla_policy": _l("SLA policy"),
    "support_team": _l("support team"), "direct_deal": _l("direct deal"),
    "sso": _l("single sign-on"), "quotes": _l("quote"),
}  # fmt: skip
# Field labels where the field's words are not enough; others read as their words.
FIELD_LABELS = {
    "status": _l("status"), "expires_at": _l("protected until"), "value": _l("value"),
    "customer_name": _l("customer"), "customer_domain": _l("customer's domain"),
    "contact_email": _l("contact's email"), "expected_close": _l("expected close"),
    "decision_reason": _l("reason"), "extension_requested_days": _l("extension (days)"),
    "extension_request_reason": _l("extension reason"), "extension_outcome": _l("extension"),
    "extension_response": _l("answer to the extension"), "valid_until": _l("valid until"),
    "respond_by": _l("answer by"), "responded_at": _l("answered"), "status_reason": _l("reason"),
    "vote_count": _l("votes"), "managed_by": _l("managed by"), "redirect_uris": _l("redirect URIs"),
    "service_role": _l("service role"), "allowed_domains": _l("allowed domains"),
    "default_role": _l("default role"), "password_login_allowed": _l("password sign-in allowed"),
}  # fmt: skip
# Fields a reader gains nothing from: record ids (the page links what matters), hashes,
# counters of the storage.
HIDDEN_FIELDS = {"id", "version", "config_version", "pdf_sha256", "pdf"}
MONEY_FIELDS = {"value", "total", "subtotal", "list_price", "unit_price", "amount"}


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None  # None: the event set the field, it did not change one
    after: str


@dataclass(frozen=True)
class Entry:
    """One event of a history as a person reads it."""

    event: AuditEvent
    sentence: str
    changes: list[Change]


def _workflows() -> dict[str, Any]:
    from portal.workflow import workflows_by_name

    return workflows_by_name()


def status_label(status: str | None, kind: str) -> str:
    """The label of a status of the workflow named ``kind`` ("info_requested" of "deal" is
    "Information requested"); the status's words where no workflow has that name."""
    if not status:
        return ""
    workflow = _workflows().get(kind)
    if workflow is not None:
        return workflow.label(status)
    return _(str(status).replace("_", " "))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def describe(action: str) -> str:
    """An audit action as a sentence: "deal.approved" is "Registration approved",
    "case.watcher_added" is "Case watcher added"."""
    kind, _sep, what = action.partition(".")
    workflow = _workflows().get(kind)
    subject = str(workflow.noun or kind) if workflow else str(SUBJECTS.get(kind, kind))
    subject = subject.replace("_", " ")
    if workflow is not None and what in {s.value for s in workflow.statuses}:
        done = _lower_first(workflow.label(what))
    else:
        done = str(WHAT.get(what, what.replace("_", " ")))
    return _("%(subject)s %(what)s", subject=subject[:1].upper() + subject[1:], what=done)


def _field_label(key: str) -> str:
    label = str(FIELD_LABELS.get(key, key.replace("_", " ")))
    return label[:1].upper() + label[1:]


def _shown_field(key: str, value: Any, kind: str, values: dict) -> str:
    from portal import access, formatting

    workflow = _workflows().get(kind)
    if workflow is not None and key == workflow.attribute and value:
        return workflow.label(value)
    if key in ("role", "default_role", "service_role") and value in access.ROLES:
        return str(access.ROLES[value].label)
    if key in MONEY_FIELDS and values.get("currency") and value not in (None, ""):
        try:
            return formatting.money(Decimal(str(value)), values["currency"])
        except (InvalidOperation, ValueError):
            pass
    return shown(value)


def describe_event(event: AuditEvent) -> Entry:
    """A sentence for the event and the fields it changed, labelled: ids, hashes and storage
    counters left out; on an event that creates a record, its empty fields and its status (the
    sentence says it) left out; a status shown by its label, money with its currency."""
    kind = event.action.partition(".")[0]
    before, after = event.before or {}, event.after or {}
    status = getattr(_workflows().get(kind), "attribute", "status")
    changes = []
    for key, value in after.items():
        if key in HIDDEN_FIELDS or key.endswith(("_id", "_ids")):
            continue
        if key == "currency" and any(k in MONEY_FIELDS for k in after):
            continue  # shown with the amount
        if before:
            if key in before and before.get(key) == value:
                continue
            was = _shown_field(key, before.get(key), kind, before) if key in before else None
        else:
            if value in (None, "", [], {}) or key == status:
                continue
            was = None
        changes.append(Change(_field_label(key), was, _shown_field(key, value, kind, after)))
    return Entry(event, describe(event.action), changes)


def described(events) -> list[Entry]:
    """A history's events as people read them (the template filter ``described``)."""
    return [describe_event(e) for e in events]


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """The named attributes of ``obj`` as JSON-ready values, for ``before`` and ``after``."""
    return {f: plain(getattr(obj, f)) for f in fields}


def record(
    action: str,
    obj: Any,
    *,
    actor,
    org_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    session: Session | None = None,
) -> AuditEvent:
    """Add an audit event to the current session (committed with the change it describes).

    ``actor`` is a ``Principal`` or None for the system (jobs, tick); the client address it
    carries is recorded. ``org_id`` defaults to the record's own organisation. ``session``
    defaults to the shared one (the request's, or the job's that ``portal.jobs`` bound).
    """
    session = session if session is not None else db.session
    if obj.id is None:
        session.flush()
    owner = org_id if org_id is not None else getattr(obj, "org_id", None) or obj.id
    event_row = AuditEvent(
        org_id=owner,
        actor_user_id=actor.user_id if actor else None,
        actor_org_id=actor.org_id if actor else None,
        action=action,
        object_type=type(obj).__name__,
        object_id=obj.id,
        before=before,
        after=after,
        ip_address=getattr(actor, "ip_address", None),
    )
    # Written whatever the caller's scope: an event may belong to another organisation (a
    # partner's submit flags a conflict in the vendor's history), and PostgreSQL would refuse
    # the INSERT's RETURNING row under the partner's read policy.
    with unscoped(session):  # reason: the event may belong to another organisation
        session.add(event_row)
    return event_row


def history_for(obj: Any, limit: int = 50) -> list[AuditEvent]:
    """The audit trail of one record, newest first, as the current principal may see it."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == type(obj).__name__, AuditEvent.object_id == obj.id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )
