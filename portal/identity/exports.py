"""The CSV exports of identity's lists (``portal.export``): organisations, the team's people,
the audit log. Each reads the list's own query and filters (``queries``), through the wall."""

from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy.orm import joinedload

from portal import audit, export
from portal.identity import queries
from portal.identity.models import Organization, User

Column = export.Column


def organization_rows(principal, args) -> Select:
    """The organisation list, filtered as its page is, with who manages each."""
    return queries.organizations(*queries.organization_filters(args)).options(
        joinedload(Organization.managed_by), joinedload(Organization.account_manager)
    )


def people_rows(principal, args) -> Select:
    """The people of the principal's organisation, as the Team page lists them."""
    return queries.users_of(principal.org_id).order_by(User.id)


def audit_rows(principal, args) -> Select:
    return queries.audit_log(queries.audit_filter(args)).options(joinedload(audit.AuditEvent.actor))


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str) if value else ""


def _manager(org: Organization) -> str:
    return org.account_manager.name if org.account_manager is not None else ""


SOURCES = [
    export.ExportSource(
        key="organisations",
        label=_l("Organisations"),
        action="orgs.view",
        audiences=("vendor",),
        columns=(
            Column(_l("ID"), lambda row: row.Organization.id),
            Column(_l("Name"), lambda row: row.Organization.name),
            Column(_l("Kind"), lambda row: row.Organization.kind),
            Column(_l("Tier"), lambda row: row.Organization.tier),
            Column(
                _l("Managed by"),
                lambda row: (
                    row.Organization.managed_by.name if row.Organization.managed_by else None
                ),
            ),
            Column(_l("Account manager"), lambda row: _manager(row.Organization)),
            Column(_l("Active"), lambda row: row.Organization.active),
            Column(_l("Created"), lambda row: row.Organization.created_at),
        ),
        statement=organization_rows,
    ),
    export.ExportSource(
        key="people",
        label=_l("Team"),
        action="users.view",
        columns=(
            Column(_l("ID"), lambda row: row.User.id),
            Column(_l("Name"), lambda row: row.User.name),
            Column(_l("Email"), lambda row: row.User.email),
            Column(_l("Role"), lambda row: row.User.role),
            Column(_l("Active"), lambda row: row.User.active),
            Column(_l("Created"), lambda row: row.User.created_at),
            Column(_l("Last sign-in"), lambda row: row.User.last_login_at),
        ),
        statement=people_rows,
    ),
    export.ExportSource(
        key="audit-log",
        label=_l("Audit log"),
        action="audit.view",
        audiences=("vendor",),
        columns=(
            Column(_l("ID"), lambda row: row.AuditEvent.id),
            Column(_l("When"), lambda row: row.AuditEvent.created_at),
            Column(_l("Action"), lambda row: row.AuditEvent.action),
            Column(_l("Description"), lambda row: audit.describe(row.AuditEvent.action)),
            Column(_l("Record type"), lambda row: row.AuditEvent.object_type),
            Column(_l("Record ID"), lambda row: row.AuditEvent.object_id),
            Column(_l("Organisation ID"), lambda row: row.AuditEvent.org_id),
            Column(_l("Actor ID"), lambda row: row.AuditEvent.actor_user_id),
            Column(
                _l("Actor"),
                lambda row: row.AuditEvent.actor.name if row.AuditEvent.actor else None,
            ),
            Column(_l("Actor's organisation ID"), lambda row: row.AuditEvent.actor_org_id),
            Column(_l("IP address"), lambda row: row.AuditEvent.ip_address),
            Column(_l("Before"), lambda row: _json(row.AuditEvent.before)),
            Column(_l("After"), lambda row: _json(row.AuditEvent.after)),
        ),
        statement=audit_rows,
    ),
]
