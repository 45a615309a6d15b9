"""Read side of segments: the list with live counts, a segment's organisations, what its
criteria say in words, and the membership as SQL for the features that use a segment (an NPS
campaign's audience, the candidates of lead distribution).

Members are the active organisations other than the vendor that meet every criterion. Counts
are one statement for a whole page of segments (a UNION ALL of one COUNT per segment), so the
statements of a page do not grow with the organisations.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, Select, and_, func, literal, select, union_all
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import ColumnElement

from portal import access
from portal.db import db
from portal.identity.models import Organization
from portal.segments import registry
from portal.segments.models import Segment


def membership(stored: dict) -> ColumnElement[bool]:
    """SQL over ``Organization``: the organisation belongs to a segment with these criteria."""
    return and_(
        Organization.kind != access.VENDOR,
        Organization.active.is_(True),
        *registry.conditions(stored),
    )


def member_ids(stored: dict) -> Select:
    """The ids of the organisations of a segment with these criteria (for ``IN``)."""
    return select(Organization.id).where(membership(stored))


def members(segment: Segment) -> Select:
    """A segment's organisations by name, with the partner that manages each (one statement)."""
    return (
        select(Organization)
        .options(joinedload(Organization.managed_by))
        .where(membership(segment.criteria))
        .order_by(Organization.name, Organization.id)
    )


def segments() -> Select:
    """Every segment the principal sees (vendor staff: all), by name."""
    return select(Segment).order_by(Segment.name, Segment.id)


def segment_choices() -> list[tuple[int, str]]:
    """``(id, name)`` of every segment, by name: the option lists of other features' forms."""
    return [
        (segment_id, name)
        for segment_id, name in db.session.execute(
            select(Segment.id, Segment.name).order_by(Segment.name, Segment.id)
        )
    ]


def criteria_of(segment_id: int) -> dict | None:
    """A segment's stored criteria, or None for one that is gone (or not visible)."""
    return db.session.scalar(select(Segment.criteria).where(Segment.id == segment_id))


def name_of(segment_id: int) -> str | None:
    return db.session.scalar(select(Segment.name).where(Segment.id == segment_id))


def counts(shown: list[Segment]) -> dict[int, int]:
    """How many organisations each segment holds now, in one statement."""
    if not shown:
        return {}
    parts = [
        select(
            literal(segment.id, Integer).label("segment_id"),
            func.count(Organization.id).label("members"),
        ).where(membership(segment.criteria))
        for segment in shown
    ]
    counted = union_all(*parts).subquery()
    rows = db.session.execute(select(counted.c.segment_id, counted.c.members))
    return {segment_id: members for segment_id, members in rows}


@dataclass(frozen=True)
class Described:
    """One criterion of a segment in words."""

    key: str
    label: str
    value: str
    known: bool = True  # False: no package offers this criterion any more


def described(stored: dict, options: dict[str, list] | None = None) -> list[Described]:
    """A segment's criteria as a person reads them. ``options`` caches each criterion's choices
    across segments (read once per criterion, not once per segment)."""
    options = {} if options is None else options
    found = []
    for key, value in (stored or {}).items():
        criterion = registry.criterion(key)
        if criterion is None:
            found.append(Described(key, key, str(value), known=False))
            continue
        if criterion.input in ("one", "many") and key not in options:
            options[key] = criterion.options()
        found.append(Described(key, str(criterion.label), criterion.shown(value, options.get(key))))
    return found
