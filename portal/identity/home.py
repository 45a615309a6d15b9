"""Identity's panel on the home page: who looks after my organisation (its account manager at the
vendor and, for a customer, the partner that serves it)."""

from __future__ import annotations

from portal.db import db
from portal.identity import queries
from portal.identity.models import Organization
from portal.panels import Panel


def account_team(principal, **_args) -> dict | None:
    """A customer always has an account team (its partner, or the vendor directly); a partner has
    one once the vendor assigns it an account manager. Vendor staff are the team."""
    if principal.is_vendor_staff:
        return None
    org = db.session.get(Organization, principal.org_id)
    manager = queries.account_manager_of(org)
    if manager is None and not principal.is_customer:
        return None
    serving_partner = queries.serving_partner_name(org) if principal.is_customer else None
    return {"manager": manager, "serving_partner": serving_partner, "org": org}


PANELS = (
    Panel(
        "account-team",
        "identity/_home_account_team.html",
        account_team,
        audiences=("partner", "customer"),
        order=90,
    ),
)
