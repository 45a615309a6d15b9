"""Taking a vote back, across organisations: the matrix (test_matrix.py) walks the route
``/ideas/<id>/unvote`` like every other (403 for roles that do not vote); here every role that
votes asks to take back votes on the foreign organisations' ideas, which only their own people
cast. Nothing may move: no vote row, no count."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import tests.isolation.kinds_feedback  # noqa: F401 - seeds the foreign ideas and their votes
from feedback.ideas.models import Idea, IdeaVote
from portal import access
from tests.isolation.world import build_world

VOTERS = [name for name in access.ROLES if access.role_allows(name, "ideas.vote")]


@pytest.mark.parametrize("role_name", VOTERS)
def test_nobody_takes_back_another_organisations_vote(client_as, db, role_name):
    world = build_world(db)
    foreign = [org.id for org in world.foreign]
    ideas = list(db.scalars(select(Idea).where(Idea.org_id.in_(foreign))))
    votes = db.scalar(select(func.count()).select_from(IdeaVote))
    assert ideas and votes == len(ideas)
    client = client_as(world.users[role_name])
    for idea in ideas:
        answer = client.post(f"/ideas/{idea.id}/unvote", follow_redirects=True)
        assert "You had not voted for this idea." in answer.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(IdeaVote)) == votes
    assert [db.get(Idea, idea.id).vote_count for idea in ideas] == [1] * len(ideas)
