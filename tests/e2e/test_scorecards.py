"""In a real browser, on the demo world: a partner admin opens its scorecard from the navigation
and reads its figures against its tier's requirements in the table, and the chart is drawn with
its table beneath; a channel manager opens the Scorecards list and a partner's scorecard from it;
a partner's page names no other partner; axe-core finds no serious or critical violation on the
list or a scorecard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from partners.leads import seed_two_tier as two_tier_seed
from partners.sourcing import seed as sourcing_seed
from portal.access import PARTNER_KINDS
from portal.seed import ORGANIZATIONS
from tests.e2e.axe import blocking_violations
from tests.e2e.steps import chart_drawn, click, nav_link, sign_in, table_rows

pytestmark = pytest.mark.browser

# The demo's partners: those of the world's list, and those the seeders of two-tier
# distribution and of sourcing add.
PARTNERS = sorted(
    {name for name, kind, _tier, _manager in ORGANIZATIONS if kind in PARTNER_KINDS}
    | {two_tier_seed.RESELLER}
    | {name for name, _relationship, _admin in sourcing_seed.DEMO_SUPPLIERS}
)


def _by_measure(page: Page) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table_rows(page, "table-scorecard")[1:]}


def test_a_partner_admin_opens_its_scorecard_from_the_navigation(page: Page, browser_log):
    sign_in(page, "admin@alpine.example")
    click(nav_link(page, "Scorecard"))
    expect(page).to_have_url(re.compile(r"/scorecards/mine$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your scorecard")
    expect(page.get_by_test_id("scorecard-tier")).to_contain_text("Tier: Gold")
    chart_drawn(page, "won-by-month")

    # The demo: Alpine's Hawthorne registration (184,000 EUR) is approved and open, nothing won;
    # of the two demo leads it answered it accepted one. Gold asks 150,000 won and 60%.
    rows = table_rows(page, "table-scorecard")
    assert rows[0] == ["Measure", "Alpine IT Solutions", "Tier requires", "Requirement",
                       "Programme average"]  # fmt: skip
    measures = _by_measure(page)
    assert measures["Pipeline (open registrations' value)"][:3] == ["€184,000.00", "—", "—"]
    assert measures["Won value in the last 12 months"][:3] == ["€0.00", "€150,000.00", "Not met"]
    acceptance = next(v for k, v in measures.items() if k.startswith("Offer acceptance rate"))
    assert acceptance[:3] == ["50%", "60%", "Not met"]

    # The chart's table: the last 12 months, Alpine beside the programme's average.
    chart_rows = table_rows(page, "table-won-by-month")
    assert chart_rows[0] == ["Month", "Alpine IT Solutions", "Programme average per partner"]
    assert len(chart_rows) == 13

    # No other partner's name anywhere on the page.
    text = page.locator("body").inner_text()
    for other in PARTNERS:
        if other != "Alpine IT Solutions":
            assert other not in text, other
    browser_log.assert_clean()


def test_a_channel_manager_opens_a_partners_scorecard_from_the_list(page: Page, browser_log):
    sign_in(page, "channel@northwind.example")
    click(nav_link(page, "Scorecards"))
    expect(page).to_have_url(re.compile(r"/scorecards/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Partner scorecards")
    rows = table_rows(page, "table-scorecards")
    assert [row[0] for row in rows[1:-1]] == sorted(PARTNERS)
    assert rows[-1][0] == "Programme average"
    assert rows[-1][1] == f"{len(PARTNERS)} active partners"

    # Only the gold partners, then Cobalt's scorecard (platinum) from the full list.
    page.get_by_label("Tier", exact=True).select_option(label="Gold")
    click(page.get_by_role("button", name="Apply"))
    expect(page).to_have_url(re.compile(r"tier=gold"))
    assert [row[0] for row in table_rows(page, "table-scorecards")[1:-1]] == ["Alpine IT Solutions"]
    page.get_by_label("Tier", exact=True).select_option(label="All tiers")
    click(page.get_by_role("button", name="Apply"))
    click(page.get_by_role("link", name="Cobalt Networks", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("Scorecard of Cobalt Networks")
    chart_drawn(page, "won-by-month")
    # The demo: Cobalt won Pinecrest (410,000 EUR) this month; platinum asks 400,000.
    measures = _by_measure(page)
    assert measures["Won value in the last 12 months"][:3] == [
        "€410,000.00",
        "€400,000.00",
        "Met",
    ]
    won = table_rows(page, "table-won-by-month")
    assert won[0] == ["Month", "Cobalt Networks", "Programme average per partner"]
    assert won[-1][1] == "€410,000.00"
    browser_log.assert_clean()


@pytest.mark.parametrize("email", ["channel@northwind.example", "admin@alpine.example"])
def test_axe_finds_no_serious_or_critical_violation_on_the_scorecards(
    axe_page: Page, browser_log, email
):
    sign_in(axe_page, email)
    found = {}
    if email.startswith("channel"):
        response = axe_page.goto("/scorecards/")
        assert response.status == 200
        found["list"] = blocking_violations(axe_page)
        click(axe_page.get_by_role("link", name="Cobalt Networks", exact=True))
        expect(axe_page.get_by_role("heading", level=1)).to_have_text(
            "Scorecard of Cobalt Networks"
        )
    else:
        response = axe_page.goto("/scorecards/mine")
        assert response.status == 200
    chart_drawn(axe_page, "won-by-month")
    found["scorecard"] = blocking_violations(axe_page)
    assert not any(found.values()), found
    browser_log.assert_clean()
