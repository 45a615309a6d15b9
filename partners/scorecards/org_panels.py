"""The organisation page's link to a partner's scorecard: for vendor staff on every partner's
page, for a partner on its own."""

from __future__ import annotations

from sqlalchemy import select

from portal import access
from portal.db import db
from portal.identity.models import Organization
from portal.panels import Panel


def scorecard_link(principal, *, org_id: int) -> dict | None:
    """One statement (the organisation's kind, through the wall); None for an organisation that
    is no partner, or one whose scorecard the principal may not open (a partner: another's)."""
    kind = db.session.scalar(select(Organization.kind).where(Organization.id == org_id))
    if kind not in access.PARTNER_KINDS:
        return None
    if principal.is_vendor_staff:
        return {"endpoint": "scorecards.detail", "args": {"partner_id": org_id}, "own": False}
    if principal.org_id == org_id and principal.can("program.own"):
        return {"endpoint": "scorecards.mine", "args": {}, "own": True}
    return None


PANELS = (
    Panel(
        "scorecard",
        "partners/scorecards/_org_scorecard.html",
        scorecard_link,
        action="scorecards.view",
        audiences=("vendor", "partner"),
        order=6,
    ),
)
