"""One's sessions and authorised apps in the isolation matrix.

A session (``session_id``) or a passkey (``passkey_id``) is its own person's only: another
person's, a colleague's or vendor staff's included, is a 404. An authorised app (``client_id``,
on the revoke route) is one the signed-in person holds a live token of (the matrix's own bearer
token makes one so); any other client, of their organisation or another, is a 404. Each foreign
person and home colleague has a session whose User-Agent is a private marker, and the colleagues
hold a token of their organisation's client; each foreign person has a passkey with a private
marker for a name.
"""

from __future__ import annotations

from datetime import timedelta

from portal.clock import utcnow
from portal.identity.models import UserSession
from portal.identity.security.models import Passkey
from portal.oauth.models import OAuthClient, OAuthToken
from tests.isolation.world import World, record_kind


def _seed(db, w: World) -> None:
    for person in [*w.foreign_users, *w.colleague.values()]:
        marker = f"ZZQS-agent-of-person-{person.id}"
        db.add(
            UserSession(
                org_id=person.org_id,
                user_id=person.id,
                token_hash=f"matrix-session-{person.id}".ljust(64, "s"),
                expires_at=utcnow() + timedelta(hours=1),
                ip_address="192.0.2.77",
                user_agent=marker,
            )
        )
        w.private_markers.append(marker)
    # Foreign people only: a passkey would stop a colleague's password sign-in in other tests.
    for person in w.foreign_users:
        db.add(
            Passkey(
                org_id=person.org_id,
                user_id=person.id,
                name=f"ZZQP-passkey-of-person-{person.id}",
                credential_id=f"matrix-passkey-{person.id}",
                public_key=b"\x00",
                user_handle=f"matrix-handle-{person.id}",
            )
        )
        w.private_markers.append(f"ZZQP-passkey-of-person-{person.id}")
    for audience, colleague in w.colleague.items():
        db.add(
            OAuthToken(
                org_id=colleague.org_id,
                client_pk=w.clients[audience].id,
                user_id=colleague.id,
                access_token_hash=f"matrix-token-{colleague.id}".ljust(64, "t"),
                scope="organizations:read",
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    db.flush()


record_kind(
    "session_id",
    foreign=lambda db, w, role: [
        s.id for s in db.query(UserSession).filter(UserSession.user_id != w.users[role.name].id)
    ],
    own=lambda db, w, role: None,  # no page shows one session; ending one's own is tested apart
    seed=_seed,
)


def _authorised(db, w: World, role) -> set[int]:
    """The clients holding a token of the signed-in person (the matrix's own bearer token)."""
    held = db.query(OAuthToken.client_pk).filter(OAuthToken.user_id == w.users[role.name].id)
    return {pk for (pk,) in held}


record_kind(
    "client_id",
    foreign=lambda db, w, role: [
        c.id for c in db.query(OAuthClient) if c.id not in _authorised(db, w, role)
    ],
    own=lambda db, w, role: None,  # revoking one's own app is tested apart
)


record_kind(
    "passkey_id",
    foreign=lambda db, w, role: [
        p.id for p in db.query(Passkey).filter(Passkey.user_id != w.users[role.name].id)
    ],
    own=lambda db, w, role: None,  # removing one's own passkey is tested apart
)
