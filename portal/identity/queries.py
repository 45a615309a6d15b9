"""Read side of identity: what list pages show, through the tenant wall."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from portal import access, people
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.db import db, get_or_404, read_across
from portal.identity.models import (
    SUPPLIER_RELATIONSHIPS,
    Invitation,
    InvitationStatus,
    Organization,
    User,
)
from portal.keyset import KeysetPage, keyset_page
from portal.web import choices


def users_of(org_id: int) -> Select:
    return select(User).where(User.org_id == org_id).order_by(User.name)


def people_of(org_id: int, limit: int = 100) -> list[User]:
    """The people of an organisation that the principal may see (a partner sees none of its
    customers' people), by name; the organisation page shows the first ``limit``."""
    return db.session.scalars(users_of(org_id).limit(limit)).all()


def pending_invitations_of(org_id: int) -> list[Invitation]:
    """The open invitations of an organisation (pending, and not past their expiry)."""
    return db.session.scalars(
        select(Invitation)
        .where(
            Invitation.org_id == org_id,
            Invitation.status == InvitationStatus.pending,
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc())
    ).all()


# What each supplier relationship is called (portal.identity.models.SUPPLIER_RELATIONSHIPS).
SUPPLIER_RELATIONSHIP_LABELS = {
    "buy_the_market": _l("Buy the market"),
    "ongoing_relationship": _l("Ongoing relationship"),
    "partnership": _l("Partnership"),
    "strategic_alliance": _l("Strategic alliance"),
    "backward_integration": _l("Backward integration"),
}


def supplier_relationship_label(code: str | None) -> str:
    """The relationship's name, or "" for none."""
    return str(SUPPLIER_RELATIONSHIP_LABELS.get(code, "")) if code else ""


def organization_filters(args) -> tuple[str | None, str | None, str | None]:
    """The organisation list's filters from its query string, ``(kind, search, relationship)``:
    an unknown kind or relationship is no filter (the list page and its CSV export read them
    here). A supplier relationship implies the supplier kind."""
    kind = args.get("kind") or None
    if kind not in (None, *access.ORG_KINDS):
        kind = None
    search = (args.get("q") or "").strip() or None
    relationship = args.get("relationship") or None
    if relationship not in SUPPLIER_RELATIONSHIPS:
        relationship = None
    return kind, search, relationship


def organizations(
    kind: str | None = None, search: str | None = None, relationship: str | None = None
) -> Select:
    stmt = select(Organization).order_by(Organization.kind, Organization.name)
    if kind:
        stmt = stmt.where(Organization.kind == kind)
    if search:
        stmt = stmt.where(Organization.name.ilike(f"%{search.strip()}%"))
    if relationship:
        stmt = stmt.where(Organization.supplier_relationship == relationship)
    return stmt


def audit_filter(args) -> str | None:
    """The audit log's filter from its query string: the start of an action, or None."""
    return (args.get("action") or "").strip() or None


def audit_log(action: str | None = None) -> Select:
    """Audit events the principal may read, newest first; ``action``: those whose action starts
    with it."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    return stmt


def partner_choices() -> list:
    partners = db.session.scalars(
        select(Organization)
        .where(Organization.kind.in_(access.PARTNER_KINDS), Organization.active.is_(True))
        .order_by(Organization.name)
    )
    return choices([("", "—")] + [(str(o.id), o.name) for o in partners])


def serving_partner_name(org: Organization) -> str | None:
    """The name of the partner that manages a customer. A customer may read that name and nothing
    else of the partner's organisation, whose row its visibility rule (and RLS) keeps hidden:
    a reviewed exception to the wall, for one column."""
    if org.managed_by_id is None:
        return None
    with read_across() as reader:
        return reader.scalar(select(Organization.name).where(Organization.id == org.managed_by_id))


# The organisation page.


def organization_for_page(org_id: int, principal) -> Organization:
    """The organisation whose page ``principal`` may open, else 404: vendor staff any, a partner
    its own and the customers it manages, a customer its own. The wall shows everyone the vendor's
    row too (its name on quotes and cases); its page is the vendor staff's only."""
    org = get_or_404(Organization, org_id)
    if org.kind == access.VENDOR and not principal.is_vendor_staff:
        abort(404)
    return org


# The organisation page names a partner's first customers; all of them are on a page of their
# own (a partner may manage hundreds: listed inline they made the page 40 ms and a wall of links).
CUSTOMERS_SHOWN = 12
CUSTOMER_SORTS = {"name": ((Organization.name, Organization.id), False)}


def managed_customers(org_id: int, *, limit: int = CUSTOMERS_SHOWN) -> tuple[list, int]:
    """The first ``limit`` customers the partner ``org_id`` manages (by name) that the
    principal sees, and how many it sees in all."""
    managed = select(Organization).where(Organization.managed_by_id == org_id)
    first = db.session.scalars(managed.order_by(Organization.name, Organization.id).limit(limit))
    count = db.session.scalar(
        select(func.count()).select_from(managed.with_only_columns(Organization.id).subquery())
    )
    return list(first), count


def managed_customers_page(
    org_id: int, *, after: str | None = None, before: str | None = None
) -> KeysetPage:
    """The customers the partner ``org_id`` manages, by name, paged by key. Raises
    portal.keyset.InvalidCursor for a cursor this portal did not give."""
    stmt = select(Organization).where(Organization.managed_by_id == org_id)
    return keyset_page(stmt, CUSTOMER_SORTS, "name", after=after, before=before, per_page=50)


def account_manager_of(org: Organization) -> people.Person | None:
    """The organisation's account manager as plain values (name, email), read across the wall:
    a customer or partner sees no vendor user's row, but may read who looks after it."""
    return people.person(org.account_manager_id)


def account_manager_for(org_id: int) -> people.Person | None:
    """The account manager of the organisation ``org_id`` if the principal sees that
    organisation (a case's or a quote's page shows it in one line)."""
    manager_id = db.session.scalar(
        select(Organization.account_manager_id).where(Organization.id == org_id)
    )
    return people.person(manager_id)


def account_manager_choices() -> list:
    from portal.identity.services import account_manager_candidates

    candidates = account_manager_candidates()
    pairs = [(str(p.id), f"{p.name} <{p.email}>") for p in candidates]
    return choices([("", _("Nobody"))] + pairs)


TIMELINE_SORTS = {"newest": ((AuditEvent.id,), True)}


def timeline(org_id: int, *, after: str | None = None, before: str | None = None) -> KeysetPage:
    """The audit events of the organisation's records (an event's ``org_id`` is the organisation
    of the record it changed), newest first, paged by key, as the principal may see them (vendor
    staff all, an organisation's admins its own, others what they did themselves).
    Raises portal.keyset.InvalidCursor for a cursor this portal did not give."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.org_id == org_id)
        .options(selectinload(AuditEvent.actor))
    )
    return keyset_page(stmt, TIMELINE_SORTS, "newest", after=after, before=before, per_page=20)


def actor_organizations(events) -> dict[int, str]:
    """The names of the visible organisations that acted in ``events``: who did it, where the
    person is not visible (a vendor agent, seen by a customer's admin)."""
    ids = {e.actor_org_id for e in events if e.actor_org_id is not None}
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(ids))
        ).all()
    )
