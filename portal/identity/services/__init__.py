"""Identity use cases: sign-in sessions, passwords, invitations, organisations and their users.

Services take plain values and a ``Principal`` as ``actor``, change state, write audit events and
queue notifications, and only flush: the view or command that called them commits once. Errors are
``DomainError``s whose message is safe to show.

Split by use case: ``accounts`` (sign-in, sessions, passwords), ``invitations``, ``users`` (roles,
deactivation, profile), ``organizations`` (vendor admins: organisations, their account managers),
``common`` (audit fields, email and password rules). This package names them all: callers use
``portal.identity.services``.
"""

from portal.identity.services.accounts import (
    account_for_sign_in,
    change_password,
    check_password,
    end_all_sessions,
    end_session,
    request_password_reset,
    reset_password,
    reset_token_is_valid,
    start_session,
    user_for_session,
)
from portal.identity.services.common import (
    ORG_AUDIT_FIELDS,
    USER_AUDIT_FIELDS,
    check_password_rules,
    normalise_email,
)
from portal.identity.services.invitations import (
    accept_invitation,
    check_may_manage_members,
    expire_invitations,
    invitation_for_token,
    invite_user,
    revoke_invitation,
)
from portal.identity.services.organizations import (
    account_manager_candidates,
    assign_account_manager,
    create_organization,
    set_organization_active,
    update_organization,
)
from portal.identity.services.users import (
    change_role,
    set_browser_timezone,
    set_user_active,
    update_profile,
)

__all__ = [
    "ORG_AUDIT_FIELDS", "USER_AUDIT_FIELDS", "accept_invitation", "account_for_sign_in",
    "account_manager_candidates", "assign_account_manager", "change_password", "change_role",
    "check_may_manage_members", "check_password", "check_password_rules",
    "create_organization", "end_all_sessions", "end_session", "expire_invitations",
    "invitation_for_token", "invite_user", "normalise_email", "request_password_reset",
    "reset_password", "reset_token_is_valid", "revoke_invitation", "set_browser_timezone",
    "set_organization_active", "set_user_active", "start_session", "update_organization",
    "update_profile",
    "user_for_session",
]  # fmt: skip
