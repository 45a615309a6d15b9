"""NPS and CSAT results through the API (``feedback:read``) on the Feedback dashboard's known data
set (tests/integration/test_feedback_dashboard.py): the same figures as the page, per month,
kind, tier and product line; for vendor staff whose role reads the dashboard only."""

from __future__ import annotations

from tests.integration import test_feedback_dashboard as dashboard
from tests.integration.oauth_support import assert_problem
from tests.integration.test_api_articles import assert_insufficient_scope, user_token
from tests.unchanged import unchanged

clock = dashboard.clock  # the fixtures: the clock on 15 June 2026, the dashboard's world
world = dashboard.world
PERIOD = dashboard.PERIOD


def get(client, headers, path: str, **query):
    answer = client.get(path, query_string=PERIOD | query, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def figures_of(groups: list[dict], *keys) -> dict:
    return {g["group"]: tuple(g[k] for k in keys) for g in groups}


def test_nps_as_on_the_dashboard(client, db, world):
    headers = user_token(db, world.manager, "feedback:read")
    keys = ("sent", "responses", "promoters", "passives", "detractors", "nps", "response_rate")
    by_month = get(client, headers, "/api/v1/feedback/nps")
    assert by_month["period"] == {"key": "custom", "start": "2026-01-01", "end": "2026-03-31"}
    assert figures_of(by_month["groups"], *keys) == {
        "2026-01": (5, 4, 2, 1, 1, 25.0, 0.8),
        "2026-02": (4, 3, 1, 0, 2, -33.3, 0.75),
        "2026-03": (0, 0, 0, 0, 0, None, None),  # every month of the period is listed
    }
    assert [g["label"] for g in by_month["groups"]] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    total = by_month["total"]
    assert (total["sent"], total["responses"], total["nps"], total["response_rate"]) == (
        9, 7, 0.0, 0.7778,
    )  # fmt: skip
    by_tier = get(client, headers, "/api/v1/feedback/nps", by="tier")
    tiers = figures_of(by_tier["groups"], "sent", "responses", "nps")
    assert {g: f for g, f in tiers.items() if f[0]} == {
        "gold": (2, 2, 0.0), "silver": (2, 1, 100.0), "": (1, 1, 0.0),
    }  # fmt: skip
    assert {f for f in tiers.values() if not f[0]} <= {(0, 0, None)}  # every tier is listed
    assert by_tier["total"]["sent"] == 9  # the period's, not only the partners'
    by_line = get(client, headers, "/api/v1/feedback/nps", by="product_line")
    assert figures_of(by_line["groups"], "sent", "nps")["networking"] == (5, 25.0)
    by_kind = get(client, headers, "/api/v1/feedback/nps", by="kind")
    assert figures_of(by_kind["groups"], "sent", "responses", "nps")["customer"] == (4, 3, -33.3)


def test_csat_by_product_line_and_period(client, db, world):
    headers = user_token(db, world.manager, "feedback:read")
    keys = ("sent", "responses", "average", "satisfied", "satisfied_share", "response_rate")
    by_line = get(client, headers, "/api/v1/feedback/csat", by="product_line")
    found = figures_of(by_line["groups"], *keys)
    assert found["networking"] == (2, 2, 4.5, 2, 1.0, 1.0)
    assert found["storage"] == (2, 2, 1.5, 0, 0.0, 1.0)
    assert found["security"] == (1, 1, 4.0, 1, 1.0, 1.0)
    assert found[""] == (1, 0, None, 0, None, 0.0)
    total = by_line["total"]
    assert (total["sent"], total["responses"], total["average"], total["satisfied_share"]) == (
        6, 5, 3.2, 0.6,
    )  # fmt: skip
    by_month = get(client, headers, "/api/v1/feedback/csat")
    assert figures_of(by_month["groups"], "sent", "average") == {
        "2026-01": (3, 3.3), "2026-02": (2, 4.0), "2026-03": (1, 2.0),
    }  # fmt: skip
    january = get(client, headers, "/api/v1/feedback/csat", start="2026-01-01", end="2026-01-31")
    assert january["total"]["sent"] == 3


def test_a_custom_period_it_cannot_use_is_422_naming_the_field(client, db, world):
    headers = user_token(db, world.manager, "feedback:read")
    for query, fields in (
        ({"period": "custom", "start": "2026-03-01"}, {"end"}),
        ({"period": "custom", "start": "2026-03-01", "end": "2026-01-01"}, {"start", "end"}),
        ({"period": "custom", "start": "2016-01-01", "end": "2026-01-01"}, {"start", "end"}),
        ({"period": "fortnight"}, {"period"}),
        ({"by": "colour"}, {"by"}),
        ({"start": "2026-02-30"}, {"start"}),
    ):
        for path in ("/api/v1/feedback/nps", "/api/v1/feedback/csat"):
            problem = assert_problem(client.get(path, query_string=query, headers=headers), 422)
            named = {loc for e in problem["errors"] for loc in e["loc"]}
            assert fields <= named, (query, problem)


def test_only_vendor_staff_who_read_the_dashboard_get_results(client, db, world):
    with unchanged(db):
        for user in (world.gold_user, world.c1_first):  # their roles have no feedback.view
            headers = user_token(db, user, "feedback:read")
            for path in ("/api/v1/feedback/nps", "/api/v1/feedback/csat"):
                problem = assert_problem(client.get(path, headers=headers), 403)
                assert "insufficient_scope" not in problem.get("detail", "")
        without_scope = user_token(db, world.manager, "ideas:read")
        for path in ("/api/v1/feedback/nps", "/api/v1/feedback/csat"):
            assert_insufficient_scope(client.get(path, headers=without_scope), "feedback:read")
