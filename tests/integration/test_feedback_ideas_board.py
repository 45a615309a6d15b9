"""The ideas board at scale, on the real database: pages by key in each of its three sorts (every
idea once, in order, with the filters), a forged cursor is a 422, votes are taken back by their
voter only while the idea is open, the trending count ages with the tick (frozen clock) and is
recounted when duplicates merge."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from feedback.ideas.models import Idea, IdeaSubscription, IdeaVote
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.keyset import encode_cursor
from tests.integration import test_feedback_ideas as ideas_tests
from tests.integration.test_feedback_ideas import propose, tick_trending
from tests.unchanged import unchanged

board = ideas_tests.board  # the people of the board (a fixture, found by its name here)

STATUSES = ("under_review", "planned", "in_progress", "done", "declined", "duplicate")
PRODUCTS = ("networking", "security", "cloud")


def counts(db, idea_id) -> tuple[int, int]:
    db.expire_all()
    idea = db.get(Idea, idea_id)
    return idea.vote_count, idea.recent_vote_count


@pytest.fixture
def many_ideas(db, board):
    """70 ideas (about three pages) with many equal counts and equal times, so the unique id
    must break ties; a sixth of them duplicates."""
    now = utcnow()
    org_id = board["orgs"]["partner"].id
    ideas = [
        Idea(
            org_id=org_id,
            title=f"Paged idea {n:02d}",
            description="",
            product=PRODUCTS[n % 3],
            status=STATUSES[(n * 5) % 6],
            vote_count=n % 4,
            recent_vote_count=n % 3,
            created_at=now - timedelta(hours=n // 4),
        )
        for n in range(70)
    ]
    db.add_all(ideas)
    db.flush()
    return ideas


def walk(client, url: str) -> tuple[list[int], list[str]]:
    """Follow the board's "Next" links from ``url``: the ideas' ids in page order, and the URLs
    of the pages."""
    seen, urls = [], [url]
    while True:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'href="/ideas/(\d+)" class="fw-semibold"', body)]
        following = re.search(r'rel="next" href="([^"]+)"', body)
        if following is None:
            return seen, urls
        url = html.unescape(following.group(1))
        urls.append(url)
        assert len(urls) < 10


ORDERS = {
    "votes": lambda i: (i.vote_count, i.id),
    "trending": lambda i: (i.recent_vote_count, i.vote_count, i.id),
    "newest": lambda i: (i.created_at, i.id),
}


@pytest.mark.parametrize("sort", list(ORDERS))
def test_each_sort_pages_through_every_idea_once_in_order(client_as, db, board, many_ideas, sort):
    client = client_as(board["customer"])
    ideas = sorted(many_ideas, key=ORDERS[sort], reverse=True)
    for query, wanted in (
        ("", [i for i in ideas if i.status != "duplicate"]),
        ("&status=planned", [i for i in ideas if i.status == "planned"]),
        ("&status=duplicate", [i for i in ideas if i.status == "duplicate"]),
        ("&product=cloud", [i for i in ideas if i.product == "cloud" and i.status != "duplicate"]),
        ("&status=done&product=security",
         [i for i in ideas if i.product == "security" and i.status == "done"]),
    ):  # fmt: skip
        seen, urls = walk(client, f"/ideas/?sort={sort}{query}")
        assert seen == [i.id for i in wanted], query
        assert len(urls) == max(1, -(-len(wanted) // 25))
    # "Previous" from the second page shows the first page again, and keeps the sort.
    seen, urls = walk(client, f"/ideas/?sort={sort}")
    body = client.get(urls[1]).get_data(as_text=True)
    back = html.unescape(re.search(r'rel="prev" href="([^"]+)"', body).group(1))
    assert f"sort={sort}" in back
    first = client.get(back).get_data(as_text=True)
    assert re.findall(r'href="/ideas/(\d+)" class="fw-semibold"', first) == [
        str(i) for i in seen[:25]
    ]


def test_a_cursor_the_portal_did_not_give_is_a_422(client_as, db, board, many_ideas):
    client = client_as(board["customer"])
    for query in (
        "after=not-a-cursor",
        "before=WzEsMl0",
        f"sort=newest&after={encode_cursor('votes', [1, 5])}",  # another sort's cursor
        f"sort=votes&after={encode_cursor('votes', ['one', 5])}",  # a text for a number
        f"sort=trending&after={encode_cursor('trending', [1, 5])}",  # a key too short
        f"sort=newest&after={encode_cursor('newest', ['2026-01-01T00:00:00', 5])}",  # naive
    ):
        with unchanged(db, counted=[Idea, IdeaVote]):
            assert client.get(f"/ideas/?{query}").status_code == 422, query
    assert client.get(f"/ideas/?after={encode_cursor('votes', [1, 5])}").status_code == 200


def test_a_voter_takes_the_vote_back_and_still_follows(client_as, db, board):
    idea_id = propose(client_as, board["partner"])
    for who in ("customer", "other"):
        client_as(board[who]).post(f"/ideas/{idea_id}/vote")
    assert counts(db, idea_id) == (2, 2)
    client = client_as(board["customer"])
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "Remove my vote" in page and f"/ideas/{idea_id}/unvote" in page
    removed = client.post(f"/ideas/{idea_id}/unvote", follow_redirects=True)
    assert "Your vote is removed. You still follow the idea" in removed.get_data(as_text=True)
    assert counts(db, idea_id) == (1, 1)
    assert not db.scalar(
        select(IdeaVote.id).where(
            IdeaVote.idea_id == idea_id, IdeaVote.user_id == board["customer"].id
        )
    )
    assert db.scalar(
        select(IdeaSubscription.id).where(
            IdeaSubscription.idea_id == idea_id, IdeaSubscription.user_id == board["customer"].id
        )
    )
    (event,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "idea.unvoted")).all()
    assert event.org_id == board["orgs"]["customer"].id
    assert event.actor_user_id == board["customer"].id
    # Again: nothing to remove, nothing uncounted; the other person's vote stays.
    with unchanged(db, (Idea, idea_id), counted=[IdeaVote, IdeaSubscription]):
        again = client.post(f"/ideas/{idea_id}/unvote", follow_redirects=True)
    assert "You had not voted for this idea." in again.get_data(as_text=True)
    assert counts(db, idea_id) == (1, 1)
    # From the board, back to the board; and a partner may take its vote back too.
    partner = client_as(board["partner"])
    partner.post(f"/ideas/{idea_id}/vote")
    board_page = partner.get("/ideas/?sort=newest").get_data(as_text=True)
    assert f'action="/ideas/{idea_id}/unvote"' in board_page
    back = partner.post(f"/ideas/{idea_id}/unvote", data={"next": "/ideas/?sort=newest"})
    assert back.status_code == 302 and back.headers["Location"].endswith("/ideas/?sort=newest")
    assert counts(db, idea_id) == (1, 1)
    manager = client_as(board["manager"])
    with unchanged(db, (Idea, idea_id), counted=[IdeaVote, IdeaSubscription]):
        assert manager.post(f"/ideas/{idea_id}/unvote").status_code == 403
    assert counts(db, idea_id) == (1, 1)


def test_votes_stay_once_the_idea_is_closed(client_as, db, board):
    idea_id = propose(client_as, board["partner"])
    client = client_as(board["customer"])
    client.post(f"/ideas/{idea_id}/vote")
    manager = client_as(board["manager"])
    assert manager.post(f"/ideas/{idea_id}/status", data={"status": "done"}).status_code == 302
    with unchanged(db, (Idea, idea_id), counted=[IdeaVote, IdeaSubscription]):
        refused = client.post(f"/ideas/{idea_id}/unvote", follow_redirects=True)
    assert "Votes are closed for this idea: yours stays counted." in refused.get_data(as_text=True)
    assert counts(db, idea_id) == (1, 1)
    assert "Remove my vote" not in client.get(f"/ideas/{idea_id}").get_data(as_text=True)


def test_a_vote_leaves_trending_after_14_days_once_the_tick_ran(client_as, app, db, board):
    with time_machine.travel(utcnow(), tick=False) as clock:
        old = propose(client_as, board["partner"], "Voted for a while ago")
        for who in ("customer", "customer2"):
            client_as(board[who]).post(f"/ideas/{old}/vote")
        clock.shift(timedelta(days=1))
        new = propose(client_as, board["customer"], "Voted for lately")
        assert counts(db, old) == (2, 2)

        def trending():  # signed in afresh: sessions do not last two weeks
            body = client_as(board["other"]).get("/ideas/?sort=trending").get_data(as_text=True)
            return sorted(("Voted for a while ago", "Voted for lately"), key=body.index)

        clock.shift(timedelta(days=12, hours=23))  # 13 days 23 hours after the vote
        assert tick_trending(app) == 0 and counts(db, old) == (2, 2)
        clock.shift(timedelta(hours=1, seconds=1))  # 14 days and a second
        assert counts(db, old) == (2, 2)  # stored: it waits for the tick
        client_as(board["partner"]).post(f"/ideas/{new}/vote")
        assert trending() == ["Voted for a while ago", "Voted for lately"]  # 2 recent, 1
        assert tick_trending(app) == 1
        assert counts(db, old) == (2, 0) and counts(db, new) == (1, 1)
        assert trending() == ["Voted for lately", "Voted for a while ago"]
        assert tick_trending(app) == 0  # safe to run twice
        # Taking back an aged vote uncounts it from the votes only.
        client_as(board["customer"]).post(f"/ideas/{old}/unvote")
        assert counts(db, old) == (1, 0)


def test_a_merge_recounts_the_trending_votes(client_as, app, db, board):
    with time_machine.travel(utcnow(), tick=False) as clock:
        original = propose(client_as, board["partner"], "Dark mode for the console")
        duplicate = propose(client_as, board["other"], "A dark theme please")
        client_as(board["customer"]).post(f"/ideas/{original}/vote")
        client_as(board["customer"]).post(f"/ideas/{duplicate}/vote")  # both: counts once
        clock.shift(timedelta(days=20))
        tick_trending(app)
        client_as(board["customer2"]).post(f"/ideas/{duplicate}/vote")
        client_as(board["partner"]).post(f"/ideas/{duplicate}/vote")
        assert counts(db, original) == (1, 0) and counts(db, duplicate) == (3, 2)
        merged = client_as(board["manager"]).post(
            f"/ideas/{duplicate}/status", data={"status": "duplicate", "duplicate_of": original}
        )
        assert merged.status_code == 302
        assert counts(db, original) == (3, 2) and counts(db, duplicate) == (0, 0)
        assert tick_trending(app) == 0
