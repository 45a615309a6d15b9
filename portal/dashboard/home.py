"""The platform's own home panels: a partner's programme and team and, for vendor staff, the
organisations by kind (the account team is identity's panel)."""

from __future__ import annotations

from sqlalchemy import func, select

from portal import access
from portal.db import db
from portal.identity.models import Organization, User
from portal.panels import Panel


def organisations(principal) -> dict:
    """Vendor staff: how many organisations of each kind, each linking to the filtered list."""
    rows = db.session.execute(
        select(Organization.kind, func.count()).group_by(Organization.kind)
    ).all()
    counts = dict(rows)
    return {
        "kinds": [
            (kind, label, counts.get(kind, 0))
            for kind, label in access.ORG_KIND_LABELS.items()
            if kind != access.VENDOR
        ]
    }


def programme(principal) -> dict:
    """A partner: its kind and tier, and how many active people it has."""
    org = db.session.get(Organization, principal.org_id)
    colleagues = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.org_id == principal.org_id, User.active.is_(True))
    )
    return {"org": org, "colleagues": colleagues}


PANELS = [
    Panel(
        "organisations",
        "dashboard/_home_organisations.html",
        organisations,
        action="orgs.view",
        audiences=("vendor",),
        order=90,
    ),
    Panel(
        "programme", "dashboard/_home_programme.html", programme, audiences=("partner",), order=90
    ),
]
