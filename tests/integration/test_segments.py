"""Segments (issue 14, item 3): every criterion on a known world, exactly; the form's validation;
the pages (live counts in a bounded number of statements, a segment's organisations, edit and
delete, audited); an NPS campaign sent to a segment reaches exactly its people; lead
distribution within a segment offers only to its partners."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event, select

from feedback.surveys.models import NpsCampaign, SurveyRecipient
from partners.leads.models import LeadOffer
from portal.audit import AuditEvent
from portal.identity.models import Organization
from portal.segments import queries, registry
from portal.segments.models import Segment
from tests.factories import (
    make_campaign,
    make_case,
    make_csat_answer,
    make_deal,
    make_lead,
    make_nps_answer,
    make_org,
    make_quote,
    make_segment,
    make_user,
)
from tests.isolation.kinds_leads import acting_as, cover

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def ago(days: int, hours: int = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@dataclass
class Known:
    orgs: dict[str, Organization]
    people: dict[str, list]
    manager: object  # a channel manager of the vendor


def build(db, vendor) -> Known:
    """Eight organisations in segments (one more deactivated, never in any), each with what the
    criteria read; the figures of every criterion below follow from this by hand."""
    o = {
        "R1": make_org(db, "reseller", name="Alpha Resell", tier="gold"),
        "R2": make_org(db, "reseller", name="Beta Resell", tier="silver"),
        "D1": make_org(db, "distributor", name="Gamma Dist", tier="gold"),
        "S1": make_org(db, "supplier", name="Delta Supply"),
    }
    o["C1"] = make_org(db, "customer", name="Echo Cust", managed_by_id=o["R1"].id)
    o["C2"] = make_org(db, "customer", name="Foxtrot Cust", managed_by_id=o["R1"].id)
    o["C3"] = make_org(db, "customer", name="Golf Cust", managed_by_id=o["R2"].id)
    o["C4"] = make_org(db, "customer", name="Hotel Cust", managed_by_id=o["R1"].id, active=False)
    o["C5"] = make_org(db, "customer", name="India Cust")
    people = {key: [make_user(db, org)] for key, org in o.items()}
    people["C1"].append(make_user(db, o["C1"], "customer_user"))
    people["C1"].append(make_user(db, o["C1"], "customer_user", active=False))
    people["R1"].append(make_user(db, o["R1"], "partner_user"))
    people["D1"].append(make_user(db, o["D1"], "partner_user"))
    # Coverage: territories and specialisations.
    cover(db, o["R1"], ("DE",), ("networking",))
    cover(db, o["R2"], ("FR",), ("security",))
    cover(db, o["D1"], ("DE", "FR"), ("networking", "security"))
    # Buying: won registrations and accepted quotes (and what does not count).
    make_deal(db, o["R1"], status="won", closed_at=ago(10))
    make_deal(db, o["R2"], status="won", closed_at=ago(100))
    make_deal(db, o["D1"], status="lost", closed_at=ago(2))
    make_quote(db, o["D1"], status="declined", decided_at=ago(1))
    make_quote(db, o["C1"], status="accepted", decided_at=ago(5))
    make_quote(db, o["C2"], status="accepted", decided_at=ago(30))  # exactly 30 days ago
    make_quote(db, o["C3"], status="sent")
    # Cases: open ones (new, pending count), and resolved ones that do not.
    make_case(db, o["C1"], people["C1"][0], status="open")
    make_case(db, o["C3"], people["C3"][0], status="pending")
    make_case(db, o["R2"], people["R2"][0], status="new")
    make_case(db, o["C2"], people["C2"][0], status="closed")
    make_case(db, o["C5"], people["C5"][0], status="solved")
    make_case(db, o["C4"], people["C4"][0], status="open")
    # NPS: the latest answer of the organisation decides (time, then id).
    make_nps_answer(db, people["C1"][0], 9, ago(40))
    make_nps_answer(db, people["C1"][1], 3, ago(20))  # detractor, latest
    make_nps_answer(db, people["C2"][0], 10, ago(3))  # promoter
    make_nps_answer(db, people["C3"][0], 7, ago(3))  # passive
    make_nps_answer(db, people["R1"][0], 10, ago(9))
    make_nps_answer(db, people["R1"][1], 5, ago(8))  # detractor, latest
    make_nps_answer(db, people["D1"][0], 9, ago(4))  # same moment: the later row decides
    make_nps_answer(db, people["D1"][1], 8, ago(4))  # passive
    make_nps_answer(db, people["C4"][0], 10, ago(1))  # deactivated: never counted
    # CSAT: C1 3.5, C2 4.5, C3 3.75 (shown 3.8), C5 2.0; the others none.
    for key, scores in {"C1": (4, 3), "C2": (5, 4), "C3": (4, 4, 4, 3), "C5": (2,)}.items():
        for score in scores:
            make_csat_answer(db, o[key], people[key][0], score)
    manager = make_user(db, vendor, "channel_manager")
    return Known(o, people, manager)


@pytest.fixture
def known(db, vendor, frozen) -> Known:
    return build(db, vendor)


def names(known: Known, *keys: str) -> set[str]:
    return {known.orgs[k].name for k in keys}


def members_of(app, known: Known, criteria: dict) -> set[str]:
    with acting_as(app, known.manager):
        from portal.db import db as portal_db

        return set(
            portal_db.session.scalars(select(Organization.name).where(queries.membership(criteria)))
        )


def test_every_criterion_selects_exactly_the_organisations_it_says(app, known):
    r1, r2 = str(known.orgs["R1"].id), str(known.orgs["R2"].id)
    cases = [
        ({"kind": ["reseller"]}, {"R1", "R2"}),
        ({"kind": ["customer"]}, {"C1", "C2", "C3", "C5"}),
        ({"kind": ["distributor", "supplier"]}, {"D1", "S1"}),
        ({"tier": ["gold"]}, {"R1", "D1"}),
        ({"tier": ["silver", "gold"]}, {"R1", "R2", "D1"}),
        ({"tier": ["platinum"]}, set()),
        ({"country": "DE"}, {"R1", "D1"}),
        ({"country": "FR"}, {"R2", "D1"}),
        ({"product_line": ["security"]}, {"R2", "D1"}),
        ({"product_line": ["networking", "security"]}, {"R1", "R2", "D1"}),
        ({"managed_by": r1}, {"C1", "C2"}),
        ({"managed_by": r2}, {"C3"}),
        ({"inactive_days": 29}, {"R2", "D1", "S1", "C2", "C3", "C5"}),
        ({"inactive_days": 30}, {"R2", "D1", "S1", "C3", "C5"}),
        ({"inactive_days": 200}, {"D1", "S1", "C3", "C5"}),
        ({"open_cases": "with"}, {"R2", "C1", "C3"}),
        ({"open_cases": "without"}, {"R1", "D1", "S1", "C2", "C5"}),
        ({"nps_category": ["detractor"]}, {"R1", "C1"}),
        ({"nps_category": ["promoter"]}, {"C2"}),
        ({"nps_category": ["passive"]}, {"D1", "C3"}),
        ({"nps_category": ["promoter", "passive"]}, {"D1", "C2", "C3"}),
        ({"csat_at_least": "3.8"}, {"C2", "C3"}),  # C3's 3.75 is shown 3.8
        ({"csat_below": "3.8"}, {"C1", "C5"}),
        ({"csat_at_least": "4.5"}, {"C2"}),
        ({"csat_at_least": "1.0"}, {"C1", "C2", "C3", "C5"}),
        ({"csat_below": "2.0"}, set()),
        ({"kind": ["customer"], "managed_by": r1, "open_cases": "with"}, {"C1"}),
        ({"kind": ["reseller"], "inactive_days": 30, "country": "FR"}, {"R2"}),
        ({"retired_criterion": "x"}, set()),  # no package offers it: nobody, never everybody
    ]
    wrong = []
    for criteria, expected in cases:
        found = members_of(app, known, criteria)
        if found != names(known, *expected):
            wrong.append(f"{criteria}: {sorted(found)} != {sorted(names(known, *expected))}")
    assert wrong == []


def test_the_registry_offers_every_criterion_of_the_issue(app):
    assert [c.key for c in registry.criteria()] == [
        "kind",
        "tier",
        "country",
        "product_line",
        "managed_by",
        "supplier_relationship",
        "open_cases",
        "nps_category",
        "inactive_days",
        "csat_at_least",
        "csat_below",
    ]
    with app.test_request_context():
        label = str(registry.criterion("inactive_days").label)
    assert label == "No won registration or accepted quote in the last (days)"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({}, None, "Choose at least one criterion"),
        ({"kind": ["vendor"]}, "kind", "Kind: choose from the list."),
        ({"country": "XX"}, "country", "Country: choose from the list."),
        ({"inactive_days": "abc"}, "inactive_days", "give a number."),
        ({"inactive_days": "2.5"}, "inactive_days", "give a whole number."),
        ({"inactive_days": "0"}, "inactive_days", "give a number from 1 to 3650."),
        ({"csat_at_least": "4.55"}, "csat_at_least", "at most one decimal"),
        ({"csat_below": "6"}, "csat_below", "give a number from 1 to 5."),
        ({"unknown": "1"}, None, "Unknown criterion: unknown."),
    ],
)
def test_criteria_are_checked_against_the_registry(app, values, field, message):
    from portal.errors import InvalidInput

    with app.test_request_context(), pytest.raises(InvalidInput) as refused:
        registry.clean(values)
    assert message in refused.value.message
    assert refused.value.field == field


def test_clean_criteria_are_stored_in_form_order_without_empty_ones(app):
    with app.test_request_context():
        cleaned = registry.clean(
            {
                "csat_below": "4",
                "kind": ["customer", "reseller"],
                "tier": [],
                "country": "",
                "inactive_days": "90",
            }
        )
    assert cleaned == {"kind": ["reseller", "customer"], "inactive_days": 90, "csat_below": "4.0"}


@contextmanager
def counting_statements(app):
    engine = app.extensions["db"].engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "SELECT set_config")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def row_counts(html: str) -> dict[str, str]:
    """Segment name -> the count its row shows, from the list's table."""
    rows = re.findall(
        r'<td><a href="/segments/\d+">([^<]+)</a></td>.*?data-testid="count">([^<]+)</td>',
        html,
        re.S,
    )
    return dict(rows)


def test_the_list_shows_live_counts_in_a_bounded_number_of_statements(app, db, client_as, known):
    """One COUNT per segment in one statement; a criterion's choices (the partners, the tiers)
    are read once per page, whatever the number of segments using it."""
    r1, r2 = str(known.orgs["R1"].id), str(known.orgs["R2"].id)
    make_segment(db, {"kind": ["customer"]}, "Customers")
    make_segment(db, {"managed_by": r1, "tier": ["gold"]}, "Alpha's customers")
    make_segment(db, {"nps_category": ["detractor"]}, "Detractors")
    browser = client_as(known.manager)
    with counting_statements(app) as three:
        page = browser.get("/segments/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert row_counts(html) == {"Customers": "4", "Alpha&#39;s customers": "0", "Detractors": "2"}
    assert "Managed by:</span> Alpha Resell" in html and "Tier:</span> Gold" in html
    make_segment(db, {"csat_at_least": "3.8", "managed_by": r2}, "Satisfied")
    make_segment(db, {"open_cases": "with"}, "With open cases")
    make_segment(db, {"tier": ["gold", "silver"]}, "Gold")
    make_org(db, "customer", name="Juliet Cust")
    make_org(db, "customer", name="Kilo Cust", managed_by_id=known.orgs["R2"].id)
    with counting_statements(app) as six:
        page = browser.get("/segments/")
    assert row_counts(page.get_data(as_text=True)) == {
        "Customers": "6",
        "Alpha&#39;s customers": "0",
        "Detractors": "2",
        "Satisfied": "1",
        "With open cases": "3",
        "Gold": "3",
    }
    assert len(six) == len(three)
    assert len(six) <= 10


def test_a_segments_page_lists_its_organisations_with_links_paged(app, db, client_as, known):
    segment = make_segment(db, {"kind": ["customer"]}, "All customers")
    for n in range(23):
        make_org(db, "customer", name=f"Zulu Cust {n:02d}")
    browser = client_as(known.manager)
    first = browser.get(f"/segments/{segment.id}").get_data(as_text=True)
    assert "27 organisations" in first
    listed = re.findall(r'<th scope="row"><a href="/organizations/(\d+)">([^<]+)</a></th>', first)
    assert len(listed) == 25
    assert listed[0] == (str(known.orgs["C1"].id), "Echo Cust")  # by name
    assert "Hotel Cust" not in first  # deactivated
    second = browser.get(f"/segments/{segment.id}?page=2").get_data(as_text=True)
    rest = re.findall(r'<th scope="row"><a href="/organizations/\d+">([^<]+)</a></th>', second)
    assert rest == ["Zulu Cust 21", "Zulu Cust 22"]
    # the managing partner links to its page too
    assert f'<a href="/organizations/{known.orgs["R1"].id}">Alpha Resell</a>' in first


def test_a_channel_manager_creates_a_segment_from_the_form(app, db, client_as, known):
    browser = client_as(known.manager)
    form = browser.get("/segments/new")
    assert form.status_code == 200
    assert "No won registration or accepted quote in the last (days)" in form.get_data(as_text=True)
    response = browser.post(
        "/segments/new",
        data={
            "name": "  Quiet  resellers ",
            "kind": ["reseller"],
            "inactive_days": "30",
            "country": "",
            "csat_at_least": "",
        },
    )
    assert response.status_code == 302
    segment = db.scalar(select(Segment).where(Segment.name == "Quiet resellers"))
    assert response.headers["Location"].endswith(f"/segments/{segment.id}")
    assert segment.criteria == {"kind": ["reseller"], "inactive_days": 30}
    assert segment.org_id == known.manager.org_id
    assert segment.created_by_id == known.manager.id
    event_row = db.scalar(select(AuditEvent).where(AuditEvent.action == "segment.created"))
    assert event_row.object_id == segment.id
    assert event_row.after == {"name": "Quiet resellers", "criteria": segment.criteria}
    page = browser.get(f"/segments/{segment.id}").get_data(as_text=True)
    assert "1 organisation" in page and "Beta Resell" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "kind": ["customer"]}, "Give the segment a name."),
        ({"name": "customers", "kind": ["customer"]}, "exists already: choose another name."),
        ({"name": "New", "csat_below": "4.25"}, "CSAT average below: give at most one decimal"),
        ({"name": "New", "inactive_days": "soon"}, "give a number."),
        ({"name": "New"}, "Choose at least one criterion"),
        ({"name": "New", "managed_by": "999999"}, "Managed by: choose from the list."),
    ],
)
def test_the_form_says_what_is_wrong_and_saves_nothing(app, db, client_as, known, data, message):
    make_segment(db, {"kind": ["customer"]}, "Customers")
    before = db.scalar(select(Segment.id).order_by(Segment.id.desc()))
    response = client_as(known.manager).post("/segments/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).replace("&#34;", '"')
    assert db.scalar(select(Segment.id).order_by(Segment.id.desc())) == before


def test_editing_a_segment_changes_its_criteria_and_is_audited(app, db, client_as, known):
    segment = make_segment(db, {"kind": ["customer"]}, "Customers")
    browser = client_as(known.manager)
    form = browser.get(f"/segments/{segment.id}/edit").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="kind"[^>]*value="customer"', form)
    response = browser.post(
        f"/segments/{segment.id}/edit",
        data={"name": "Unhappy customers", "kind": ["customer"], "csat_below": "3.8"},
    )
    assert response.status_code == 302
    db.refresh(segment)
    assert segment.name == "Unhappy customers"
    assert segment.criteria == {"kind": ["customer"], "csat_below": "3.8"}
    updated = db.scalar(select(AuditEvent).where(AuditEvent.action == "segment.updated"))
    assert updated.before == {"name": "Customers", "criteria": {"kind": ["customer"]}}
    assert updated.after["criteria"] == {"kind": ["customer"], "csat_below": "3.8"}
    page = browser.get(f"/segments/{segment.id}").get_data(as_text=True)
    assert "2 organisations" in page and "Echo Cust" in page and "India Cust" in page


def test_deleting_a_segment_is_audited_and_refused_while_a_campaign_waits_for_it(
    app, db, client_as, known
):
    segment = make_segment(db, {"kind": ["customer"]}, "Customers")
    campaign = make_campaign(db, audience_kinds=[], audience_segment_id=segment.id)
    browser = client_as(known.manager)
    refused = browser.post(f"/segments/{segment.id}/delete", follow_redirects=True)
    assert "is still used: NPS campaign" in refused.get_data(as_text=True)
    assert db.get(Segment, segment.id) is not None
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "segment.deleted")) is None
    campaign.status, campaign.sent_at = "sent", NOW
    db.flush()
    response = browser.post(f"/segments/{segment.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/segments/")
    segment_id, campaign_id = segment.id, campaign.id
    db.expire_all()
    assert db.get(Segment, segment_id) is None
    assert db.get(NpsCampaign, campaign_id).audience_segment_id is None
    deleted = db.scalar(select(AuditEvent).where(AuditEvent.action == "segment.deleted"))
    assert deleted.before == {"name": "Customers", "criteria": {"kind": ["customer"]}}


@pytest.mark.parametrize("role", ["partner_admin", "customer_admin", "support_agent"])
def test_only_channel_and_sales_staff_reach_segments(app, db, client_as, known, role):
    segment = make_segment(db, {"kind": ["customer"]}, "Customers")
    home = {"partner_admin": "R1", "customer_admin": "C1"}.get(role)
    org = known.orgs[home] if home else db.get(Organization, known.manager.org_id)
    browser = client_as(make_user(db, org, role))
    for url in ("/segments/", "/segments/new", f"/segments/{segment.id}"):
        assert browser.get(url).status_code == 403, url
    assert browser.post("/segments/new", data={"name": "X", "kind": ["reseller"]}).status_code
    assert browser.post(f"/segments/{segment.id}/delete").status_code == 403
    assert db.scalar(select(Segment.id).where(Segment.name == "X")) is None
    assert db.get(Segment, segment.id) is not None
    assert "/segments/" not in browser.get("/home").get_data(as_text=True)


def test_the_navigation_offers_segments_to_the_channel_manager(app, client_as, known):
    page = client_as(known.manager).get("/home").get_data(as_text=True)
    assert 'href="/segments/"' in page


# An NPS campaign to a segment.


def test_an_nps_campaign_to_a_segment_reaches_exactly_its_people(app, db, client_as, known):
    segment = make_segment(
        db, {"kind": ["customer"], "managed_by": str(known.orgs["R1"].id)}, "Alpha's customers"
    )
    staff = make_user(db, db.get(Organization, known.manager.org_id), "vendor_admin")
    browser = client_as(staff)
    form = browser.get("/feedback/nps/new").get_data(as_text=True)
    assert f'<option value="{segment.id}">Alpha&#39;s customers</option>' in form
    response = browser.post(
        "/feedback/nps/new",
        data={"name": "Alpha NPS", "audience_segment_id": str(segment.id), "remind_after_days": 7},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    campaign = db.scalar(select(NpsCampaign).where(NpsCampaign.name == "Alpha NPS"))
    assert campaign.audience_segment_id == segment.id
    assert campaign.audience_kinds == [] and campaign.audience_org_ids == []
    detail = browser.get(f"/feedback/nps/{campaign.id}").get_data(as_text=True)
    assert f'<a href="/segments/{segment.id}">Alpha&#39;s customers</a>' in detail
    sent = browser.post(f"/feedback/nps/{campaign.id}/send", follow_redirects=True)
    assert "The campaign was sent to 3 people." in sent.get_data(as_text=True)
    asked = set(
        db.scalars(
            select(SurveyRecipient.user_id).where(SurveyRecipient.campaign_id == campaign.id)
        )
    )
    # C1's two active people and C2's one; not C1's deactivated person, not the deactivated
    # C4 that Alpha also manages, not Alpha itself.
    expected = {known.people["C1"][0].id, known.people["C1"][1].id, known.people["C2"][0].id}
    assert asked == expected


def test_a_campaign_takes_a_segment_or_kinds_not_both(app, db, client_as, known):
    segment = make_segment(db, {"kind": ["customer"]}, "Customers")
    staff = make_user(db, db.get(Organization, known.manager.org_id), "vendor_admin")
    response = client_as(staff).post(
        "/feedback/nps/new",
        data={
            "name": "Mixed",
            "audience_segment_id": str(segment.id),
            "audience_kinds": ["partner"],
            "remind_after_days": 7,
        },
    )
    assert response.status_code == 422
    assert "A segment chooses the organisations itself" in response.get_data(as_text=True)
    assert db.scalar(select(NpsCampaign).where(NpsCampaign.name == "Mixed")) is None


# Lead distribution within a segment.


def test_lead_distribution_within_a_segment_offers_only_to_its_partners(app, db, client_as, known):
    # R1 and D1 both fit a German networking lead; equal in every other way, the rule takes the
    # older partner (R1) unless a segment leaves it out.
    distributors = make_segment(db, {"kind": ["distributor"]}, "Distributors")
    browser = client_as(known.manager)
    lead = make_lead(db, None, "Munich Networks GmbH", country="DE", product_line="networking")
    page = browser.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert f'<option value="{distributors.id}">Segment: Distributors</option>' in page
    response = browser.post(
        f"/leads/{lead.id}/offer-by-rule", data={"segment_id": str(distributors.id)}
    )
    assert response.status_code == 302
    offer = db.scalar(select(LeadOffer).where(LeadOffer.lead_id == lead.id))
    assert offer.org_id == known.orgs["D1"].id
    assert offer.reason.startswith("Candidates: the partners of a segment.")
    offered = db.scalar(
        select(AuditEvent.after).where(
            AuditEvent.object_type == "Lead",
            AuditEvent.object_id == lead.id,
            AuditEvent.action == "lead.offered",
        )
    )
    assert [r["partner"] for r in offered["ranking"]] == ["Gamma Dist"]

    other = make_lead(db, None, "Berlin Networks GmbH", country="DE", product_line="networking")
    browser.post(f"/leads/{other.id}/offer-by-rule", data={"segment_id": ""})
    assert (
        db.scalar(select(LeadOffer.org_id).where(LeadOffer.lead_id == other.id))
        == known.orgs["R1"].id
    )


def test_a_decline_re_offers_within_the_same_segment(app, db, client_as, known):
    """The segment is the candidate pool of the lead's distribution, not of its first offer
    only: after D1 declines, the re-offer chooses among the distributors again (none left), and
    never gives the lead to R1, whom the rule would take from the whole pool."""
    distributors = make_segment(db, {"kind": ["distributor"]}, "Distributors")
    lead = make_lead(db, None, "Kassel Networks GmbH", country="DE", product_line="networking")
    client_as(known.manager).post(
        f"/leads/{lead.id}/offer-by-rule", data={"segment_id": str(distributors.id)}
    )
    offer = db.scalar(select(LeadOffer).where(LeadOffer.lead_id == lead.id))
    assert (offer.org_id, offer.segment_id) == (known.orgs["D1"].id, distributors.id)
    response = client_as(known.people["D1"][0]).post(
        f"/leads/{lead.id}/decline", data={"reason": "Not our region this quarter"}
    )
    assert response.status_code == 302
    db.expire_all()
    assert [(o.org_id, o.status) for o in lead.offers] == [(known.orgs["D1"].id, "declined")]
    assert lead.status == "new"
    refused = db.scalar(
        select(AuditEvent.after).where(
            AuditEvent.action == "lead.no_partner", AuditEvent.object_id == lead.id
        )
    )
    assert refused["segment_id"] == distributors.id


def test_a_segment_without_fitting_partners_leaves_the_lead_new(app, db, client_as, known):
    customers = make_segment(db, {"kind": ["customer"]}, "Customers")
    lead = make_lead(db, None, "Hamburg Networks GmbH", country="DE", product_line="networking")
    response = client_as(known.manager).post(
        f"/leads/{lead.id}/offer-by-rule", data={"segment_id": str(customers.id)}
    )
    assert response.status_code == 302
    db.refresh(lead)
    assert lead.status == "new"
    assert db.scalar(select(LeadOffer.id).where(LeadOffer.lead_id == lead.id)) is None
    refused = db.scalar(
        select(AuditEvent.after).where(
            AuditEvent.action == "lead.no_partner", AuditEvent.object_id == lead.id
        )
    )
    assert refused["segment_id"] == customers.id and refused["ranking"] == []


# Export.


def test_a_segments_organisations_export_as_csv(app, db, client_as, known):
    alpha = make_segment(db, {"managed_by": str(known.orgs["R1"].id)}, "Alpha's customers")
    make_segment(db, {"nps_category": ["passive"]}, "=Passives")
    browser = client_as(known.manager)
    page = browser.get(f"/segments/{alpha.id}").get_data(as_text=True)
    assert f'href="/export/segment.csv?segment={alpha.id}"' in page
    one = browser.get(f"/export/segment.csv?segment={alpha.id}")
    assert one.status_code == 200
    c1, c2, r1 = (known.orgs[k] for k in ("C1", "C2", "R1"))
    assert one.get_data(as_text=True) == (
        "\ufeffSegment,Organisation,Kind,Tier,Managed by,Organisation id\r\n"
        f"Alpha's customers,Echo Cust,Customer,,Alpha Resell,{c1.id}\r\n"
        f"Alpha's customers,Foxtrot Cust,Customer,,Alpha Resell,{c2.id}\r\n"
    )
    every = browser.get("/export/segment.csv").get_data(as_text=True).split("\r\n")
    d1, c3 = known.orgs["D1"], known.orgs["C3"]
    assert every[1:] == [
        f"'=Passives,Gamma Dist,Distributor,gold,,{d1.id}",
        f"'=Passives,Golf Cust,Customer,,Beta Resell,{c3.id}",
        f"Alpha's customers,Echo Cust,Customer,,{r1.name},{c1.id}",
        f"Alpha's customers,Foxtrot Cust,Customer,,{r1.name},{c2.id}",
        "",
    ]
    assert browser.get("/export/segment.csv?segment=987654321").status_code == 422
    partner = client_as(known.people["R1"][0])
    assert partner.get(f"/export/segment.csv?segment={alpha.id}").status_code in (403, 404)


# Migration 0019 on a database that holds campaigns.


@pytest.fixture
def scratch_url(tmp_path):
    """A database of its own (as tests/integration/test_migrations.py's)."""
    import os

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from portal.engine import make_engine

    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'segments-migration.sqlite3'}"
        return
    base = make_url(url)
    name = f"{base.database}_segments_migration"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_0019_keeps_campaigns_and_their_recipients_and_the_downgrade_is_clean(scratch_url):
    """On SQLite the column is added without rebuilding nps_campaigns, whose DROP would take its
    recipients with it (ON DELETE CASCADE); a deleted segment leaves its campaign's column NULL."""
    from sqlalchemy import inspect, text

    from portal import migrate
    from portal.engine import make_engine

    engine = make_engine(scratch_url)
    now = "CURRENT_TIMESTAMP"
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, "0018_case_products")
            org = conn.scalar(
                text(
                    "INSERT INTO organizations (name, kind, active, created_at, version) "
                    f"VALUES ('Vendor', 'vendor', true, {now}, 1) RETURNING id"
                )
            )
            user = conn.scalar(
                text(
                    "INSERT INTO users (email, name, role, active, timezone, created_at, version, "
                    f"org_id) VALUES ('a@v.test', 'A', 'vendor_admin', true, 'UTC', {now}, 1, "
                    ":org) RETURNING id"
                ),
                {"org": org},
            )
            campaign = conn.scalar(
                text(
                    "INSERT INTO nps_campaigns (name, product, audience_kinds, audience_tiers, "
                    "audience_org_ids, status, remind_after_days, created_at, org_id) VALUES "
                    f"('Spring', '', '[]', '[]', '[]', 'sent', 7, {now}, :org) RETURNING id"
                ),
                {"org": org},
            )
            conn.execute(
                text(
                    "INSERT INTO survey_recipients (campaign_id, user_id, email, org_kind, "
                    f"org_tier, sent_at, org_id) VALUES (:c, :u, 'a@v.test', 'vendor', '', {now}, "
                    ":org)"
                ),
                {"c": campaign, "u": user, "org": org},
            )
        with engine.begin() as conn:
            migrate.upgrade(conn, "0019_segments")
            assert conn.scalar(text("SELECT count(*) FROM survey_recipients")) == 1
            segment = conn.scalar(
                text(
                    "INSERT INTO segments (name, criteria, created_at, updated_at, org_id) "
                    f"VALUES ('Everyone', '{{}}', {now}, {now}, :org) RETURNING id"
                ),
                {"org": org},
            )
            conn.execute(text("UPDATE nps_campaigns SET audience_segment_id = :s"), {"s": segment})
            conn.execute(text("DELETE FROM segments"))
            assert conn.scalar(text("SELECT audience_segment_id FROM nps_campaigns")) is None
        with engine.begin() as conn:
            migrate.downgrade(conn, "0018_case_products")
            columns = {c["name"] for c in inspect(conn).get_columns("nps_campaigns")}
            assert "audience_segment_id" not in columns
            assert "segments" not in inspect(conn).get_table_names()
            assert conn.scalar(text("SELECT count(*) FROM survey_recipients")) == 1
        with engine.begin() as conn:
            migrate.upgrade(conn, "0019_segments")
            assert "segments" in inspect(conn).get_table_names()
    finally:
        engine.dispose()
