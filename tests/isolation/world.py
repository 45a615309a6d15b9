"""The world the isolation matrix runs in, and the kinds of records it knows.

Each record kind is named by the route parameter that carries its id (``user_id``...). A kind
says how to find records a role must NOT see (foreign: they must answer 404) and one it may see
(own: to check 403 on writes its role may not make), and may seed foreign records whose text
must never appear on other organisations' pages. Feature packages add their kinds in modules
``tests/isolation/kinds_*.py``, which the matrix imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from portal import access
from portal.clock import utcnow
from portal.identity.models import Invitation, Organization, User
from portal.identity.tokens import hash_token
from portal.notify.models import Notification
from portal.oauth.models import OAuthClient
from tests import factories


@dataclass(frozen=True)
class RecordKind:
    param: str
    foreign: Callable[[Session, World, access.Role], list[int]]
    # A record the role can see, or None if it sees none of this kind.
    own: Callable[[Session, World, access.Role], int | None]
    seed: Callable[[Session, World], None] | None = None


RECORD_KINDS: dict[str, RecordKind] = {}


def record_kind(param: str, *, foreign, own, seed=None) -> None:
    """Teach the matrix a route parameter."""
    RECORD_KINDS[param] = RecordKind(param, foreign, own, seed)


@dataclass
class World:
    vendor: Organization
    home: dict[str, Organization]  # audience -> the signed-in user's organisation
    foreign: list[Organization]  # organisations unrelated to any home organisation
    users: dict[str, User] = field(default_factory=dict)  # role -> signed-in user
    colleague: dict[str, User] = field(default_factory=dict)  # audience -> another user at home
    foreign_users: list[User] = field(default_factory=list)
    # Text of foreign organisations' records: never on a partner's or customer's page.
    markers: list[str] = field(default_factory=list)
    # Text that no other user may see, vendor staff included (another user's notifications,
    # another organisation's credentials).
    private_markers: list[str] = field(default_factory=list)
    clients: dict[str, OAuthClient] = field(default_factory=dict)  # audience -> API client


def _invitation(db, org: Organization, email: str) -> Invitation:
    inv = Invitation(
        org_id=org.id,
        email=email,
        name="Invited Person",
        role="partner_user" if org.kind != "customer" else "customer_user",
        token_hash=email.ljust(64, "x")[:64],
        expires_at=utcnow() + timedelta(days=3),
    )
    db.add(inv)
    db.flush()
    return inv


def _api_client(db, org: Organization, name: str) -> OAuthClient:
    client = OAuthClient(
        org_id=org.id,
        client_id=f"matrix-{org.id}-{len(name)}",
        name=name,
        secret_hash=hash_token("matrix-secret"),
        redirect_uris=[],
        scopes=" ".join(access.SCOPES),
        service_role=None,
    )
    db.add(client)
    db.flush()
    return client


def _notification(db, user: User, title: str) -> Notification:
    n = Notification(org_id=user.org_id, user_id=user.id, kind="admin.member_joined", title=title)
    db.add(n)
    db.flush()
    return n


def build_world(db) -> World:
    vendor = factories.vendor_org(db)
    reseller = factories.make_org(db, "reseller", name="Home Reseller Ltd")
    customer = factories.make_org(
        db, "customer", name="Home Customer plc", managed_by_id=reseller.id
    )
    foreign_reseller = factories.make_org(db, "reseller", name="Foreign Reseller ZZQX")
    foreign_customer = factories.make_org(
        db, "customer", name="Foreign Customer ZZQY", managed_by_id=foreign_reseller.id
    )
    w = World(
        vendor=vendor,
        home={"vendor": vendor, "partner": reseller, "customer": customer},
        foreign=[foreign_reseller, foreign_customer],
    )
    for role in access.ROLES.values():
        w.users[role.name] = factories.make_user(db, w.home[role.audience], role.name)
    for audience, org in w.home.items():
        w.colleague[audience] = factories.make_user(
            db, org, access.roles_for(org.kind)[-1].name, name=f"Colleague at {org.name}"
        )
        _invitation(db, org, f"pending-{audience}@home.test")
        w.clients[audience] = _api_client(db, org, f"Home client of {org.name}")
    for org in w.foreign:
        u = factories.make_user(
            db, org, email=f"secret-person@{org.kind}-zzq.test", name=f"Secret Person of {org.name}"
        )
        w.foreign_users.append(u)
        _invitation(db, org, f"invited-zzq@{org.kind}.test")
        _notification(db, u, f"Private note for {org.name}")
        _api_client(db, org, f"Secret client ZZQC of {org.name}")
        w.private_markers.append(f"Secret client ZZQC of {org.name}")
        w.markers += [org.name, u.email, f"invited-zzq@{org.kind}.test"]
    for audience, colleague in w.colleague.items():
        _notification(db, colleague, f"Colleague-only notice {audience} ZZQN")
        w.private_markers.append(f"Colleague-only notice {audience} ZZQN")
    for kind in RECORD_KINDS.values():
        if kind.seed is not None:
            kind.seed(db, w)
    return w


# The platform's own kinds.


def _is_vendor(role: access.Role) -> bool:
    return role.audience == "vendor"


record_kind(
    "notification_id",  # per user: foreign even inside one's own organisation
    foreign=lambda db, w, role: [
        n.id for n in db.query(Notification).all() if n.user_id != w.users[role.name].id
    ],
    own=lambda db, w, role: _notification(db, w.users[role.name], "Own notice").id,
)
record_kind(
    "api_client_id",  # credentials: only their own organisation sees them
    foreign=lambda db, w, role: [
        c.id for c in db.query(OAuthClient).filter(OAuthClient.org_id != w.home[role.audience].id)
    ],
    own=lambda db, w, role: w.clients[role.audience].id,
)
record_kind(
    "org_id",
    foreign=lambda db, w, role: [] if _is_vendor(role) else [o.id for o in w.foreign],
    own=lambda db, w, role: w.home[role.audience].id,
)
record_kind(
    "user_id",
    foreign=lambda db, w, role: [] if _is_vendor(role) else [u.id for u in w.foreign_users],
    own=lambda db, w, role: w.colleague[role.audience].id,
)
record_kind(
    "invitation_id",
    foreign=lambda db, w, role: (
        []
        if _is_vendor(role)
        else [
            i.id
            for i in db.query(Invitation).filter(Invitation.org_id.in_([o.id for o in w.foreign]))
        ]
    ),
    own=lambda db, w, role: (
        db.query(Invitation).filter_by(org_id=w.home[role.audience].id).first().id
    ),
)
