"""Use cases of segments: create, change and delete one. Each checks the actor may manage
segments, validates the criteria against the registry, writes an audit event and flushes; the
caller commits.

Raises ``Forbidden`` (the actor's role does not manage segments), ``InvalidInput`` (a name
missing, too long or taken; a criterion unknown, off its list or out of its bounds), and
``Conflict`` (deleting a segment something still uses).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import audit
from portal.clock import utcnow
from portal.db import db
from portal.errors import Conflict, Forbidden, InvalidInput
from portal.segments import registry
from portal.segments.models import Segment
from portal.tenancy import Principal

AUDIT_FIELDS = ["name", "criteria"]
MAX_NAME = 120


def _require_manager(actor: Principal) -> None:
    if actor is None or not actor.can("segments.manage"):
        raise Forbidden(_("Only the vendor's channel and sales staff manage segments."))


def _clean_name(name: str | None, *, other_than: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the segment a name."), field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(_("A name has at most %(n)d characters.", n=MAX_NAME), field="name")
    taken = select(Segment.id).where(func.lower(Segment.name) == name.lower())
    if other_than is not None:
        taken = taken.where(Segment.id != other_than)
    if db.session.scalar(taken) is not None:
        raise InvalidInput(
            _("A segment named “%(name)s” exists already: choose another name.", name=name),
            field="name",
        )
    return name


def create_segment(name: str, criteria: dict, *, actor: Principal) -> Segment:
    """Save a new segment of the vendor. ``criteria``: criterion key -> value as a form gives it
    (empty values are left out)."""
    _require_manager(actor)
    segment = Segment(
        org_id=actor.org_id,
        name=_clean_name(name),
        criteria=registry.clean(criteria),
        created_by_id=actor.user_id,
    )
    db.session.add(segment)
    db.session.flush()
    audit.record(
        "segment.created", segment, actor=actor, after=audit.snapshot(segment, AUDIT_FIELDS)
    )
    return segment


def update_segment(segment: Segment, name: str, criteria: dict, *, actor: Principal) -> bool:
    """Rename a segment or change its criteria. Returns False when nothing changed."""
    _require_manager(actor)
    before = audit.snapshot(segment, AUDIT_FIELDS)
    name = _clean_name(name, other_than=segment.id)
    cleaned = registry.clean(criteria)
    if name == segment.name and cleaned == segment.criteria:
        return False
    segment.name = name
    segment.criteria = cleaned
    segment.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "segment.updated",
        segment,
        actor=actor,
        before=before,
        after=audit.snapshot(segment, AUDIT_FIELDS),
    )
    return True


def delete_segment(segment: Segment, *, actor: Principal) -> None:
    """Delete a segment no feature still depends on (an NPS campaign not sent yet that asks
    it); the audit event keeps its name and criteria."""
    _require_manager(actor)
    uses = registry.usages(segment.id)
    if uses:
        raise Conflict(
            _(
                "“%(name)s” is still used: %(uses)s. Change those first.",
                name=segment.name,
                uses="; ".join(uses),
            )
        )
    audit.record(
        "segment.deleted", segment, actor=actor, before=audit.snapshot(segment, AUDIT_FIELDS)
    )
    db.session.delete(segment)
    db.session.flush()
