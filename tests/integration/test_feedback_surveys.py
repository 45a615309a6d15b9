"""NPS campaigns and their signed links on the real database: signing, expiry, single use,
tampering, GET never records, CSRF, sending and reminders by tick through the loopback SMTP
server, results."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from feedback import links
from feedback.surveys import answers, services
from feedback.surveys.models import NpsCampaign, SurveyRecipient, SurveyResponse
from portal import jobs
from portal.clock import utcnow
from portal.tenancy import Principal
from tests.unchanged import unchanged

LINK = re.compile(r"http://portal\.test(/feedback/survey/[A-Za-z0-9._-]+)")


@pytest.fixture
def people(db, vendor, org_factory, user_factory):
    gold = org_factory("reseller", tier="gold", name="Gold Partner Survey Ltd")
    silver = org_factory("reseller", tier="silver", name="Silver Partner Survey Ltd")
    customer = org_factory("customer", name="Customer Survey plc")
    return {
        "manager": user_factory(vendor, "channel_manager"),
        "sales": user_factory(vendor, "sales_rep"),
        "gold": user_factory(gold, "partner_admin"),
        "gold_user": user_factory(gold, "partner_user"),
        "silver": user_factory(silver, "partner_admin"),
        "customer": user_factory(customer, "customer_admin"),
        "orgs": {"gold": gold, "silver": silver, "customer": customer},
    }


@contextmanager
def acting(app, user=None):
    with app.test_request_context():
        from portal.db import db as portal_db
        from portal.db import set_principal, unscoped

        if user is None:
            with unscoped(portal_db.session) as session:
                yield session
        else:
            set_principal(portal_db.session, Principal.for_user(user))
            yield portal_db.session


def sent_campaign(app, people, **fields) -> int:
    with acting(app, people["manager"]) as session:
        actor = Principal.for_user(people["manager"])
        campaign = services.create_campaign(
            {"name": "Autumn NPS", "audience_kinds": ["customer", "partner"], **fields},
            actor=actor,
        )
        services.send_campaign(campaign, actor=actor)
        session.commit()
        return campaign.id


def link_of(mailbox, user) -> str:
    (message,) = mailbox.to(user.email)
    return LINK.search(message.get_content()).group(1)


def campaign_rows(db, campaign_id) -> list:
    """The campaign and its recipients: what an answer, or a refused one, could touch."""
    recipients = select(SurveyRecipient).where(SurveyRecipient.campaign_id == campaign_id)
    return [(NpsCampaign, campaign_id), *db.scalars(recipients)]


def answer_count(db, campaign_id=None) -> int:
    stmt = select(func.count()).select_from(SurveyResponse)
    if campaign_id:
        stmt = stmt.where(SurveyResponse.campaign_id == campaign_id)
    return db.scalar(stmt)


def test_sending_emails_each_recipient_a_link_that_opens_without_sign_in(
    app, client, db, people, mailbox
):
    campaign_id = sent_campaign(app, people)
    recipients = db.scalars(
        select(SurveyRecipient.email).where(SurveyRecipient.campaign_id == campaign_id)
    ).all()
    assert set(recipients) == {
        people[k].email for k in ("gold", "gold_user", "silver", "customer")
    }  # every active user of every customer and partner; vendor staff are not asked
    path = link_of(mailbox, people["customer"])
    page = client.get(path)
    assert page.status_code == 200
    assert "What is the main reason for your score?" in page.get_data(as_text=True)
    assert answer_count(db) == 0  # GET never records (email scanners open links)
    client.get(path)
    assert answer_count(db) == 0
    done = client.post(path, data={"score": "9", "comment": "Great support"})
    assert done.status_code == 200 and "Your answer is recorded" in done.get_data(as_text=True)
    response = db.scalar(select(SurveyResponse))
    assert (response.score, response.comment) == (9, "Great support")
    assert response.org_id == people["orgs"]["customer"].id


def test_a_link_answers_once(app, client, db, people, mailbox):
    campaign_id = sent_campaign(app, people)
    path = link_of(mailbox, people["silver"])
    assert client.post(path, data={"score": "3"}).status_code == 200
    with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyResponse]):
        again = client.post(path, data={"score": "10"})
    assert again.status_code == 200
    assert "already answered" in again.get_data(as_text=True)
    assert "already answered" in client.get(path).get_data(as_text=True)
    assert [r.score for r in db.scalars(select(SurveyResponse))] == [3]


def test_two_submits_that_both_read_unanswered_record_once(app, db, people, mailbox):
    """The database decides: even when both requests saw no answer yet (as two concurrent
    submits do), the unique answer per recipient lets one in."""
    campaign_id = sent_campaign(app, people)
    token = link_of(mailbox, people["gold"]).rsplit("/", 1)[1]
    with acting(app) as session:
        answers.record_answer(token, 8, "")
        session.commit()
    real_open = answers.open_link

    def stale(token):
        opened = real_open(token)
        opened.answered = False  # what the second request read before the first committed
        return opened

    with acting(app) as session, pytest.MonkeyPatch.context() as patch:
        patch.setattr(answers, "open_link", stale)
        with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyResponse]):
            with pytest.raises(links.AlreadyAnswered):
                answers.record_answer(token, 2, "")
            session.flush()
    assert answer_count(db) == 1
    recipient_id = db.scalar(select(SurveyResponse.recipient_id))
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(
            SurveyResponse(
                org_id=people["orgs"]["gold"].id,
                recipient_id=recipient_id,
                campaign_id=db.scalar(select(SurveyResponse.campaign_id)),
                score=1,
            )
        )
        db.flush()


def test_a_tampered_or_foreign_link_is_a_clear_400(app, client, db, people, mailbox):
    campaign_id = sent_campaign(app, people)
    path = link_of(mailbox, people["customer"])
    token = path.rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    rows = campaign_rows(db, campaign_id)
    for bad in (tampered, "not-a-token", token.upper()):
        with unchanged(db, *rows, counted=[SurveyResponse]):
            page = client.get(f"/feedback/survey/{bad}")
            assert page.status_code == 400
            assert "not valid" in page.get_data(as_text=True)
            assert client.post(f"/feedback/survey/{bad}", data={"score": "5"}).status_code == 400
    with app.test_request_context():
        recipient = db.scalar(
            select(SurveyRecipient).where(SurveyRecipient.email == people["customer"].email)
        )
        # A genuine signature over a recipient of another campaign: bound to both, refused.
        nonce = recipient.link_nonce
        other = links.make_token(answers.PURPOSE, campaign_id + 1000, recipient.id, nonce)
        # Signed for another purpose (the future CSAT link): not an NPS link.
        csat = links.make_token("csat", campaign_id, recipient.id, nonce)
        # Signed with another secret.
        app.config["SECRET_KEY"], secret = "another-secret", app.config["SECRET_KEY"]
        try:
            forged = links.make_token(answers.PURPOSE, campaign_id, recipient.id, nonce)
        finally:
            app.config["SECRET_KEY"] = secret
    for bad in (other, csat, forged):
        with unchanged(db, *rows, counted=[SurveyResponse]):
            assert client.get(f"/feedback/survey/{bad}").status_code == 400
            assert client.post(f"/feedback/survey/{bad}", data={"score": "5"}).status_code == 400
    assert answer_count(db) == 0


def signed_with_the_key(app, purpose: str, payload: dict) -> str:
    """A token made as someone holding the portal's SECRET_KEY (and nothing else) makes one."""
    key = app.config["SECRET_KEY"]
    return URLSafeTimedSerializer(key, salt=f"survey-link:{purpose}").dumps(payload)


def forged_with_the_key(app, purpose: str, survey_id: int, recipient_id: int, theirs: str):
    """Links signed with the real key for a real survey and recipient, each with a nonce other
    than the recipient row's: guessed, ``theirs`` (another row's genuine one), cut short,
    empty, not text, or missing (the link as it was before nonces)."""
    ids = {"s": survey_id, "r": recipient_id}
    return {
        what: signed_with_the_key(app, purpose, {**ids, **nonce})
        for what, nonce in {
            "guessed": {"n": links.new_nonce()},
            "another recipient's": {"n": theirs},
            "cut short": {"n": "A"},
            "empty": {"n": ""},
            "not text": {"n": 12345},
            "missing": {},
        }.items()
    }


def as_refused(page) -> tuple[int, bytes]:
    """A page's status and body, less what differs by request alone, not by link: the language
    switch's return address (the link asked for, as typed) and its CSRF token (signed with the
    second it was made in)."""
    body = re.sub(rb'name="next" value="[^"]*"', b'name="next" value=""', page.get_data())
    body = re.sub(rb'name="csrf_token" value="[^"]*"', b'name="csrf_token" value=""', body)
    return page.status_code, body


def test_the_key_alone_cannot_make_a_link_that_answers(app, client, db, people, mailbox):
    """A leaked SECRET_KEY is not enough: links signed with it for a real campaign and recipient
    but without that recipient's stored nonce get the page and status of a forged link (one
    signed with another key) and record nothing; the emailed link still opens, answers once and
    thanks."""
    campaign_id = sent_campaign(app, people)
    path = link_of(mailbox, people["customer"])
    rows = campaign_rows(db, campaign_id)
    by_email = {r.email: r for r in rows[1:]}
    recipient, other = by_email[people["customer"].email], by_email[people["gold"].email]
    assert len(recipient.link_nonce) >= 22 and recipient.link_nonce != other.link_nonce
    with app.test_request_context():
        emailed = links.read_token(answers.PURPOSE, path.rsplit("/", 1)[1])
        assert emailed == links.SurveyLink(campaign_id, recipient.id, recipient.link_nonce)
        app.config["SECRET_KEY"], secret = "another-secret", app.config["SECRET_KEY"]
        try:
            other_key = links.make_token(
                answers.PURPOSE, campaign_id, recipient.id, recipient.link_nonce
            )
        finally:
            app.config["SECRET_KEY"] = secret
    refused = client.get(f"/feedback/survey/{other_key}")
    assert refused.status_code == 400 and "not valid" in refused.get_data(as_text=True)
    forged = forged_with_the_key(
        app, answers.PURPOSE, campaign_id, recipient.id, theirs=other.link_nonce
    )
    for what, token in forged.items():
        with unchanged(db, *rows, counted=[SurveyResponse]):
            opened = client.get(f"/feedback/survey/{token}")
            answered = client.post(f"/feedback/survey/{token}", data={"score": "10"})
        for page in (opened, answered):
            assert as_refused(page) == as_refused(refused), what
    assert refused.status_code == 400
    assert answer_count(db) == 0
    # The genuine link: opens, answers, thanks; a second answer is refused.
    assert "What is the main reason" in client.get(path).get_data(as_text=True)
    done = client.post(path, data={"score": "8", "comment": "Fine"})
    assert done.status_code == 200 and "Your answer is recorded" in done.get_data(as_text=True)
    with unchanged(db, *rows, counted=[SurveyResponse]):
        again = client.post(path, data={"score": "0"})
    assert again.status_code == 200 and "already answered" in again.get_data(as_text=True)
    assert [(r.recipient_id, r.score) for r in db.scalars(select(SurveyResponse))] == [
        (recipient.id, 8)
    ]


def test_a_link_expires_after_14_days(app, client, db, people, mailbox):
    # Forward from now only: itsdangerous refuses a token stamped in the future.
    with time_machine.travel(utcnow(), tick=False) as clock:
        campaign_id = sent_campaign(app, people)
        path = link_of(mailbox, people["gold"])
        clock.shift(timedelta(days=13, hours=23))
        assert client.get(path).status_code == 200
        clock.shift(timedelta(hours=2))
        with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyResponse]):
            expired = client.get(path)
            assert expired.status_code == 410
            assert "expired" in expired.get_data(as_text=True)
            assert client.post(path, data={"score": "10"}).status_code == 410
    assert answer_count(db) == 0


def test_the_lifetime_is_configurable(app, client, db, people, mailbox):
    days, app.config["SURVEY_LINK_DAYS"] = app.config["SURVEY_LINK_DAYS"], 2
    try:
        with time_machine.travel(utcnow(), tick=False) as clock:
            campaign_id = sent_campaign(app, people)
            path = link_of(mailbox, people["gold"])
            assert "works for 2 days" in mailbox.to(people["gold"].email)[0].get_content()
            clock.shift(timedelta(days=2, minutes=1))
            with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyResponse]):
                assert client.get(path).status_code == 410
    finally:
        app.config["SURVEY_LINK_DAYS"] = days


def test_the_answer_is_csrf_protected(app, client, db, people, mailbox):
    campaign_id = sent_campaign(app, people)
    path = link_of(mailbox, people["gold"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyResponse]):
            assert client.post(path, data={"score": "7"}).status_code == 400
        assert answer_count(db) == 0
        page = client.get(path).get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post(path, data={"score": "7", "csrf_token": token}).status_code == 200
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert answer_count(db) == 1


def test_a_missing_or_wrong_score_is_a_clear_message(app, client, db, people, mailbox):
    campaign_id = sent_campaign(app, people)
    path = link_of(mailbox, people["gold"])
    with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyResponse]):
        for data in ({}, {"score": "11"}, {"score": "x"}):
            page = client.post(path, data=data)
            assert page.status_code == 422
        assert "Choose a score from 0 to 10." in client.post(path, data={}).get_data(as_text=True)
    assert answer_count(db) == 0


def test_audience_by_tier_and_by_list(app, db, people, mailbox):
    tiered = sent_campaign(app, people, audience_kinds=["partner"], audience_tiers=["gold"])
    emails = set(
        db.scalars(select(SurveyRecipient.email).where(SurveyRecipient.campaign_id == tiered))
    )
    assert emails == {people["gold"].email, people["gold_user"].email}
    listed = sent_campaign(
        app, people, audience_kinds=[], audience_org_ids=[people["orgs"]["silver"].id]
    )
    emails = set(
        db.scalars(select(SurveyRecipient.email).where(SurveyRecipient.campaign_id == listed))
    )
    assert emails == {people["silver"].email}


def test_bad_campaigns_are_refused_with_a_clear_message(client_as, db, people):
    client = client_as(people["manager"])
    with unchanged(db, counted=[NpsCampaign]):
        page = client.post(
            "/feedback/nps/new", data={"name": "No audience", "remind_after_days": "7"}
        )
    assert page.status_code == 422
    assert "Choose who is asked" in page.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(NpsCampaign)) == 0


def test_a_time_in_the_past_is_refused(client_as, db, people):
    client = client_as(people["manager"])
    created = client.post(
        "/feedback/nps/new",
        data={"name": "Past", "audience_kinds": ["customer"], "remind_after_days": "7"},
    )
    campaign_id = int(created.headers["Location"].rsplit("/", 1)[1])
    past = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    with unchanged(db, (NpsCampaign, campaign_id), counted=[SurveyRecipient]):
        page = client.post(f"/feedback/nps/{campaign_id}/schedule", data={"send_at": past})
    assert page.status_code == 422
    assert "Choose a time in the future." in page.get_data(as_text=True)
    db.expire_all()
    assert db.get(NpsCampaign, campaign_id).status == "draft"


def test_scheduled_campaign_is_sent_by_the_tick_once_and_reminded_once(
    app, client, client_as, db, people, mailbox
):
    with time_machine.travel(utcnow(), tick=False) as clock:
        client = client_as(people["manager"])
        created = client.post(
            "/feedback/nps/new",
            data={"name": "Scheduled", "audience_kinds": ["partner"], "remind_after_days": "7"},
        )
        assert created.status_code == 302
        campaign_id = int(created.headers["Location"].rsplit("/", 1)[1])
        send_at = (utcnow() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        assert (
            client.post(f"/feedback/nps/{campaign_id}/schedule", data={"send_at": send_at})
        ).status_code == 302
        with app.app_context():
            assert jobs.run_periodic(["send_due_nps_campaigns"]) == {"send_due_nps_campaigns": 0}
        assert not mailbox
        clock.shift(timedelta(hours=2, minutes=1))
        with app.app_context():
            assert jobs.run_periodic(["send_due_nps_campaigns"]) == {"send_due_nps_campaigns": 1}
            assert jobs.run_periodic(["send_due_nps_campaigns"]) == {"send_due_nps_campaigns": 0}
        assert sorted(m["To"] for m in mailbox) == sorted(
            [people["gold"].email, people["gold_user"].email, people["silver"].email]
        )
        answered = link_of(mailbox, people["gold"])
        assert client.post(answered, data={"score": "10"}).status_code == 200
        mailbox.clear()
        clock.shift(timedelta(days=6))
        with app.app_context():
            assert jobs.run_periodic(["remind_nps_recipients"]) == {"remind_nps_recipients": 0}
        clock.shift(timedelta(days=1, minutes=1))
        with app.app_context():
            assert jobs.run_periodic(["remind_nps_recipients"]) == {"remind_nps_recipients": 2}
            assert jobs.run_periodic(["remind_nps_recipients"]) == {"remind_nps_recipients": 0}
        assert sorted(m["To"] for m in mailbox) == sorted(
            [people["gold_user"].email, people["silver"].email]
        )
        assert all(m["Subject"].startswith("Reminder") for m in mailbox)
        # The reminder's link is fresh: it works after the first link's 14 days.
        reminder = link_of(mailbox, people["silver"])
        clock.shift(timedelta(days=8))
        assert client.get(reminder).status_code == 200
    campaign = db.get(NpsCampaign, campaign_id)
    db.refresh(campaign)
    assert campaign.status == "sent" and campaign.reminded_at is not None
    # Sending again by hand is refused.
    client = client_as(people["manager"])
    client.post(f"/feedback/nps/{campaign_id}/send")
    assert db.scalar(select(func.count()).select_from(SurveyRecipient)) == 3


def test_results_show_nps_rate_distribution_breakdown_and_reasons(
    app, client, client_as, db, people, mailbox
):
    campaign_id = sent_campaign(app, people)
    for who, score, reason in (
        ("gold", 10, "Fast answers"),
        ("silver", 9, ""),
        ("customer", 3, "Late deliveries"),
    ):
        client.post(link_of(mailbox, people[who]), data={"score": str(score), "comment": reason})
    client = client_as(people["sales"])  # feedback.view: reads, does not manage
    page = client.get(f"/feedback/nps/{campaign_id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="nps-score">33.3<' in body  # (2 - 1) / 3
    assert 'data-testid="response-rate">75.0 %<' in body  # 3 of 4
    assert "Fast answers" in body and "Late deliveries" in body
    assert "Partners, tier gold" in body and "Customer" in body
    assert "Send now" not in body
    trend = client.get("/feedback/nps/").get_data(as_text=True)
    assert "Autumn NPS" in trend and "33.3" in trend
    with unchanged(db, *campaign_rows(db, campaign_id), counted=[SurveyRecipient]):
        assert client.post(f"/feedback/nps/{campaign_id}/send").status_code == 403


def test_only_vendor_staff_see_campaigns(app, client_as, db, people):
    campaign_id = sent_campaign(app, people)
    client = client_as(people["customer"])
    with unchanged(db, (NpsCampaign, campaign_id)):
        assert client.get("/feedback/nps/").status_code == 403
        assert client.get(f"/feedback/nps/{campaign_id}").status_code == 403
        assert client.get("/feedback/analytics").status_code == 403
