"""Segments' organisations as CSV (``portal.export``), for the vendor staff who manage
segments: ``/export/segment.csv?segment=<id>`` (from a segment's page) gives that segment's
organisations in the order its page lists them; without ``segment``, every segment's, one row
per segment and organisation, by segment."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, false, literal, select, union_all
from sqlalchemy.orm import aliased

from portal import access, export
from portal.db import db
from portal.identity.models import Organization
from portal.segments import queries
from portal.segments.models import Segment


def _members(name: str, criteria: dict) -> Select:
    partner = aliased(Organization)
    return (
        select(
            literal(name, String).label("segment"),
            Organization.id,
            Organization.name,
            Organization.kind,
            Organization.tier,
            partner.name.label("managed_by"),
        )
        .outerjoin(partner, Organization.managed_by_id == partner.id)
        .where(queries.membership(criteria))
    )


def segment_rows(principal, args) -> Select:
    """The organisations of the segment ``args["segment"]`` (of every segment without it), as
    the wall shows segments (vendor staff: all)."""
    wanted = select(Segment.name, Segment.criteria).order_by(Segment.name, Segment.id)
    raw = args.get("segment", "")
    if raw:
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise export.InvalidFilters("segment: not a segment number")
        wanted = wanted.where(Segment.id == int(raw))
    parts = [_members(name, criteria) for name, criteria in db.session.execute(wanted)]
    if not parts:
        if raw:
            raise export.InvalidFilters("segment: no such segment")
        return _members("", {}).where(false())
    rows = union_all(*parts).subquery()
    return select(rows).order_by(rows.c.segment, rows.c.name, rows.c.id)


SOURCE = export.ExportSource(
    key="segment",
    label=_l("Segment"),
    action="segments.manage",
    audiences=("vendor",),
    columns=(
        export.Column(_l("Segment"), lambda row: row.segment),
        export.Column(_l("Organisation"), lambda row: row.name),
        export.Column(_l("Kind"), lambda row: access.ORG_KIND_LABELS.get(row.kind, row.kind)),
        export.Column(_l("Tier"), lambda row: row.tier),
        export.Column(_l("Managed by"), lambda row: row.managed_by),
        export.Column(_l("Organisation id"), lambda row: row.id),
    ),
    statement=segment_rows,
)
