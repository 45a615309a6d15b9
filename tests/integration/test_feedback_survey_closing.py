"""Closing an NPS campaign, and cancelling a scheduled one, on the real database: a closed
campaign's links answer "closed" (GET and POST) and record nothing, the reminder tick skips it,
its results stay; transitions from any other status are refused with a clear message."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from feedback.surveys import services
from feedback.surveys.models import NpsCampaign, SurveyRecipient, SurveyResponse
from portal import jobs
from portal.audit import AuditEvent
from portal.clock import utcnow
from portal.tenancy import Principal
from tests.integration import test_feedback_surveys as surveys
from tests.integration.race_support import written_first
from tests.integration.test_feedback_surveys import (
    acting,
    answer_count,
    campaign_rows,
    link_of,
    sent_campaign,
)
from tests.unchanged import unchanged

people = surveys.people  # the fixture, shared with the other NPS tests

CONFIRMED = {"confirm": "y"}


def status_of(db, campaign_id: int) -> str:
    db.expire_all()
    return db.get(NpsCampaign, campaign_id).status


def events_of(db, campaign_id: int, action: str) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent).where(
                AuditEvent.object_type == "NpsCampaign",
                AuditEvent.object_id == campaign_id,
                AuditEvent.action == action,
            )
        )
    )


def draft(app, people, **fields) -> int:
    with acting(app, people["manager"]) as session:
        campaign = services.create_campaign(
            {"name": "Spring NPS", "audience_kinds": ["customer"], **fields},
            actor=Principal.for_user(people["manager"]),
        )
        session.commit()
        return campaign.id


def test_closing_a_sent_campaign_closes_its_links_and_keeps_its_results(
    app, client, client_as, db, people, mailbox
):
    campaign_id = sent_campaign(app, people)
    answered = link_of(mailbox, people["gold"])
    waiting = link_of(mailbox, people["silver"])
    assert client.post(answered, data={"score": "10", "comment": "Fast answers"}).status_code == 200
    client = client_as(people["manager"])
    page = client.get(f"/feedback/nps/{campaign_id}").get_data(as_text=True)
    assert 'data-testid="close-campaign"' in page
    # Not ticked: nothing happens, the box says why.
    with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyResponse]):
        unticked = client.post(f"/feedback/nps/{campaign_id}/close")
    assert unticked.status_code == 422
    assert "Tick the box to confirm that you close it." in unticked.get_data(as_text=True)
    assert status_of(db, campaign_id) == "sent"
    closed = client.post(f"/feedback/nps/{campaign_id}/close", data=CONFIRMED)
    assert closed.status_code == 302
    assert status_of(db, campaign_id) == "closed"
    (event,) = events_of(db, campaign_id, "nps_campaign.closed")
    assert (event.before, event.after) == ({"status": "sent"}, {"status": "closed"})
    assert event.actor_user_id == people["manager"].id
    # The links say so, on GET and on POST, and record nothing.
    anyone = app.test_client()
    for path in (waiting, answered):
        with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyResponse]):
            for response in (anyone.get(path), anyone.post(path, data={"score": "2"})):
                assert response.status_code == 410
                assert "This survey is closed" in response.get_data(as_text=True)
    assert answer_count(db, campaign_id) == 1
    # Results stay visible, and count the campaign.
    sales = client_as(people["sales"])
    page = sales.get(f"/feedback/nps/{campaign_id}").get_data(as_text=True)
    assert 'data-testid="campaign-closed"' in page and "Fast answers" in page
    assert 'data-testid="response-rate">25.0 %<' in page  # 1 of 4
    assert 'data-testid="close-campaign"' not in page  # sales reads, does not manage
    assert "Autumn NPS" in sales.get("/feedback/nps/").get_data(as_text=True)
    with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyResponse]):
        assert sales.post(f"/feedback/nps/{campaign_id}/close", data=CONFIRMED).status_code == 403


def test_no_reminder_goes_out_for_a_closed_campaign(app, client, client_as, db, people, mailbox):
    with time_machine.travel(utcnow(), tick=False) as clock:
        campaign_id = sent_campaign(app, people, remind_after_days=3)
        mailbox.clear()
        client = client_as(people["manager"])
        assert client.post(f"/feedback/nps/{campaign_id}/close", data=CONFIRMED).status_code == 302
        clock.shift(timedelta(days=30))
        with app.app_context():
            assert jobs.run_periodic(["remind_nps_recipients"]) == {"remind_nps_recipients": 0}
    assert not mailbox
    db.expire_all()
    campaign = db.get(NpsCampaign, campaign_id)
    assert (campaign.status, campaign.reminded_at) == ("closed", None)


def test_closing_anything_but_a_sent_campaign_is_refused(app, client_as, db, people, mailbox):
    drafted = draft(app, people)
    closed = sent_campaign(app, people)
    client = client_as(people["manager"])
    assert client.post(f"/feedback/nps/{closed}/close", data=CONFIRMED).status_code == 302
    send_at = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    scheduled = draft(app, people, name="Scheduled NPS")
    client.post(f"/feedback/nps/{scheduled}/schedule", data={"send_at": send_at})
    for campaign_id, status, message in (
        (drafted, "draft", "A draft was never sent: there is nothing to close."),
        (scheduled, "scheduled", "This campaign is not sent yet: cancel its schedule instead."),
        (closed, "closed", "This campaign is already closed."),
    ):
        with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyRecipient]):
            refused = client.post(f"/feedback/nps/{campaign_id}/close", data=CONFIRMED)
        assert refused.status_code == 409, status
        assert message in refused.get_data(as_text=True)
        assert status_of(db, campaign_id) == status
    assert len(events_of(db, closed, "nps_campaign.closed")) == 1


def test_a_scheduled_campaign_goes_back_to_draft(app, client_as, db, people, mailbox):
    campaign_id = draft(app, people)
    client = client_as(people["manager"])
    send_at = (utcnow() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    assert (
        client.post(f"/feedback/nps/{campaign_id}/schedule", data={"send_at": send_at})
    ).status_code == 302
    assert "Cancel the schedule" in client.get(f"/feedback/nps/{campaign_id}").get_data(
        as_text=True
    )
    assert client.post(f"/feedback/nps/{campaign_id}/unschedule").status_code == 302
    db.expire_all()
    campaign = db.get(NpsCampaign, campaign_id)
    assert (campaign.status, campaign.send_at) == ("draft", None)
    assert len(events_of(db, campaign_id, "nps_campaign.unscheduled")) == 1
    # The tick no longer sends it, even once its old time has passed.
    with time_machine.travel(utcnow() + timedelta(hours=3), tick=False), app.app_context():
        assert jobs.run_periodic(["send_due_nps_campaigns"]) == {"send_due_nps_campaigns": 0}
    assert not mailbox
    # A draft has no schedule to cancel; a sent campaign is closed instead.
    with unchanged(db, (NpsCampaign, campaign_id), counted=[SurveyRecipient]):
        refused = client.post(f"/feedback/nps/{campaign_id}/unschedule")
    assert refused.status_code == 409
    assert "This campaign is not scheduled." in refused.get_data(as_text=True)
    sent = sent_campaign(app, people, name="Sent NPS")
    with unchanged(db, *campaign_rows(db, sent), counted=[SurveyRecipient]):
        refused = client.post(f"/feedback/nps/{sent}/unschedule")
    assert refused.status_code == 409
    assert "close it instead" in refused.get_data(as_text=True)
    assert status_of(db, sent) == "sent"
    sales = client_as(people["sales"])
    with unchanged(db, *campaign_rows(db, sent), counted=[SurveyRecipient]):
        assert sales.post(f"/feedback/nps/{sent}/unschedule").status_code == 403


def test_a_campaign_closed_while_the_tick_runs_is_not_reminded(app, db, people, mailbox):
    """The tick read the campaign as sent; it is closed before the tick claims its reminder:
    the claim finds it closed and sends nothing."""
    with time_machine.travel(utcnow(), tick=False) as clock:
        campaign_id = sent_campaign(app, people, remind_after_days=3)
        mailbox.clear()
        clock.shift(timedelta(days=4))
        closing = f"UPDATE nps_campaigns SET status = 'closed' WHERE id = {campaign_id}"
        with (
            written_first(app, "UPDATE nps_campaigns SET reminded_at", closing) as closed_first,
            app.app_context(),
        ):
            ran = jobs.run_periodic(["remind_nps_recipients"])
    assert ran == {"remind_nps_recipients": 0}
    assert closed_first and not mailbox
