"""The security of one's account: a second factor (TOTP with recovery codes) asked after the
password, the list of one's sessions, the apps one has authorised, and an organisation's demand
for a second factor. The routes join the identity blueprint (``identity.security`` …)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


def init_app(app, bp) -> None:
    from portal import navigation
    from portal.identity.security import views

    views.routes.add_to(bp)
    navigation.add(
        navigation.NavItem(
            "identity.second_factor_policy",
            _l("Second factor"),
            "sso.manage",
            order=98,
            area="admin",
        )
    )


def before_request():
    """After the principal is resolved: note the session's "last seen", and keep a person who
    must enrol a second factor on the enrolment pages."""
    from portal.identity.security import sessions, views

    sessions.note_last_seen()
    return views.enrolment_gate()


def after_request(response):
    from portal.identity.security import sessions

    return sessions.stamp_last_seen(response)
