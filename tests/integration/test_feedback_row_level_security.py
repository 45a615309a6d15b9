"""PostgreSQL's wall around feedback, by raw SQL as the ordinary role: the board (ideas and
comments) is read by every signed-in scope but written only by its organisation; votes,
subscriptions and survey answers stay with their organisation; an anonymous scope reads none."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from feedback.ideas.models import Idea, IdeaComment, IdeaVote
from tests.integration.test_row_level_security import as_ordinary_role, pg  # noqa: F401


@pytest.fixture
def shared(db, org_factory, user_factory):
    author_org, reader_org = org_factory("reseller"), org_factory("customer")
    author, reader = user_factory(author_org), user_factory(reader_org)
    idea = Idea(org_id=author_org.id, title="Shared idea", product="cloud", author_id=author.id)
    db.add(idea)
    db.flush()
    db.add(IdeaVote(org_id=author_org.id, idea_id=idea.id, user_id=author.id))
    db.add(
        IdeaComment(
            org_id=author_org.id,
            idea_id=idea.id,
            author_id=author.id,
            author_kind="partner",
            body="Hello",
        )
    )
    db.flush()
    return {"author_org": author_org, "reader_org": reader_org, "idea": idea, "reader": reader}


def test_every_signed_in_scope_reads_the_board_but_not_others_votes(
    pg,  # noqa: F811
    as_ordinary_role,  # noqa: F811
    shared,
):
    as_ordinary_role("org", shared["reader_org"].id)
    assert pg.scalars(text("SELECT title FROM ideas")).all() == ["Shared idea"]
    assert pg.scalars(text("SELECT body FROM idea_comments")).all() == ["Hello"]
    assert pg.scalars(text("SELECT id FROM idea_votes")).all() == []
    as_ordinary_role("none")
    assert pg.scalars(text("SELECT id FROM ideas")).all() == []
    assert pg.scalars(text("SELECT id FROM idea_comments")).all() == []


def test_another_organisation_cannot_change_an_idea_or_vote_in_its_name(
    pg,  # noqa: F811
    as_ordinary_role,  # noqa: F811
    shared,
):
    idea_id = shared["idea"].id
    as_ordinary_role("org", shared["reader_org"].id)
    assert pg.execute(text("UPDATE ideas SET status = 'done'")).rowcount == 0
    assert pg.execute(text("DELETE FROM idea_comments")).rowcount == 0
    savepoint = pg.begin_nested()
    with pytest.raises(ProgrammingError, match="row-level security"):
        pg.execute(
            text(
                "INSERT INTO idea_votes (idea_id, user_id, org_id, created_at) "
                "VALUES (:idea, :user, :org, now())"
            ),
            {"idea": idea_id, "user": shared["reader"].id, "org": shared["author_org"].id},
        )
    savepoint.rollback()
    as_ordinary_role("all")
    assert pg.scalar(text("SELECT status FROM ideas WHERE id = :i"), {"i": idea_id}) == (
        "under_review"
    )
