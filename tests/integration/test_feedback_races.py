"""Feedback's writes against a write that commits just before them (``written_first``: the
order of events PostgreSQL allows between the read and the write of a request): a schedule
cancelled as the tick sends, a campaign closed as an answer comes in, an idea closed as a vote
comes in. Each write re-checks in the database and refuses."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from feedback.ideas.models import Idea, IdeaSubscription, IdeaVote
from feedback.surveys import services
from feedback.surveys.models import NpsCampaign, SurveyRecipient, SurveyResponse
from portal import jobs
from portal.clock import utcnow
from portal.tenancy import Principal
from tests.integration import test_feedback_ideas, test_feedback_surveys
from tests.integration.race_support import written_first
from tests.integration.test_feedback_ideas import propose
from tests.integration.test_feedback_survey_closing import draft
from tests.integration.test_feedback_surveys import acting, answer_count, link_of, sent_campaign
from tests.unchanged import unchanged

people = test_feedback_surveys.people
board = test_feedback_ideas.board


def test_the_tick_does_not_send_a_campaign_whose_schedule_was_just_cancelled(
    app, db, people, mailbox
):
    campaign_id = draft(app, people)
    with acting(app, people["manager"]) as session:
        campaign = session.get(NpsCampaign, campaign_id)
        manager = Principal.for_user(people["manager"])
        services.schedule_campaign(campaign, utcnow() + timedelta(hours=1), actor=manager)
        session.commit()
    cancel = f"UPDATE nps_campaigns SET status = 'draft', send_at = NULL WHERE id = {campaign_id}"
    # The cancelling write shares the test's transaction, and the tick's rollback takes it
    # along: only what the tick itself would have written is looked at.
    with (
        unchanged(db, counted=[SurveyRecipient]),
        time_machine.travel(utcnow() + timedelta(hours=2), tick=False),
        written_first(app, "UPDATE nps_campaigns SET status", cancel) as first,
        app.app_context(),
    ):
        ran = jobs.run_periodic(["send_due_nps_campaigns"])
    assert first and ran == {"send_due_nps_campaigns": 0}
    assert db.scalar(select(func.count()).select_from(SurveyRecipient)) == 0
    assert not mailbox


def test_an_answer_is_refused_when_the_campaign_closed_after_its_link_was_opened(
    app, db, people, mailbox
):
    campaign_id = sent_campaign(app, people)
    link = link_of(mailbox, people["gold"])
    close = f"UPDATE nps_campaigns SET status = 'closed' WHERE id = {campaign_id}"
    recipients = db.scalars(
        select(SurveyRecipient).where(SurveyRecipient.campaign_id == campaign_id)
    )
    with (
        unchanged(db, *recipients, counted=[SurveyResponse]),
        written_first(app, "SELECT nps_campaigns.status", close) as first,
    ):
        response = app.test_client().post(link, data={"score": "3"})
    assert first
    assert response.status_code == 410
    assert "closed" in response.get_data(as_text=True)
    assert answer_count(db, campaign_id) == 0


def test_a_vote_is_refused_when_the_idea_closed_after_the_page_was_read(client_as, app, db, board):
    idea_id = propose(client_as, board["partner"], "Dark mode for the console")
    close = f"UPDATE ideas SET status = 'done' WHERE id = {idea_id}"
    customer = client_as(board["customer"])
    with (
        unchanged(db, counted=[IdeaVote, IdeaSubscription]),
        written_first(app, "UPDATE ideas SET vote_count", close) as first,
    ):
        response = customer.post(f"/ideas/{idea_id}/vote", data={})
    assert first and response.status_code == 302
    assert db.scalar(select(func.count()).select_from(IdeaVote)) == 0
    db.expire_all()
    assert db.get(Idea, idea_id).vote_count == 0
