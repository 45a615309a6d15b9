"""A reseller whose registration conflicts with another's sees that it is under conflict review, on
its page, in its list and in the API, and nothing of the other side: the conflict rows stay the
vendor's (the wall), the partner learns one yes or no about its own registrations."""

from __future__ import annotations

from sqlalchemy import select

from partners.deals import queries
from partners.deals.models import DealConflict
from tests.integration import test_deals as deals

channel = deals.channel  # the same world: two resellers, a supplier, the channel manager

# What only the other partner's registration holds: none of it may reach the reseller.
RIVAL = {
    "customer_name": "Rival Holdings Ltd",
    "customer_domain": "rival-holdings.com",
    "contact_name": "Pat Insider",
    "contact_email": "pat@rival-holdings.com",
    "value": "777777",
}
MINE = {
    "customer_name": "RH Group",
    "customer_domain": "https://www.rival-holdings.com/contact",  # the same domain: a conflict
    "contact_name": "Jo Buyer",
    "contact_email": "jo@rh-group.example",
    "value": "1000",
}


def rival_traces(app, db, rival_id) -> list[str]:
    rival = deals.load(db, rival_id)
    return [
        "Silver Reseller",
        rival.number,
        "Rival Holdings",
        "Pat Insider",
        "777777",
        "777,777",
        "Possible conflicts",
        "Same domain",
    ]


def assert_none_of(text: str, traces: list[str]) -> None:
    leaked = [trace for trace in traces if trace in text]
    assert leaked == [], f"the other partner's data is shown: {leaked}"


def test_the_reseller_sees_its_registration_under_conflict_review_and_nothing_else(
    app, client_as, channel, db
):
    rival = deals.register(app, channel, "silver_admin", **RIVAL)
    mine = deals.register(app, channel, **MINE)
    clear = deals.register(
        app, channel, customer_name="Harbourside Bakery", customer_domain="harbourside.com"
    )
    traces = rival_traces(app, db, rival)
    client = client_as(channel["gold_user"])

    page = client.get(f"/deals/{mine}").get_data(as_text=True)
    assert 'data-testid="conflict-review"' in page and "Under conflict review." in page
    assert 'data-testid="deal-conflict-review"' in page  # beside the status in the heading
    assert_none_of(page, traces)

    other = client.get(f"/deals/{clear}").get_data(as_text=True)
    assert "Under conflict review" not in other and "Conflict review" not in other
    assert "Under review." in other

    listing = client.get("/deals/").get_data(as_text=True)
    assert listing.count('data-testid="deal-conflict-review"') == 1
    mine_row = listing.split(deals.load(db, mine).number, 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="deal-conflict-review"' in mine_row
    assert_none_of(listing, traces)

    # The earlier registration waits for the same decision: its partner sees the same fact.
    rival_page = client_as(channel["silver_admin"]).get(f"/deals/{rival}").get_data(as_text=True)
    assert 'data-testid="conflict-review"' in rival_page
    assert "RH Group" not in rival_page and "Gold Reseller" not in rival_page


def test_the_flag_ends_with_the_settlement(app, client_as, channel, db):
    deals.register(app, channel, "silver_admin", **RIVAL)
    mine = deals.register(app, channel, **MINE)
    manager = client_as(channel["manager"])
    asked = manager.post(f"/deals/{mine}/request-info", data={"message": "Which site?"})
    assert asked.status_code == 302
    partner = client_as(channel["gold_admin"])
    waiting = partner.get(f"/deals/{mine}").get_data(as_text=True)
    assert "Under conflict review." in waiting and "The channel team asks: Which site?" in waiting

    assert partner.post(f"/deals/{mine}/submit", data={}).status_code == 302
    refused = manager.post(f"/deals/{mine}/approve", data={})
    assert refused.status_code == 422 and deals.load(db, mine).status == "submitted"
    assert "Settle the possible conflict" in refused.get_data(as_text=True)
    still = partner.get(f"/deals/{mine}").get_data(as_text=True)
    assert "Under conflict review." in still  # true until settled
    conflict = db.scalar(select(DealConflict.id))
    settled = manager.post(
        f"/deals/{mine}/settle",
        data={"conflict_id": conflict, "winner": "registration", "reason": "Signed NDA first."},
    )
    assert settled.status_code == 302
    assert "conflict review" not in partner.get(f"/deals/{mine}").get_data(as_text=True).lower()
    assert manager.post(f"/deals/{mine}/approve", data={}).status_code == 302
    decided = partner.get(f"/deals/{mine}").get_data(as_text=True)
    assert deals.load(db, mine).status == "approved"
    assert "conflict review" not in decided.lower() and 'data-testid="protection"' in decided


def test_the_conflicts_stay_behind_the_wall_only_a_yes_or_no_comes_out(app, channel, db):
    rival = deals.register(app, channel, "silver_admin", **RIVAL)
    mine = deals.register(app, channel, **MINE)
    clear = deals.register(
        app, channel, customer_name="Harbourside Bakery", customer_domain="harbourside.com"
    )
    assert db.scalar(select(DealConflict.other_registration_id)) == rival
    with deals.acting(app, channel["gold_admin"]) as session:
        assert session.scalars(select(DealConflict)).all() == []  # the vendor's rows: unseen
        own = session.scalars(select(deals.DealRegistration)).all()
        assert sorted(d.id for d in own) == sorted([mine, clear])
        assert queries.under_conflict_review(own) == {mine}  # never the rival's id
    with deals.acting(app, channel["manager"]) as session:
        every = session.scalars(select(deals.DealRegistration)).all()
        assert queries.under_conflict_review(every) == {mine, rival}


def test_the_api_says_under_conflict_review_and_nothing_of_the_other_side(app, channel, db):
    rival = deals.register(app, channel, "silver_admin", **RIVAL)
    traces = rival_traces(app, db, rival)
    api, headers = deals.api_as(app, db, channel["gold"], "partner_admin")
    body = {
        "customer_name": MINE["customer_name"],
        "customer_domain": MINE["customer_domain"],
        "products": ["Switches"],
        "value": "500",
        "currency": "EUR",
        "expected_close": deals.FUTURE,
    }
    created = api.post("/api/v1/deals", json=body, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.json["under_conflict_review"] is True
    clear = api.post(
        "/api/v1/deals",
        json={**body, "customer_name": "Harbourside Bakery", "customer_domain": "harbourside.com"},
        headers=headers,
    ).json
    assert clear["under_conflict_review"] is False

    one = api.get(f"/api/v1/deals/{created.json['id']}", headers=headers)
    assert one.json["under_conflict_review"] is True
    listed = api.get("/api/v1/deals", headers=headers)
    flags = {d["id"]: d["under_conflict_review"] for d in listed.json["items"]}
    assert flags == {created.json["id"]: True, clear["id"]: False}
    for response in (created, one, listed):
        assert_none_of(response.get_data(as_text=True), traces)

    document = api.get("/api/v1/openapi.json").json
    schema = next(s for name, s in document["components"]["schemas"].items() if "DealOut" in name)
    assert "conflict" in schema["properties"]["under_conflict_review"]["description"]
