"""What the identity use cases share: audit fields, email and password rules."""

from __future__ import annotations

from flask_babel import gettext as _

from portal.errors import InvalidInput
from portal.identity import passwords

USER_AUDIT_FIELDS = ["email", "name", "role", "active"]


ORG_AUDIT_FIELDS = ["name", "kind", "tier", "managed_by_id", "supplier_relationship", "active"]


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password_rules(password: str, email: str = "") -> None:
    if len(password or "") < passwords.MIN_LENGTH:
        raise InvalidInput(
            _("Use at least %(n)d characters.", n=passwords.MIN_LENGTH), field="password"
        )
    if email and password.strip().lower() == normalise_email(email):
        raise InvalidInput(_("Your password cannot be your email address."), field="password")
