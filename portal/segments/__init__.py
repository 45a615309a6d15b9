"""Segments: saved, named filters over organisations, for the vendor's channel and sales staff.

A segment's criteria come from a registry (``registry``): the platform offers what the
organisation row says (kind, managing partner) and the inactivity criterion; each feature package
adds what it knows from its ``segment_criteria`` module in its ``init_app`` (tier, country and
product line from the programme, open cases, last NPS category, CSAT average; won registrations
and accepted quotes as activities). Other features use a segment through ``queries``: an NPS
campaign asks its organisations' people, lead distribution offers only to its partners.
"""

from portal.segments.registry import (
    Activity,
    Criterion,
    add_activity,
    add_criterion,
    add_usage,
    criteria,
)


def init_app(app) -> None:
    """The pages, their navigation entry, the export of a segment's organisations and the
    platform's own criteria."""
    from portal import export, navigation
    from portal.segments import exports, own_criteria, views

    app.register_blueprint(views.bp)
    navigation.add(*views.NAVIGATION)
    export.add(exports.SOURCE)
    add_criterion(*own_criteria.CRITERIA)


__all__ = [
    "Activity",
    "Criterion",
    "add_activity",
    "add_criterion",
    "add_usage",
    "criteria",
    "init_app",
]
