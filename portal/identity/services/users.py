"""Users of an organisation: their role, deactivation, and one's own profile."""

from __future__ import annotations

from flask_babel import gettext as _

from portal import access, audit, formatting
from portal.errors import Forbidden, InvalidInput
from portal.identity.models import User
from portal.identity.services.accounts import end_all_sessions
from portal.identity.services.common import USER_AUDIT_FIELDS
from portal.tenancy import Principal


def change_role(user: User, role: str, *, actor: Principal) -> None:
    if not access.may_manage_user(actor.role, actor.user_id, user.id):
        raise Forbidden(_("You cannot change your own role."))
    if role not in {r.name for r in access.roles_for(user.org_kind)}:
        raise InvalidInput(_("That role does not exist for this organisation."), field="role")
    before = audit.snapshot(user, USER_AUDIT_FIELDS)
    user.role = role
    end_all_sessions(user.id)  # rights changed: sign in again with the new ones
    audit.record(
        "user.role_changed",
        user,
        actor=actor,
        before=before,
        after=audit.snapshot(user, USER_AUDIT_FIELDS),
    )


def set_user_active(user: User, active: bool, *, actor: Principal) -> None:
    if not access.may_manage_user(actor.role, actor.user_id, user.id):
        raise Forbidden(_("You cannot deactivate your own account."))
    if user.active == active:
        return
    before = audit.snapshot(user, USER_AUDIT_FIELDS)
    user.active = active
    if not active:
        end_all_sessions(user.id)
    audit.record(
        "user.activated" if active else "user.deactivated",
        user,
        actor=actor,
        before=before,
        after=audit.snapshot(user, USER_AUDIT_FIELDS),
    )


def update_profile(user: User, *, name: str, timezone: str) -> None:
    if not name.strip():
        raise InvalidInput(_("Give your name."), field="name")
    if formatting.zone_or_none(timezone) is None:
        raise InvalidInput(_("Unknown time zone."), field="timezone")
    user.name, user.timezone = name.strip(), timezone


def set_browser_timezone(user: User, timezone: str) -> bool:
    """Store the time zone ``user``'s browser reports, once: only while they have none, so a zone
    they chose (or one stored before) stays. Returns whether it was stored; ``InvalidInput`` for
    a name that is not an IANA time zone."""
    if formatting.zone_or_none(timezone) is None:
        raise InvalidInput(_("Unknown time zone."), field="timezone")
    if user.timezone:
        return False
    user.timezone = timezone
    return True
