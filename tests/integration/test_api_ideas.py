"""The ideas board through the API (``ideas:read``, ``ideas:write``) with real tokens: the board
with its sorts and filters, an idea with its comments, proposing, voting, commenting and following
through the same services as the pages, idempotent retries; refusals are problems that change
nothing; who wrote an idea is for vendor staff only."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from feedback.ideas.models import Idea, IdeaComment, IdeaSubscription, IdeaVote
from portal.audit import AuditEvent
from tests import factories
from tests.integration.oauth_support import assert_problem, bearer, cc_token, make_api_client
from tests.integration.test_api_articles import assert_insufficient_scope, user_token
from tests.unchanged import unchanged

RW = "ideas:read ideas:write"


@pytest.fixture
def board(db, vendor, org_factory, user_factory):
    partner = org_factory("reseller", name="Board Partner")
    customer = org_factory("customer", name="Board Customer Zqx")
    w = {
        "partner": user_factory(partner, "partner_user"),
        "customer": user_factory(customer, "customer_user", name="Cora Zqx"),
        "agent": user_factory(vendor, "support_agent"),
        "partner_org": partner,
    }
    w["popular"] = factories.make_idea(
        db, w["customer"], "Dark mode for the portal", vote_count=5, product="networking"
    )
    w["quiet"] = factories.make_idea(db, w["partner"], "Bulk export of leads", product="security")
    w["done"] = factories.make_idea(
        db, w["customer"], "Shipped long ago", status="done", product="networking"
    )
    return w


def items(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def test_the_board_sorts_filters_and_pages_as_the_page_does(client, db, board):
    headers = user_token(db, board["partner"], "ideas:read")
    by_votes = [i["title"] for i in items(client.get("/api/v1/ideas", headers=headers))]
    assert by_votes.index("Dark mode for the portal") < by_votes.index("Bulk export of leads")
    security = items(client.get("/api/v1/ideas?product=security", headers=headers))
    assert [i["title"] for i in security] == ["Bulk export of leads"]
    done = items(client.get("/api/v1/ideas?status=done", headers=headers))
    assert [i["title"] for i in done] == ["Shipped long ago"]
    seen, cursor = [], None
    for _ in range(10):
        query = {"sort": "newest", "limit": 1} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/ideas", query_string=query, headers=headers)
        seen += [i["id"] for i in items(page)]
        cursor = page.get_json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3  # every status but duplicate, none twice
    # A cursor of another sort, or a made-up one, is 422 naming it.
    first = client.get("/api/v1/ideas?sort=newest&limit=1", headers=headers).get_json()
    problem = assert_problem(
        client.get(f"/api/v1/ideas?sort=votes&cursor={first['next_cursor']}", headers=headers),
        422,
    )
    assert problem["errors"][0]["loc"] == ["query", "cursor"]
    assert_problem(client.get("/api/v1/ideas?sort=loudest", headers=headers), 422)


def test_who_wrote_an_idea_is_for_vendor_staff_only(client, db, board):
    partner = user_token(db, board["partner"], "ideas:read")
    agent = user_token(db, board["agent"], "ideas:read")
    idea = board["popular"]
    seen_by_partner = client.get(f"/api/v1/ideas/{idea.id}", headers=partner)
    assert seen_by_partner.get_json()["author"] is None
    assert "Zqx" not in seen_by_partner.get_data(as_text=True)
    assert "Zqx" not in client.get("/api/v1/ideas", headers=partner).get_data(as_text=True)
    author = client.get(f"/api/v1/ideas/{idea.id}", headers=agent).get_json()["author"]
    assert author == {
        "user_id": board["customer"].id,
        "name": "Cora Zqx",
        "org_id": board["customer"].org_id,
        "organization": "Board Customer Zqx",
    }


def test_propose_vote_comment_and_follow(client, db, board):
    headers = user_token(db, board["partner"], RW)
    proposed = client.post(
        "/api/v1/ideas",
        json={"title": "  Single   sign-on for partners ", "product": "security"},
        headers=headers | {"Idempotency-Key": "propose-1"},
    )
    assert proposed.status_code == 201, proposed.get_data(as_text=True)
    idea = proposed.get_json()
    assert (idea["title"], idea["status"], idea["following"]) == (
        "Single sign-on for partners", "under_review", True,
    )  # fmt: skip
    stored = db.get(Idea, idea["id"])
    assert stored.org_id == board["partner"].org_id and stored.author_id == board["partner"].id
    # The same key and body again: the first answer, nothing new.
    again = client.post(
        "/api/v1/ideas",
        json={"title": "  Single   sign-on for partners ", "product": "security"},
        headers=headers | {"Idempotency-Key": "propose-1"},
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == idea["id"]
    assert db.scalar(select(func.count()).select_from(Idea).where(Idea.title.like("Single%"))) == 1

    target = board["popular"]
    voted = client.post(f"/api/v1/ideas/{target.id}/vote", json={}, headers=headers)
    assert voted.status_code == 200, voted.get_data(as_text=True)
    assert (voted.get_json()["voted"], voted.get_json()["vote_count"]) == (True, 6)
    twice = client.post(f"/api/v1/ideas/{target.id}/vote", json={}, headers=headers)
    assert twice.get_json()["vote_count"] == 6  # one vote per person
    assert db.scalar(select(func.count()).select_from(IdeaVote)) == 1
    assert twice.get_json()["following"] is True  # voting subscribes
    unvoted = client.post(f"/api/v1/ideas/{target.id}/unvote", json={}, headers=headers)
    assert (unvoted.get_json()["voted"], unvoted.get_json()["vote_count"]) == (False, 5)
    assert unvoted.get_json()["following"] is True

    comment = client.post(
        f"/api/v1/ideas/{target.id}/comments",
        json={"body": "We need this too."},
        headers=headers | {"Idempotency-Key": "comment-1"},
    )
    assert comment.status_code == 201, comment.get_data(as_text=True)
    assert (comment.get_json()["mine"], comment.get_json()["author_kind"]) == (True, "partner")
    client.post(
        f"/api/v1/ideas/{target.id}/comments",
        json={"body": "We need this too."},
        headers=headers | {"Idempotency-Key": "comment-1"},
    )
    assert db.scalar(select(func.count()).select_from(IdeaComment)) == 1

    unfollowed = client.post(f"/api/v1/ideas/{target.id}/unfollow", json={}, headers=headers)
    assert unfollowed.get_json()["following"] is False
    followed = client.post(f"/api/v1/ideas/{target.id}/follow", json={}, headers=headers)
    assert followed.get_json()["following"] is True
    detail = client.get(f"/api/v1/ideas/{target.id}", headers=headers).get_json()
    assert [c["body"] for c in detail["comments"]] == ["We need this too."]


def test_invalid_input_is_422_naming_the_field_and_writes_nothing(client, db, board):
    headers = user_token(db, board["partner"], RW)
    target = board["popular"]
    with unchanged(db, target, counted=[Idea, IdeaComment, IdeaSubscription]):
        for body, field in (
            ({"title": "Tiny", "product": "security"}, "title"),
            ({"title": "    x    y   ", "product": "security"}, "title"),
            ({"title": "A fine idea", "product": "toasters"}, "product"),
            ({"title": "A fine idea"}, "product"),
            ({"title": "A fine idea", "product": "security", "description": "x" * 5001},
             "description"),
        ):  # fmt: skip
            problem = assert_problem(client.post("/api/v1/ideas", json=body, headers=headers), 422)
            assert any(field in e["loc"] for e in problem["errors"]), (body, problem)
        for body in ({"body": ""}, {"body": "   "}, {"body": "x" * 5001}, {}):
            problem = assert_problem(
                client.post(f"/api/v1/ideas/{target.id}/comments", json=body, headers=headers),
                422,
            )
            assert any("body" in e["loc"] for e in problem["errors"]), problem


def test_refusals_change_nothing(client, db, board):
    partner = board["partner"]
    target, closed = board["popular"], board["done"]
    read_only = user_token(db, partner, "ideas:read")
    agent = user_token(db, board["agent"], RW)
    writer = user_token(db, partner, RW)
    # A client acting alone is no person: it cannot vote, propose, comment or follow.
    service = make_api_client(db, board["partner_org"], scopes=RW, service_role="partner_admin")
    alone = bearer(cc_token(client, service, RW)["access_token"])
    with unchanged(
        db, target, closed, counted=[Idea, IdeaVote, IdeaComment, IdeaSubscription, AuditEvent]
    ):
        for method, url, body in (
            ("POST", "/api/v1/ideas", {"title": "Read only idea", "product": "security"}),
            ("POST", f"/api/v1/ideas/{target.id}/vote", {}),
            ("POST", f"/api/v1/ideas/{target.id}/unvote", {}),
            ("POST", f"/api/v1/ideas/{target.id}/comments", {"body": "Hello"}),
            ("POST", f"/api/v1/ideas/{target.id}/follow", {}),
        ):
            answer = client.open(url, method=method, json=body, headers=read_only)
            assert_insufficient_scope(answer, "ideas:write")
            assert_problem(client.open(url, method=method, json=body, headers=alone), 403)
        assert_insufficient_scope(client.get("/api/v1/ideas", headers=user_token(
            db, partner, "cases:read")), "ideas:read")  # fmt: skip
        # Vendor staff run the board: they neither propose nor vote (403 whatever the id).
        assert_problem(
            client.post(
                "/api/v1/ideas", json={"title": "Vendor idea", "product": "security"},
                headers=agent,
            ),
            403,
        )  # fmt: skip
        assert_problem(client.post(f"/api/v1/ideas/{target.id}/vote", json={}, headers=agent), 403)
        # A closed idea takes no votes; a missing one is 404.
        assert_problem(client.post(f"/api/v1/ideas/{closed.id}/vote", json={}, headers=writer), 409)
        assert_problem(client.post("/api/v1/ideas/987654321/vote", json={}, headers=writer), 404)
        assert_problem(client.get("/api/v1/ideas/987654321", headers=writer), 404)


def statements(app, client, url: str, headers: dict) -> int:
    """How many SQL statements one API request runs."""
    engine = app.extensions["db"].engine
    seen = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url, headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_a_page_of_the_board_costs_the_same_statements_whatever_the_rows(app, client, db, board):
    partner = user_token(db, board["partner"], "ideas:read")
    agent = user_token(db, board["agent"], "ideas:read")
    url = "/api/v1/ideas?limit=25"
    few = {who: statements(app, client, url, h) for who, h in (("p", partner), ("a", agent))}
    for n in range(30):
        author = board["customer"] if n % 2 else board["partner"]
        factories.make_idea(db, author, f"Another idea number {n}", vote_count=n)
    many = {who: statements(app, client, url, h) for who, h in (("p", partner), ("a", agent))}
    assert many == few, (few, many)
