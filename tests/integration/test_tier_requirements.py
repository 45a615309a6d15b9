"""Tiers' requirements (issue 14, the partner scorecard): vendor admins set them on the tier's
form (validated, audited, optimistically locked with the other terms), empty is no requirement,
the tiers page shows them, a call that does not name them keeps them, and the demo seeds them
once."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from partners.program import services
from partners.program.models import Tier
from partners.program.seed import DEMO_REQUIREMENTS, seed_tier_requirements
from portal import concurrency
from portal.audit import AuditEvent
from portal.db import db as portal_db
from portal.db import set_principal
from portal.errors import InvalidInput
from portal.tenancy import Principal
from tests.unchanged import unchanged


def _tier(db, code: str) -> Tier:
    db.expire_all()
    return db.scalar(select(Tier).where(Tier.code == code))


def _form(tier: Tier, snapshot: str, **changes) -> dict:
    return {
        "name": tier.name,
        "discount_percent": str(tier.discount_percent),
        "protection_days": str(tier.protection_days),
        "distribution_weight": str(tier.distribution_weight),
        "max_open_leads": str(tier.max_open_leads),
        "required_won_value_12m": "",
        "required_acceptance_percent": "",
        "snapshot": snapshot,
        **changes,
    }


def _snapshot(response) -> str:
    match = re.search(r'<input[^>]*name="snapshot"[^>]*value="([^"]+)"', response.get_data(True))
    assert match, "the form carries a snapshot"
    return match.group(1)


def test_vendor_admin_sets_and_clears_a_tiers_requirements(client_as, vendor, user_factory, db):
    client = client_as(user_factory(vendor, "vendor_admin"))
    gold = _tier(db, "gold")
    url = f"/program/tiers/{gold.id}"
    form = client.get(url)
    page = form.get_data(as_text=True)
    assert "Required won value, last 12 months (EUR)" in page
    assert "Required offer acceptance rate (%)" in page
    response = client.post(
        url,
        data=_form(
            gold,
            _snapshot(form),
            required_won_value_12m="150000",
            required_acceptance_percent="62.5",
        ),
    )
    assert response.status_code == 302
    gold = _tier(db, "gold")
    assert (gold.required_won_value_12m, gold.required_acceptance_percent) == (
        Decimal("150000.00"),
        Decimal("62.50"),
    )
    (event_row,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "tier.updated"))
    assert event_row.before["required_won_value_12m"] is None
    assert event_row.after["required_won_value_12m"] == "150000.00"
    assert event_row.after["required_acceptance_percent"] == "62.50"
    listing = client.get("/program/tiers").get_data(as_text=True)
    row = re.search(r'<tr data-testid="tier-row">\s*<td>Gold</td>.*?</tr>', listing, re.S).group(0)
    assert "€150,000.00" in row and "62.5%" in row

    # Empty fields: no requirement any more.
    form = client.get(url)
    assert 'value="150000.00"' in form.get_data(as_text=True)
    response = client.post(url, data=_form(gold, _snapshot(form)))
    assert response.status_code == 302
    gold = _tier(db, "gold")
    assert (gold.required_won_value_12m, gold.required_acceptance_percent) == (None, None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"required_won_value_12m": "-1"}, "Number must be between 0 and 999999999999.99."),
        ({"required_won_value_12m": "lots"}, "Not a valid decimal value."),
        ({"required_won_value_12m": "NaN"}, "Give a number."),
        ({"required_won_value_12m": "10.001"}, "The amount has at most two decimal places."),
        ({"required_acceptance_percent": "101"}, "Number must be between 0 and 100."),
        (
            {"required_acceptance_percent": "50.555"},
            "The acceptance rate has at most two decimal places.",
        ),
    ],
)
def test_bad_requirements_are_a_422_and_change_nothing(
    client_as, vendor, user_factory, db, changes, message
):
    gold = _tier(db, "gold")
    client = client_as(user_factory(vendor, "vendor_admin"))
    url = f"/program/tiers/{gold.id}"
    snapshot = _snapshot(client.get(url))
    with unchanged(db, gold):
        response = client.post(url, data=_form(gold, snapshot, **changes))
    assert response.status_code == 422
    assert response.get_data(as_text=True).count(message) == 1


def test_a_call_that_does_not_name_the_requirements_keeps_them(app, db, vendor, user_factory):
    admin = user_factory(vendor, "vendor_admin")
    gold = _tier(db, "gold")
    gold.required_won_value_12m, gold.required_acceptance_percent = Decimal("1000"), Decimal("50")
    db.flush()
    terms = {
        "name": "Gold",
        "discount_percent": "16",
        "protection_days": gold.protection_days,
        "distribution_weight": gold.distribution_weight,
        "max_open_leads": gold.max_open_leads,
    }
    with app.test_request_context():
        principal = Principal.for_user(admin)
        set_principal(portal_db.session, principal)
        tier = portal_db.session.get(Tier, gold.id)
        seen = concurrency.snapshot(tier, services.TIER_FIELDS)
        assert services.update_tier(tier, snapshot=seen, **terms, actor=principal)
        assert (tier.required_won_value_12m, tier.required_acceptance_percent) == (
            Decimal("1000.00"),
            Decimal("50.00"),
        )
        with pytest.raises(InvalidInput) as error:
            services.update_tier(
                tier, snapshot=seen, **terms, required_acceptance_percent="-5", actor=principal
            )
        assert error.value.field == "required_acceptance_percent"
        portal_db.session.rollback()


def test_the_demo_seeds_requirements_once(db):
    gold = _tier(db, "gold")
    gold.required_acceptance_percent = Decimal("99.00")  # set in the demo by an admin
    db.flush()
    assert seed_tier_requirements(db, {}) == len(DEMO_REQUIREMENTS) - 1
    assert (
        _tier(db, "gold").required_won_value_12m,
        _tier(db, "gold").required_acceptance_percent,
    ) == (
        None,
        Decimal("99.00"),
    )
    silver = _tier(db, "silver")
    assert (silver.required_won_value_12m, silver.required_acceptance_percent) == DEMO_REQUIREMENTS[
        "silver"
    ]
    assert seed_tier_requirements(db, {}) == 0
