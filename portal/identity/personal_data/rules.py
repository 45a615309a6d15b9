"""What of the schema is a person's data, and who may export or erase it: shared by
``export`` and ``erasure``. Read from the foreign keys to ``users`` rather than naming feature
models, so a table added later is exported and erased without a change here."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import or_

from portal import access
from portal.audit import AuditEvent
from portal.db import Base
from portal.errors import Forbidden
from portal.identity.models import User
from portal.tenancy import Principal

# The name an erased person is stored under; pages show it as stored (in English).
ERASED_NAME = "Former user"

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


def erased_email(user_id: int) -> str:
    """A unique address that cannot receive mail (``.invalid`` is reserved, RFC 2606)."""
    return f"erased-{user_id}@invalid"


def user_fk_columns(table) -> list:
    return [
        c
        for c in table.columns
        if any(fk.column.table.name == "users" and fk.column.name == "id" for fk in c.foreign_keys)
    ]


def models_acted_on() -> list[type]:
    found = []
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.local_table.name):
        table = mapper.local_table
        if mapper.class_ in (User, AuditEvent) or not hasattr(table, "columns"):
            continue
        if any(c.name not in NOT_THE_ACTOR for c in user_fk_columns(table)):
            found.append(mapper.class_)
    return found


def attr(model, column) -> object:
    return getattr(model, model.__mapper__.get_property_by_column(column).key)


def authored_by(model, user_id: int):
    columns = [
        c
        for c in user_fk_columns(model.__table__)
        if c.name not in NOT_THE_ACTOR and c.name not in DECISION_COLUMNS
    ]
    return or_(*(attr(model, c) == user_id for c in columns)) if columns else None


def decided_by(model, user_id: int):
    columns = [c for c in user_fk_columns(model.__table__) if c.name in DECISION_COLUMNS]
    return or_(*(attr(model, c) == user_id for c in columns)) if columns else None


def check_may_handle(user: User, actor: Principal, action: str) -> None:
    """Raise Forbidden unless ``actor`` may export (``people.export_data``) or erase
    (``people.erase``) ``user``'s data; everyone may export their own."""
    if action == "people.export_data" and actor.user_id == user.id:
        return
    if not access.may_handle_personal_data(
        actor.role, actor.org_id, actor.org_kind, actor.user_id, user.org_id, user.id, action
    ):
        raise Forbidden(_("You may not do this for this person."))
