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


def views_blueprint():
    from portal.notify.views import bp

    return bp


def init_app(app) -> None:
    """The platform's own kinds of notification, and the outbox's retries."""
    from portal import jobs
    from portal.notify import services

    register_kind("account.security", _l("Security of my account"), optional=False)
    register_kind("account.invitation", _l("Invitations"), optional=False)
    register_kind("admin.member_joined", _l("A person joined my organisation"))
    register_kind("admin.organization_changed", _l("My organisation's settings changed"))
    jobs.add_periodic("retry_outbox", services.retry_outbox)
