"""Mail in its recipient's language, whoever causes it (issue 16, item 3): each action here is
done in German, by a German-speaking person signed in (or a German browser), and mails one
English-speaking and one German-speaking person, each in their own language, through the real
SMTP server on loopback. The in-app notification follows the same language."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from partners.quotes import documents
from portal.identity.models import User
from portal.notify.models import Notification
from selfservice.cases.models import CaseWatcher
from tests.integration.test_quotes import sent_quote, world  # noqa: F401 - the quote fixture

GERMAN = {"Accept-Language": "de-DE,de;q=0.9"}


def speaking(db, user: User, locale: str) -> User:
    db.get(User, user.id).locale = locale
    db.flush()
    return user


def title_of(db, user: User) -> list[str]:
    return list(db.scalars(select(Notification.title).where(Notification.user_id == user.id)))


@pytest.fixture
def partner(org_factory):
    return org_factory("reseller", name="Sprach Partner GmbH", tier="gold")


def test_a_deal_decision_is_mailed_in_each_partner_persons_language(
    client_as, db, vendor, partner, user_factory, deal_factory, mailbox
):
    manager = user_factory(vendor, "channel_manager", locale="de")
    german = user_factory(partner, "partner_admin", locale="de")
    english = user_factory(partner, "partner_admin", locale="en")
    deal = deal_factory(partner, "Kunde AG", registered_by_id=german.id)
    answer = client_as(manager).post(f"/deals/{deal.id}/approve", data={})
    assert answer.status_code == 302
    [to_german] = mailbox.to(german.email)
    [to_english] = mailbox.to(english.email)
    assert "ist genehmigt und geschützt bis" in to_german["Subject"]
    assert "is approved, protected until" in to_english["Subject"]
    # The date inside the title is written for its reader too.
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}", to_english["Subject"]), to_english["Subject"]
    assert re.search(r"\d{2}\.\d{2}\.\d{4}\.$", to_german["Subject"]), to_german["Subject"]
    # (a long subject is folded in the header: compared by its words)
    assert [" ".join(t.split()) for t in title_of(db, german)] == [to_german["Subject"].strip()]
    assert [" ".join(t.split()) for t in title_of(db, english)] == [to_english["Subject"].strip()]


def test_a_case_reply_is_mailed_in_each_customer_persons_language(
    client_as, db, vendor, org_factory, user_factory, case_factory, mailbox
):
    customer = org_factory("customer", name="Kundschaft AG")
    agent = user_factory(vendor, "support_agent", locale="de")
    english = user_factory(customer, "customer_user", locale="en")
    german = user_factory(customer, "customer_user", locale="de")
    case = case_factory(customer, english, subject="Drucker")
    db.add(CaseWatcher(org_id=customer.id, case_id=case.id, user_id=german.id))
    db.flush()
    answer = client_as(agent).post(f"/cases/{case.id}/reply", data={"body": "Welche Version?"})
    assert answer.status_code == 302
    [to_english] = mailbox.to(english.email)
    [to_german] = mailbox.to(german.email)
    assert to_english["Subject"] == f"Reply on {case.number}: Drucker"
    assert to_german["Subject"] == f"Antwort zu {case.number}: Drucker"


def test_a_quote_sent_is_mailed_in_each_recipients_language(
    client_as,
    db,
    world,  # noqa: F811 - the quote fixture
    mailbox,
):
    speaking(db, world["manager"], "de")  # sent from a German page
    speaking(db, world["gold_admin"], "de")
    speaking(db, world["gold_user"], "en")
    quote_id = sent_quote(client_as, world)
    [to_german] = mailbox.to(world["gold_admin"].email)
    [to_english] = mailbox.to(world["gold_user"].email)
    assert to_german["Subject"].startswith("Angebot ")
    assert to_english["Subject"].startswith("Quote ")
    assert "Gültig bis" in to_german.get_content()
    assert "Valid until" in to_english.get_content()
    assert f"/quotes/{quote_id}" in to_german.get_content()


def test_an_idea_status_change_is_mailed_in_each_followers_language(
    client_as, db, vendor, partner, user_factory, idea_factory, mailbox
):
    manager = user_factory(vendor, "channel_manager", locale="de")
    german = user_factory(partner, "partner_user", locale="de")
    english = user_factory(partner, "partner_user", locale="en")
    idea = idea_factory(german, title="Dunkelmodus")
    for person in (german, english):
        assert client_as(person).post(f"/ideas/{idea.id}/follow").status_code == 302
    answer = client_as(manager).post(f"/ideas/{idea.id}/status", data={"status": "planned"})
    assert answer.status_code == 302
    [to_german] = mailbox.to(german.email)
    [to_english] = mailbox.to(english.email)
    # The status inside the title is a lazy string too: it follows the reader's language.
    assert to_german["Subject"] == "Idee „Dunkelmodus“ hat jetzt den Status „Geplant“"
    assert to_english["Subject"] == "Idea “Dunkelmodus” is now Planned"
    assert title_of(db, english) == [to_english["Subject"]]


def test_a_survey_link_is_mailed_in_each_persons_language(
    client_as, db, vendor, org_factory, user_factory, campaign_factory, mailbox
):
    manager = user_factory(vendor, "channel_manager", locale="de")
    customer = org_factory("customer", name="Umfrage AG")
    german = user_factory(customer, "customer_user", locale="de")
    english = user_factory(customer, "customer_user", locale="en")
    campaign = campaign_factory(vendor)
    answer = client_as(manager).post(f"/feedback/nps/{campaign.id}/send", data={})
    assert answer.status_code == 302
    [to_german] = mailbox.to(german.email)
    [to_english] = mailbox.to(english.email)
    assert to_german["Subject"] == "Wie wahrscheinlich ist es, dass Sie uns empfehlen?"
    assert to_english["Subject"] == "How likely are you to recommend us?"
    assert "/feedback/survey/" in to_german.get_content()


def test_a_password_reset_is_mailed_in_the_accounts_language_not_the_browsers(
    client, partner, user_factory, mailbox
):
    german = user_factory(partner, "partner_user", locale="de")
    english = user_factory(partner, "partner_user", locale="en")
    for person in (german, english):  # asked from a German browser, signed out
        # Buffered: the reset job runs once the answer is sent (``jobs.after_answer``).
        answer = client.post(
            "/password/forgot", data={"email": person.email}, headers=GERMAN, buffered=True
        )
        assert answer.status_code == 302
    [to_german] = mailbox.to(german.email)
    [to_english] = mailbox.to(english.email)
    assert to_german["Subject"] == "Setzen Sie Ihr Passwort zurück"
    assert to_english["Subject"] == "Reset your password"
    assert "If it was not you, ignore this email." in to_english.get_content()


def test_an_invitation_is_written_in_the_inviters_language(
    app, client_as, partner, user_factory, mailbox
):
    """The invitee has no account, so no language of their own: the inviter's page's, which
    they presumably share with the person they invite."""
    for locale, invitee in (("de", "ina@example.test"), ("en", "ian@example.test")):
        admin = user_factory(partner, "partner_admin", locale=locale)
        answer = client_as(admin).post(
            f"/admin/organizations/{partner.id}/invite",
            data={"name": "Ina Invitee", "email": invitee, "role": "partner_user"},
        )
        assert answer.status_code == 302
    vendor_name = app.config["VENDOR_NAME"]
    [to_german] = mailbox.to("ina@example.test")
    [to_english] = mailbox.to("ian@example.test")
    assert to_german["Subject"] == f"Sie sind zu Sprach Partner GmbH auf {vendor_name} eingeladen"
    assert to_english["Subject"] == f"You are invited to Sprach Partner GmbH on {vendor_name}"


def test_a_draft_quote_pdf_says_draft_and_its_language_in_its_readers_language(
    app, db, vendor, org_factory, user_factory, quote_factory
):
    customer = org_factory("customer")
    user_factory(customer, "customer_admin", locale="de")
    quote = quote_factory(customer, status="draft", lines=1)
    with app.test_request_context(headers={"Accept-Language": "en-GB,en;q=0.8"}):
        html = documents.html_of(quote, draft=True)
    assert '<html lang="de">' in html
    assert "ENTWURF" in html and "DRAFT" not in html
    english = org_factory("customer")
    user_factory(english, "customer_admin", locale="en")
    quote = quote_factory(english, status="draft", lines=1)
    with app.test_request_context(headers=GERMAN):
        html = documents.html_of(quote, draft=True)
    assert '<html lang="en">' in html and "DRAFT" in html and "ENTWURF" not in html
