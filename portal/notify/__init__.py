"""Notifications: in-app messages with an unread count, email through an outbox, and each user's
per-kind choice of email."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class NotificationKind:
    name: str
    label: object
    # Security mail (password reset, invitations) cannot be turned off.
    optional: bool = True


KINDS: dict[str, NotificationKind] = {}


def register_kind(name: str, label, optional: bool = True) -> NotificationKind:
    kind = NotificationKind(name, label, optional)
    KINDS[name] = kind
    return kind


register_kind("account.security", _l("Security of my account"), optional=False)
register_kind("account.invitation", _l("Invitations"), optional=False)
register_kind("admin.member_joined", _l("A person joined my organisation"))
register_kind("admin.organization_changed", _l("My organisation's settings changed"))
